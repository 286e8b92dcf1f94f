// Package policy exports a policy guest's ctl_* functions (ABI v1: ctl_init, ctl_open, ctl_step,
// ctl_pick, ctl_close) and runs them on the sdk.Policy given to Register through an sdk.Controller. Only
// policy guests import it: a Go wasm module exports each name once, and tokenizer and sampler guests must
// not carry these exports. Call Register from an init function of package main (a reactor's main never
// runs):
//
//	func init() { policy.Register(&myPolicy{}) }
package policy
