package sdk

import (
	"fmt"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// TensorHandle is a weight of the request's model, from Tensor.
type TensorHandle int32

// ModelHandle is a model, from Model.
type ModelHandle int32

// SeqHandle is a sequence (KV cache) the guest owns, from SeqNew.
type SeqHandle int32

// Sequences is the part of the host kernels that runs models on guest-owned sequences: what a policy
// driving a second model needs (guest/examples/speculative, guest/examples/chain). In a guest,
// HostSequences implements it with the imports; native tests implement it with toy models.
type Sequences interface {
	// Model opens a model by name ("" = the request's).
	Model(name string) (ModelHandle, error)
	// SeqNew opens an empty sequence on a model.
	SeqNew(m ModelHandle) (SeqHandle, error)
	// SeqForward appends ids to a sequence and writes the logits after the last. It returns the model's
	// logit count; when that exceeds len(logits) nothing was written (the tokens were appended all the same).
	SeqForward(s SeqHandle, ids []int32, logits []float32) (int, error)
	// SeqForwardAll appends ids to a sequence in one batched forward and writes the logits after every
	// one of them, row i (the model's logit count wide) after ids[i]: verifying k drafted tokens costs
	// about one decode step. It returns the logit count per row. When len(logits) is short of
	// len(ids) rows, nothing runs, the sequence is unchanged and the error wraps ErrBadInput.
	SeqForwardAll(s SeqHandle, ids []int32, logits []float32) (int, error)
	// SeqTrim drops a sequence's tokens past keep.
	SeqTrim(s SeqHandle, keep int) error
	// SeqFree releases a sequence.
	SeqFree(s SeqHandle) error
}

// Argmax is the first index of the largest logit, as greedy sampling picks it; -1 for no logits.
func Argmax(logits []float32) int32 {
	if len(logits) == 0 {
		return -1
	}
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return int32(best)
}

// TensorShape is what TensorInfo says of a weight.
type TensorShape struct {
	DType      uint32 // the host's kernels.DType
	Rows, Cols int    // W is rows × cols; MatMul maps cols-vectors to rows-vectors
}

// checkMatMul checks MatMul's sizes: x holds n × cols floats and y n × rows.
func checkMatMul(s TensorShape, nx, n, ny int) error {
	if n <= 0 || nx < n*s.Cols || ny < n*s.Rows {
		return fmt.Errorf("sdk: %s: %d tokens of %d → %d need %d and %d floats, got %d and %d: %w",
			abi.ImportMatMul, n, s.Cols, s.Rows, n*s.Cols, n*s.Rows, nx, ny, ErrBadInput)
	}
	return nil
}

// checkMoE checks MoE's sizes: x and y hold n rows of the same width, ids and weights n × k entries.
func checkMoE(nx, n, nids, nweights, k, ny int) error {
	if n <= 0 || k <= 0 || nx < n || nx%n != 0 || ny < nx || nids < n*k || nweights < n*k {
		return fmt.Errorf("sdk: %s: %d tokens, %d per token: %d floats in, %d out, %d ids, %d weights: %w",
			abi.ImportMoE, n, k, nx, ny, nids, nweights, ErrBadInput)
	}
	return nil
}
