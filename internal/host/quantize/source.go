package quantize

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// source is one input tensor: its GGUF name, shape and stored type, and the means to read it.
type source struct {
	TensorInfo
	// rows expands rows [lo, hi) — rows of ne[0] elements, numbered across ne[1], ne[2], … — into
	// dst[:(hi-lo)·ne[0]]. Calls on disjoint ranges may run concurrently.
	rows func(dst []float32, lo, hi int) error
	// raw writes the stored bytes unchanged; nil where they cannot go into a GGUF file as they are.
	raw func(w io.Writer) error
}

// nrows is the number of rows of ne[0] elements.
func (s *source) nrows() int { return int(elements(s.Dims) / s.Dims[0]) }

// elements is the product of the dims.
func elements(dims []uint64) uint64 {
	n := uint64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

// input is an opened model: its metadata, in the order it is to be written, and its tensors.
type input struct {
	path    string
	kv      []gguf.KV
	tensors []source
	close   func() error
}

// openInput opens a GGUF file or a Hugging Face directory.
func openInput(path string) (*input, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return openHF(path)
	}
	return openGGUF(path)
}

// splitKeys are the metadata keys of split files, which llama-quantize drops.
var splitKeys = map[string]bool{"split.no": true, "split.count": true, "split.tensors.count": true}

// openGGUF opens a GGUF model: tensors are read in place from the mapping.
func openGGUF(path string) (*input, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	in := &input{path: path, close: f.Close}
	for _, kv := range f.KV {
		if !splitKeys[kv.Key] {
			in.kv = append(in.kv, kv)
		}
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if len(t.Dims) == 0 || t.Dims[0] == 0 {
			f.Close()
			return nil, fmt.Errorf("%s: tensor %s: empty shape %v", path, t.Name, t.Dims)
		}
		in.tensors = append(in.tensors, ggufSource(t))
	}
	return in, nil
}

// ggufSource reads a GGUF tensor: rows dequantized with the kernels' type table.
func ggufSource(t *gguf.Tensor) source {
	cols := int(t.Dims[0])
	rowBytes, _ := t.Type.RowBytes(cols) // the reader has checked the shape against the type
	return source{
		TensorInfo: TensorInfo{Name: t.Name, Dims: t.Dims, Type: t.Type},
		rows: func(dst []float32, lo, hi int) error {
			if !kernels.Supported(t.Type) {
				return fmt.Errorf("cannot read type %s", t.Type)
			}
			for r := lo; r < hi; r++ {
				if err := kernels.DequantizeRow(t.Type, dst[(r-lo)*cols:(r-lo+1)*cols], t.Data[r*rowBytes:(r+1)*rowBytes]); err != nil {
					return err
				}
			}
			return nil
		},
		raw: func(w io.Writer) error {
			_, err := w.Write(t.Data)
			return err
		},
	}
}

// isNormLike reports the tensors llama.cpp's converter always stores as F32: 1-D tensors, norms and MoE
// routers.
func isNormLike(name string, dims []uint64) bool {
	return nDims(dims) <= 1 || strings.HasSuffix(name, "_norm.weight") || strings.Contains(name, "ffn_gate_inp.weight")
}
