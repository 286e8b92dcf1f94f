package wasm

import (
	"slices"
	"time"
	"unsafe"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// Kernels is what a request lets its policy run on the host (guest/ABI.md, "Host kernels"): weights and
// models by handle, matmul, expert dispatch with the guest's routing, and model forward passes on
// sequences the guest owns. Handles are small non-negative integers, valid for the request. Methods return
// abi status codes; they are called with the guest stopped, on its goroutine.
//
// Their time is the guest's: it counts against the calling step's deadline and the request's CPU budget
// (Config.StepTimeout, Config.CPUBudget). The methods that compute (MatMul, MoE, Route, SeqForward,
// SeqForwardAll) get that deadline (zero: none) and must return ErrLimit soon after it passes, computing
// in pieces small enough to check it between them. The host then stops the guest with a deadline error: no kernel call
// starts, and the guest runs no more code, once the deadline has passed.
type Kernels interface {
	// Tensor returns a handle to a weight of the request's model by its GGUF name.
	Tensor(name string) int32
	// TensorInfo describes a weight: its kernels.DType and its shape as rows × cols.
	TensorInfo(h int32) (dtype, rows, cols int32, status int32)
	// MatMul computes y[n][rows] = x[n][cols] · Wᵀ.
	MatMul(h int32, x []float32, n int, y []float32, deadline time.Time) int32
	// MoEShape gives a MoE layer's model width, expert count and experts per token.
	MoEShape(layer int32) (dim, experts, k int32, status int32)
	// MoE runs the layer's experts on n tokens x with the given routing (ids and weights, k per token)
	// and writes the weighted sum to y (shared experts included).
	MoE(layer int32, x []float32, n int, ids []int32, weights []float32, k int, y []float32, deadline time.Time) int32
	// Route writes the model's own routing of n tokens (k per token).
	Route(layer int32, x []float32, n int, ids []int32, weights []float32, deadline time.Time) int32
	// Model returns a handle to a model by name ("" = the request's model).
	Model(name string) int32
	// SeqNew opens an empty sequence (its own KV cache) on a model.
	SeqNew(model int32) int32
	// SeqForward appends ids to a sequence and returns the logits of its last token (valid until the
	// next call), or nil and a status; on a status the sequence is as it was.
	SeqForward(seq int32, ids []int32, deadline time.Time) ([]float32, int32)
	// SeqForwardAll appends ids to a sequence and writes the logits after every one of them into out
	// ([len(ids)][vocab]). It returns len(ids)·vocab, having run nothing when out is shorter, or a
	// status; on a status the sequence is as it was.
	SeqForwardAll(seq int32, ids []int32, out []float32, deadline time.Time) int32
	// SeqTrim drops a sequence's tokens past keep.
	SeqTrim(seq int32, keep int) int32
	// SeqLen is the number of tokens in a sequence, or a status.
	SeqLen(seq int32) int32
	// SeqFree releases a sequence.
	SeqFree(seq int32) int32
}

// kernelFuncs are the wasmoe_v1 imports that call the request's Kernels. A policy whose request has no
// Kernels gets ErrNotReady; bad pointers or sizes get ErrBadInput. A call made past the guest call's
// deadline, or that returns past it, stops the guest (instance.stopPastDeadline).
func kernelFuncs() []hostFunc {
	k := func(name string, s signature, f func(k Kernels, mem []byte, a []uint64, deadline time.Time) int32) hostFunc {
		return hostFunc{hostModuleV1, name, s, func(inst *instance, stack []uint64) {
			inst.stopPastDeadline()
			if inst.ctl == nil || inst.ctl.kernels == nil {
				stack[0] = uint64(uint32(notReady))
				return
			}
			for i := range stack { // i32 arguments, as ctlFunc takes them
				stack[i] = uint64(uint32(stack[i]))
			}
			stack[0] = uint64(uint32(f(inst.ctl.kernels, inst.mod.memory(), stack, inst.deadline)))
			inst.stopPastDeadline()
		}}
	}
	return []hostFunc{
		k(abi.ImportTensor, sig(2, 1), func(k Kernels, mem []byte, a []uint64, _ time.Time) int32 {
			name, ok := bytesAt(mem, a[0], a[1])
			if !ok {
				return abi.ErrBadInput
			}
			return k.Tensor(string(name))
		}),
		k(abi.ImportTensorInfo, sig(2, 1), func(k Kernels, mem []byte, a []uint64, _ time.Time) int32 {
			dt, rows, cols, st := k.TensorInfo(int32(a[0]))
			if st < 0 {
				return st
			}
			out, ok := int32sAt(mem, a[1], 3)
			if !ok {
				return abi.ErrBadInput
			}
			out[0], out[1], out[2] = dt, rows, cols
			return abi.OK
		}),
		k(abi.ImportMatMul, sig(4, 1), func(k Kernels, mem []byte, a []uint64, deadline time.Time) int32 {
			_, rows, cols, st := k.TensorInfo(int32(a[0]))
			if st < 0 {
				return st
			}
			n := int(uint32(a[2]))
			x, ok1 := floatsAt(mem, a[1], n*int(cols))
			y, ok2 := floatsAt(mem, a[3], n*int(rows))
			if !ok1 || !ok2 || n == 0 {
				return abi.ErrBadInput
			}
			return k.MatMul(int32(a[0]), x, n, y, deadline)
		}),
		k(abi.ImportMoE, sig(7, 1), func(k Kernels, mem []byte, a []uint64, deadline time.Time) int32 {
			dim, experts, _, st := k.MoEShape(int32(a[0]))
			if st < 0 {
				return st
			}
			n, kk := int(uint32(a[2])), int(uint32(a[5]))
			if n == 0 || kk == 0 || kk > int(experts) {
				return abi.ErrBadInput
			}
			x, ok1 := floatsAt(mem, a[1], n*int(dim))
			ids, ok2 := int32sAt(mem, a[3], n*kk)
			w, ok3 := floatsAt(mem, a[4], n*kk)
			y, ok4 := floatsAt(mem, a[6], n*int(dim))
			if !ok1 || !ok2 || !ok3 || !ok4 {
				return abi.ErrBadInput
			}
			for _, id := range ids {
				if id < 0 || id >= experts {
					return abi.ErrBadInput
				}
			}
			return k.MoE(int32(a[0]), x, n, ids, w, kk, y, deadline)
		}),
		k(abi.ImportRoute, sig(5, 1), func(k Kernels, mem []byte, a []uint64, deadline time.Time) int32 {
			dim, _, kk, st := k.MoEShape(int32(a[0]))
			if st < 0 {
				return st
			}
			n := int(uint32(a[2]))
			x, ok1 := floatsAt(mem, a[1], n*int(dim))
			ids, ok2 := int32sAt(mem, a[3], n*int(kk))
			w, ok3 := floatsAt(mem, a[4], n*int(kk))
			if !ok1 || !ok2 || !ok3 || n == 0 {
				return abi.ErrBadInput
			}
			if st := k.Route(int32(a[0]), x, n, ids, w, deadline); st < 0 {
				return st
			}
			return kk
		}),
		k(abi.ImportModel, sig(2, 1), func(k Kernels, mem []byte, a []uint64, _ time.Time) int32 {
			name, ok := bytesAt(mem, a[0], a[1])
			if !ok {
				return abi.ErrBadInput
			}
			return k.Model(string(name))
		}),
		k(abi.ImportSeqNew, sig(1, 1), func(k Kernels, _ []byte, a []uint64, _ time.Time) int32 { return k.SeqNew(int32(a[0])) }),
		k(abi.ImportSeqForward, sig(5, 1), func(k Kernels, mem []byte, a []uint64, deadline time.Time) int32 {
			ids, ok := int32sAt(mem, a[1], int(uint32(a[2])))
			if !ok || len(ids) == 0 {
				return abi.ErrBadInput
			}
			logits, st := k.SeqForward(int32(a[0]), ids, deadline)
			if st < 0 {
				return st
			}
			if len(logits) <= int(uint32(a[4])) {
				out, ok := floatsAt(mem, a[3], len(logits))
				if !ok {
					return abi.ErrBadInput
				}
				copy(out, logits)
			}
			return int32(len(logits))
		}),
		k(abi.ImportSeqForwardAll, sig(5, 1), func(k Kernels, mem []byte, a []uint64, deadline time.Time) int32 {
			ids, ok1 := int32sAt(mem, a[1], int(uint32(a[2])))
			out, ok2 := floatsAt(mem, a[3], int(uint32(a[4]))) // cap past the guest's memory is refused here
			if !ok1 || !ok2 || len(ids) == 0 {
				return abi.ErrBadInput
			}
			// The logits are written piece by piece: a copy of ids keeps them whole when the two overlap.
			return k.SeqForwardAll(int32(a[0]), slices.Clone(ids), out, deadline)
		}),
		k(abi.ImportSeqTrim, sig(2, 1), func(k Kernels, _ []byte, a []uint64, _ time.Time) int32 {
			return k.SeqTrim(int32(a[0]), int(uint32(a[1])))
		}),
		k(abi.ImportSeqLen, sig(1, 1), func(k Kernels, _ []byte, a []uint64, _ time.Time) int32 { return k.SeqLen(int32(a[0])) }),
		k(abi.ImportSeqFree, sig(1, 1), func(k Kernels, _ []byte, a []uint64, _ time.Time) int32 { return k.SeqFree(int32(a[0])) }),
	}
}

// bytesAt views guest memory [ptr, ptr+n).
func bytesAt(mem []byte, ptr, n uint64) ([]byte, bool) {
	if ptr > 1<<32-1 || n > 1<<32-1 || ptr+n > uint64(len(mem)) {
		return nil, false
	}
	p, l := uint32(ptr), uint32(n)
	return mem[p : p+l : p+l], true
}

// floatsAt views n float32s of guest memory at a 4-byte aligned ptr.
func floatsAt(mem []byte, ptr uint64, n int) ([]float32, bool) {
	if n < 0 || n > 1<<28 || ptr%4 != 0 {
		return nil, false
	}
	b, ok := bytesAt(mem, ptr, uint64(4*n))
	if !ok || n == 0 {
		return nil, ok
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n), true
}

// int32sAt views n int32s of guest memory at a 4-byte aligned ptr.
func int32sAt(mem []byte, ptr uint64, n int) ([]int32, bool) {
	if n < 0 || n > 1<<28 || ptr%4 != 0 {
		return nil, false
	}
	b, ok := bytesAt(mem, ptr, uint64(4*n))
	if !ok || n == 0 {
		return nil, ok
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), n), true
}
