package engine

import (
	"context"

	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// requestKernels returns the host kernels a request's policy may call, and the function that frees
// what the guest left open.
func (e *Engine) requestKernels(ctx context.Context, l wasm.Limits) (wasm.Kernels, func()) {
	k := newKernelHost(e, ctx, l)
	return k, k.release
}
