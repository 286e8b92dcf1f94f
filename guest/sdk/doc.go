// Package sdk is the Go side of the wasmoe guest ABI v1 (guest/ABI-v1.md, guest/abi/v1.go): the marker
// export, the buffer allocator the host writes through, the host's log, typed wrappers for the wasmoe_v1
// imports (model_info, vocab, buf_register, config and the host kernels) that turn negative statuses into
// Go errors, and a framework for policy guests (Policy, Action, Controller) whose ctl_* exports live in
// the sub-package guest/sdk/policy.
//
// Everything that touches the host (the exports, the imports, memory views) is built only for
// GOOS=wasip1; the rest (parsing the host's records, actions, the Controller) is plain Go, so a policy can
// be tested natively by driving a Controller the way the host would. A guest is a `package main` built
// with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared.
package sdk
