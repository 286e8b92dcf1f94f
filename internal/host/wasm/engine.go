package wasm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Engine names a WebAssembly engine behind the runtime.
const (
	EngineWazero   = "wazero"   // pure Go, the default
	EngineWasmtime = "wasmtime" // wasmtime-go (Cranelift, cgo)
)

// valType is a wasm value type, numbered as in the binary format.
type valType byte

const (
	i32 valType = 0x7f
	i64 valType = 0x7e
	f32 valType = 0x7d
	f64 valType = 0x7c
)

func (t valType) String() string {
	switch t {
	case i32:
		return "i32"
	case i64:
		return "i64"
	case f32:
		return "f32"
	case f64:
		return "f64"
	}
	return fmt.Sprintf("type 0x%x", byte(t))
}

// signature is the parameter and result types of a function.
type signature struct{ params, results []valType }

// sig is the signature of a function with np i32 parameters and nr i32 results.
func sig(np, nr int) signature {
	return signature{slices.Repeat([]valType{i32}, np), slices.Repeat([]valType{i32}, nr)}
}

func (s signature) equal(o signature) bool {
	return slices.Equal(s.params, o.params) && slices.Equal(s.results, o.results)
}

// String formats s as (i32, i32) -> i32.
func (s signature) String() string {
	names := func(ts []valType) string {
		parts := make([]string, len(ts))
		for i, t := range ts {
			parts[i] = t.String()
		}
		return strings.Join(parts, ", ")
	}
	str := "(" + names(s.params) + ")"
	if len(s.results) > 0 {
		str += " -> " + names(s.results)
	}
	return str
}

// importDef is a function a module imports.
type importDef struct {
	module, name string
	sig          signature
}

// hostFunc is a function the host provides to guests, the same for every engine. fn reads its arguments
// from stack and writes its results there; it traps the guest by panicking with a *trap.
type hostFunc struct {
	module, name string
	sig          signature
	fn           func(inst *instance, stack []uint64)
}

// trap is a host function's reason to stop the guest; the call fails with it.
type trap struct{ msg string }

func (t *trap) Error() string { return t.msg }

// trapf stops the calling guest with a message.
func trapf(format string, args ...any) { panic(&trap{fmt.Sprintf(format, args...)}) }

// backend is one wasm engine: it compiles modules and instantiates them with the host functions.
type backend interface {
	compile(ctx context.Context, bin []byte) (compiledModule, error)
	close(ctx context.Context) error
}

// compiledModule is a module compiled by a backend, ready to instantiate.
type compiledModule interface {
	exports() map[string]signature // exported functions
	imports() []importDef          // imported functions
	exportsMemory() bool           // exports a memory named "memory"
	instantiate(ctx context.Context, inst *instance) (guestModule, error)
}

// guestModule is one instance inside a backend. It is used by one goroutine at a time.
type guestModule interface {
	// call invokes an export with its arguments in stack (as uint64 bit patterns) and leaves its first
	// result in stack[0]. With a non-zero deadline the backend stops the guest soon after it passes.
	call(ctx context.Context, name string, stack []uint64, deadline time.Time) error
	// memory is the guest's whole linear memory, valid until the guest next runs.
	memory() []byte
	close(ctx context.Context)
}
