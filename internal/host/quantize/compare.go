package quantize

import (
	"fmt"
	"math"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// TensorRMSE is one tensor of a Compare: its types in the two quantized files and each file's root mean
// square error against the input.
type TensorRMSE struct {
	Name              string
	Ours, Ref         kernels.DType
	RMSEOurs, RMSERef float64
}

// Ratio is RMSEOurs / RMSERef (1 when both are 0).
func (r TensorRMSE) Ratio() float64 {
	if r.RMSERef == 0 {
		if r.RMSEOurs == 0 {
			return 1
		}
		return math.Inf(1)
	}
	return r.RMSEOurs / r.RMSERef
}

// Within reports whether the types agree and our RMSE is at most (1+tol) times the reference's.
func (r TensorRMSE) Within(tol float64) bool {
	return r.Ours == r.Ref && r.RMSEOurs <= r.RMSERef*(1+tol)+1e-12
}

// Compare measures, for every tensor of ours, the RMSE of ours and of ref (another quantization of the
// same input, e.g. llama-quantize's) against input (a GGUF file or Hugging Face directory, as Run reads
// it), streaming rows in chunks.
func Compare(input, ours, ref string) ([]TensorRMSE, error) {
	in, err := openInput(input)
	if err != nil {
		return nil, err
	}
	defer in.close()
	a, err := gguf.Open(ours)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	b, err := gguf.Open(ref)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	src := map[string]*source{}
	for i := range in.tensors {
		src[in.tensors[i].Name] = &in.tensors[i]
	}
	var out []TensorRMSE
	for i := range a.Tensors {
		ta := &a.Tensors[i]
		s, ok := src[ta.Name]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %s is not in %s", ours, ta.Name, input)
		}
		tb, ok := b.Tensor(ta.Name)
		if !ok {
			return nil, fmt.Errorf("%s: tensor %s is missing", ref, ta.Name)
		}
		ra, err := rmse(s, ta)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %s: %w", ours, ta.Name, err)
		}
		rb, err := rmse(s, tb)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %s: %w", ref, ta.Name, err)
		}
		out = append(out, TensorRMSE{Name: ta.Name, Ours: ta.Type, Ref: tb.Type, RMSEOurs: ra, RMSERef: rb})
	}
	return out, nil
}

// rmse is the root mean square difference between the input tensor s and the quantized tensor q.
func rmse(s *source, q *gguf.Tensor) (float64, error) {
	if fmt.Sprint(q.Dims) != fmt.Sprint(s.Dims) {
		return 0, fmt.Errorf("shape %v, input has %v", q.Dims, s.Dims)
	}
	cols, nrows := int(s.Dims[0]), s.nrows()
	rowBytes, err := q.Type.RowBytes(cols)
	if err != nil {
		return 0, err
	}
	chunk := max(1, min(nrows, chunkElems/cols))
	x := make([]float32, chunk*cols)
	y := make([]float32, cols)
	var sum float64
	for lo := 0; lo < nrows; lo += chunk {
		hi := min(nrows, lo+chunk)
		if err := s.rows(x, lo, hi); err != nil {
			return 0, err
		}
		for r := lo; r < hi; r++ {
			if err := kernels.DequantizeRow(q.Type, y, q.Data[r*rowBytes:(r+1)*rowBytes]); err != nil {
				return 0, err
			}
			for j, v := range y {
				d := float64(v) - float64(x[(r-lo)*cols+j])
				sum += d * d
			}
		}
	}
	return math.Sqrt(sum / float64(nrows*cols)), nil
}
