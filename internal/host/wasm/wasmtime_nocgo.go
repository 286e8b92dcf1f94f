//go:build !cgo

package wasm

import "errors"

// haveWasmtime says the wasmtime engine is built in (it needs cgo).
const haveWasmtime = false

// newWasmtime reports that this binary has no wasmtime: wasmtime-go links a C library.
func newWasmtime(Config, []hostFunc) (backend, error) {
	return nil, errors.New("wasm: wasmtime needs cgo, and this binary was built without it (CGO_ENABLED=0); use wazero")
}
