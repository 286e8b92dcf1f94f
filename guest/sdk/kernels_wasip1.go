//go:build wasip1

package sdk

import (
	"fmt"
	"unsafe"

	"github.com/wasmoe/wasmoe/guest/abi"
)

//go:wasmimport wasmoe_v1 tensor
func hostTensor(name, n uint32) int32

//go:wasmimport wasmoe_v1 tensor_info
func hostTensorInfo(h int32, ptr uint32) int32

//go:wasmimport wasmoe_v1 matmul
func hostMatMul(w int32, x, n, y uint32) int32

//go:wasmimport wasmoe_v1 moe
func hostMoE(layer int32, x, n, ids, weights, k, y uint32) int32

//go:wasmimport wasmoe_v1 moe_route
func hostRoute(layer int32, x, n, ids, weights uint32) int32

//go:wasmimport wasmoe_v1 model
func hostModel(name, n uint32) int32

//go:wasmimport wasmoe_v1 seq_new
func hostSeqNew(model int32) int32

//go:wasmimport wasmoe_v1 seq_forward
func hostSeqForward(seq int32, ids, n, logits, capacity uint32) int32

//go:wasmimport wasmoe_v1 seq_forward_all
func hostSeqForwardAll(seq int32, ids, n, logits, capacity uint32) int32

//go:wasmimport wasmoe_v1 seq_trim
func hostSeqTrim(seq int32, keep uint32) int32

//go:wasmimport wasmoe_v1 seq_len
func hostSeqLen(seq int32) int32

//go:wasmimport wasmoe_v1 seq_free
func hostSeqFree(seq int32) int32

// strPtr is the address of s's bytes (0 for "").
func strPtr(s string) uint32 {
	if s == "" {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s))))
}

// Tensor opens a weight of the request's model by its GGUF name (host kernels: only while a request that
// grants them is open).
func Tensor(name string) (TensorHandle, error) {
	h := hostTensor(strPtr(name), uint32(len(name)))
	if err := callErr(abi.ImportTensor, h); err != nil {
		return 0, fmt.Errorf("%w (tensor %q)", err, name)
	}
	return TensorHandle(h), nil
}

// TensorInfo describes a weight: its dtype and its shape rows × cols.
func TensorInfo(t TensorHandle) (TensorShape, error) {
	var out [3]uint32
	if err := callErr(abi.ImportTensorInfo, hostTensorInfo(int32(t), Ptr(out[:]))); err != nil {
		return TensorShape{}, err
	}
	return TensorShape{DType: out[0], Rows: int(out[1]), Cols: int(out[2])}, nil
}

// MatMul computes y[n][rows] = x[n][cols] · Wᵀ on the host, with w's shape from TensorInfo.
func MatMul(w TensorHandle, x []float32, n int, y []float32) error {
	s, err := TensorInfo(w)
	if err != nil {
		return err
	}
	if err := checkMatMul(s, len(x), n, len(y)); err != nil {
		return err
	}
	return callErr(abi.ImportMatMul, hostMatMul(int32(w), Ptr(x), uint32(n), Ptr(y)))
}

// MoE runs a MoE layer's experts on n tokens x (n × dim) with the guest's routing (ids and weights, k per
// token, n × k each) and writes the weighted sum of the experts' outputs (shared experts included) to y
// (n × dim).
func MoE(layer int, x []float32, n int, ids []int32, weights []float32, k int, y []float32) error {
	if err := checkMoE(len(x), n, len(ids), len(weights), k, len(y)); err != nil {
		return err
	}
	return callErr(abi.ImportMoE, hostMoE(int32(layer), Ptr(x), uint32(n), Ptr(ids), Ptr(weights), uint32(k), Ptr(y)))
}

// Route writes the model's own routing of n tokens x (n × dim) into ids and weights and returns k, the
// experts per token. The ABI gives no way to learn k first: ids and weights must hold n × k entries for
// the model's k (its experts per token), else the host writes past them. Route checks what it can.
func Route(layer int, x []float32, n int, ids []int32, weights []float32) (int, error) {
	if n <= 0 || len(x) < n || len(x)%n != 0 || len(ids) < n || len(weights) < len(ids) {
		return 0, fmt.Errorf("sdk: %s: %d floats, %d ids, %d weights for %d tokens: %w",
			abi.ImportRoute, len(x), len(ids), len(weights), n, ErrBadInput)
	}
	k := hostRoute(int32(layer), Ptr(x), uint32(n), Ptr(ids), Ptr(weights))
	if err := callErr(abi.ImportRoute, k); err != nil {
		return 0, err
	}
	if int(k)*n > len(ids) {
		panic(fmt.Sprintf("sdk: %s wrote %d × %d ids into %d", abi.ImportRoute, n, k, len(ids)))
	}
	return int(k), nil
}

// Model opens a model by name ("" = the request's model) for SeqNew.
func Model(name string) (ModelHandle, error) {
	h := hostModel(strPtr(name), uint32(len(name)))
	if err := callErr(abi.ImportModel, h); err != nil {
		return 0, fmt.Errorf("%w (model %q)", err, name)
	}
	return ModelHandle(h), nil
}

// SeqNew opens an empty sequence (its own KV cache) on a model.
func SeqNew(m ModelHandle) (SeqHandle, error) {
	h := hostSeqNew(int32(m))
	return SeqHandle(h), callErr(abi.ImportSeqNew, h)
}

// SeqForward appends ids (at least one) to a sequence, runs the model and writes the logits of the last
// token into logits; it returns the model's logit count. When that is more than len(logits), nothing is
// written and the error says so (the tokens were appended all the same).
func SeqForward(s SeqHandle, ids []int32, logits []float32) (int, error) {
	if len(ids) == 0 {
		return 0, fmt.Errorf("sdk: %s: no tokens: %w", abi.ImportSeqForward, ErrBadInput)
	}
	n := hostSeqForward(int32(s), Ptr(ids), uint32(len(ids)), ptrOrZero(logits), uint32(len(logits)))
	if err := callErr(abi.ImportSeqForward, n); err != nil {
		return 0, err
	}
	if int(n) > len(logits) {
		return int(n), fmt.Errorf("sdk: %s: %d logits do not fit in %d", abi.ImportSeqForward, n, len(logits))
	}
	return int(n), nil
}

// SeqForwardAll appends ids (at least one) to a sequence in one batched forward and writes the logits
// after every one of them into logits, row i after ids[i]; it returns the model's logit count per row.
// When len(logits) is short of len(ids) rows, nothing runs, the sequence is unchanged and the error
// (wrapping ErrBadInput) says how many floats the rows need. The import is seq_forward_all; a guest that
// never calls SeqForwardAll does not import it.
func SeqForwardAll(s SeqHandle, ids []int32, logits []float32) (int, error) {
	if len(ids) == 0 {
		return 0, fmt.Errorf("sdk: %s: no tokens: %w", abi.ImportSeqForwardAll, ErrBadInput)
	}
	n := hostSeqForwardAll(int32(s), Ptr(ids), uint32(len(ids)), ptrOrZero(logits), uint32(len(logits)))
	if err := callErr(abi.ImportSeqForwardAll, n); err != nil {
		return 0, err
	}
	if int(n) > len(logits) {
		return int(n) / len(ids), fmt.Errorf("sdk: %s: %d rows of logits need %d floats, got %d: %w",
			abi.ImportSeqForwardAll, len(ids), n, len(logits), ErrBadInput)
	}
	return int(n) / len(ids), nil
}

// SeqTrim drops a sequence's tokens past keep.
func SeqTrim(s SeqHandle, keep int) error {
	if keep < 0 {
		return fmt.Errorf("sdk: %s: keep %d: %w", abi.ImportSeqTrim, keep, ErrBadInput)
	}
	return callErr(abi.ImportSeqTrim, hostSeqTrim(int32(s), uint32(keep)))
}

// SeqLen is the number of tokens in a sequence.
func SeqLen(s SeqHandle) (int, error) {
	n := hostSeqLen(int32(s))
	return max(int(n), 0), callErr(abi.ImportSeqLen, n)
}

// SeqFree releases a sequence.
func SeqFree(s SeqHandle) error { return callErr(abi.ImportSeqFree, hostSeqFree(int32(s))) }

// HostSequences is Sequences through the host's imports: each method is the function of its name.
type HostSequences struct{}

// Model is the package function Model.
func (HostSequences) Model(name string) (ModelHandle, error) { return Model(name) }

// SeqNew is the package function SeqNew.
func (HostSequences) SeqNew(m ModelHandle) (SeqHandle, error) { return SeqNew(m) }

// SeqForward is the package function SeqForward.
func (HostSequences) SeqForward(s SeqHandle, ids []int32, logits []float32) (int, error) {
	return SeqForward(s, ids, logits)
}

// SeqForwardAll is the package function SeqForwardAll.
func (HostSequences) SeqForwardAll(s SeqHandle, ids []int32, logits []float32) (int, error) {
	return SeqForwardAll(s, ids, logits)
}

// SeqTrim is the package function SeqTrim.
func (HostSequences) SeqTrim(s SeqHandle, keep int) error { return SeqTrim(s, keep) }

// SeqFree is the package function SeqFree.
func (HostSequences) SeqFree(s SeqHandle) error { return SeqFree(s) }
