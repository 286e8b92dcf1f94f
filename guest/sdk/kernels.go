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
