package model

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// Layer holds one dense transformer block's weights (qwen2, llama). Matrices are views into the mapped
// file.
type Layer struct {
	AttnNorm   []float32      // [D]
	Wq, Wk, Wv kernels.Matrix // [H·hd, D], [H_kv·hd, D], [H_kv·hd, D]
	Bq, Bk, Bv []float32      // qwen2 only: [H·hd], [H_kv·hd], [H_kv·hd]; nil otherwise
	Wo         kernels.Matrix // [D, H·hd]
	FFNNorm    []float32      // [D]
	Wgate, Wup kernels.Matrix // [I, D]
	Wdown      kernels.Matrix // [D, I]
}

// Model is a loaded transformer.
type Model struct {
	Config
	File    *gguf.File
	Embed   kernels.Matrix // [V, D] token embeddings
	OutNorm []float32      // [D]
	Output  kernels.Matrix // [V, D]; the embedding when the file has no output.weight
	Layers  []Layer        // qwen2, llama
	// RopeFactors divide the rotary frequencies pair by pair ([RopeDim/2], Llama-3 scaling); nil if none.
	RopeFactors []float32

	// deepseek2 only.
	MLALayers []MLALayer   // the Blocks main blocks
	MTP       []MTPLayer   // the NextN multi-token-prediction blocks after them, run by ForwardMTP
	MLARope   kernels.YaRN // rotation of q_pe and k_pe
	AttnScale float32      // attention softmax scale (YaRN's m² included)
	// NaiveFrom is the batch size from which Forward runs MLA in its naive (decompressed) form; smaller
	// batches, and so every decode step, run the absorbed form. Both read the same latent cache.
	NaiveFrom int

	closer io.Closer // the safetensors files of a model loaded by LoadHF; nil for GGUF
}

// Open loads a model from a GGUF file or a Hugging Face directory (see LoadHF). The caller closes it.
func Open(path string) (*Model, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return LoadHF(path)
	}
	return Load(path)
}

// Load opens a GGUF model file. The caller closes the model.
func Load(path string) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := FromFile(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

// Close releases the mapped file.
func (m *Model) Close() error {
	err := m.File.Close()
	if m.closer != nil {
		err = errors.Join(err, m.closer.Close())
	}
	return err
}

// FromFile builds a model on an open GGUF file; tensors stay views into it.
func FromFile(f *gguf.File) (*Model, error) { return fromSource(f, ggufSource{f}) }

// fromSource builds a model whose hyper-parameters are f's metadata and whose weights come from src.
func fromSource(f *gguf.File, src tensorSource) (*Model, error) {
	c, err := readConfig(f)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: c, File: f}
	l := loader{src: src}
	if c.Arch == archDeepSeek2 {
		if err := m.loadDeepSeek(&l); err != nil {
			return nil, err
		}
		m.interleave()
		return m, nil
	}
	qDim, kvDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	m.Embed = l.matrix("token_embd.weight", c.Dim, -1)
	m.Vocab = m.Embed.Rows
	m.OutNorm = l.vector("output_norm.weight", c.Dim)
	if l.has("output.weight") {
		m.Output = l.matrix("output.weight", c.Dim, m.Vocab)
	} else {
		m.Output = m.Embed
	}
	m.Layers = make([]Layer, c.Blocks)
	for i := range m.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		m.Layers[i] = Layer{
			AttnNorm: l.vector(p+"attn_norm.weight", c.Dim),
			Wq:       l.matrix(p+"attn_q.weight", c.Dim, qDim),
			Wk:       l.matrix(p+"attn_k.weight", c.Dim, kvDim),
			Wv:       l.matrix(p+"attn_v.weight", c.Dim, kvDim),
			Bq:       l.optVector(p+"attn_q.bias", qDim),
			Bk:       l.optVector(p+"attn_k.bias", kvDim),
			Bv:       l.optVector(p+"attn_v.bias", kvDim),
			Wo:       l.matrix(p+"attn_output.weight", qDim, c.Dim),
			FFNNorm:  l.vector(p+"ffn_norm.weight", c.Dim),
			Wgate:    l.matrix(p+"ffn_gate.weight", c.Dim, c.FFN),
			Wup:      l.matrix(p+"ffn_up.weight", c.Dim, c.FFN),
			Wdown:    l.matrix(p+"ffn_down.weight", c.FFN, c.Dim),
		}
	}
	m.RopeFactors = l.optVector("rope_freqs.weight", c.RopeDim/2)
	if l.err != nil {
		return nil, l.err
	}
	m.interleave()
	return m, nil
}

// tensorSource is where the loader finds weights, by their GGUF names: a GGUF file here; another format
// (safetensors) can implement it by mapping its own names and layouts to GGUF's.
type tensorSource interface {
	// tensor returns the tensor called name (a GGUF tensor name such as "blk.0.attn_q.weight").
	tensor(name string) (tensorData, bool)
	// path names the source in errors.
	path() string
}

// tensorData is one weight: its element type, its GGUF shape (ne, innermost first) and its bytes, which
// may be a view into a mapped file and are only read.
type tensorData struct {
	Type  kernels.DType
	Dims  []int
	Data  []byte
	Scale []float32 // FP8 E4M3 only: the 128×128 block multipliers (kernels.Matrix.Scale)
}

// expertSource is a tensorSource whose routed experts are separate tensors (safetensors) rather than one
// stacked tensor (GGUF).
type expertSource interface {
	// experts returns the n experts of the stacked GGUF tensor called name, one [rows, cols] tensor each.
	experts(name string, n int) ([]tensorData, bool)
}

// elements is the number of elements of the tensor.
func (t tensorData) elements() int {
	n := 1
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// ggufSource serves the tensors of a GGUF file.
type ggufSource struct{ f *gguf.File }

func (g ggufSource) tensor(name string) (tensorData, bool) {
	t, ok := g.f.Tensor(name)
	if !ok {
		return tensorData{}, false
	}
	dims := make([]int, len(t.Dims))
	for i := range dims {
		dims[i] = t.Dim(i)
	}
	return tensorData{Type: t.Type, Dims: dims, Data: t.Data}, true
}

func (g ggufSource) path() string { return g.f.Path }

// loader fetches tensors by name and checks their shapes; the first error sticks.
type loader struct {
	src tensorSource
	err error
}

func (l *loader) fail(format string, args ...any) {
	if l.err == nil {
		l.err = fmt.Errorf("model: %s: %s", l.src.path(), fmt.Sprintf(format, args...))
	}
}

// has reports whether the source holds the tensor.
func (l *loader) has(name string) bool {
	_, ok := l.src.tensor(name)
	return ok
}

// get returns a tensor whose shape is dims (ne); a negative dim accepts any size.
func (l *loader) get(name string, dims ...int) (tensorData, bool) {
	t, ok := l.src.tensor(name)
	if !ok {
		l.fail("tensor %s missing", name)
		return t, false
	}
	return t, l.check(name, t, dims...)
}

// check reports (once, through fail) a tensor whose shape is not dims, whose type has no kernel or whose
// data is short.
func (l *loader) check(name string, t tensorData, dims ...int) bool {
	match := len(t.Dims) == len(dims)
	for i := 0; match && i < len(dims); i++ {
		match = dims[i] < 0 || t.Dims[i] == dims[i]
	}
	if !match {
		l.fail("tensor %s has shape %v, want %v", name, t.Dims, dims)
		return false
	}
	if !kernels.Supported(t.Type) {
		l.fail("tensor %s has type %s, which has no kernel (supported: %v)", name, t.Type, kernels.SupportedTypes())
		return false
	}
	if rb, err := t.Type.RowBytes(t.Dims[0]); err != nil || len(t.Data) < rb*t.elements()/t.Dims[0] {
		l.fail("tensor %s of type %s and shape %v has %d bytes", name, t.Type, t.Dims, len(t.Data))
		return false
	}
	if err := (kernels.Matrix{Type: t.Type, Rows: t.elements() / t.Dims[0], Cols: t.Dims[0], Data: t.Data, Scale: t.Scale}).Validate(); err != nil {
		l.fail("tensor %s: %v", name, err)
		return false
	}
	return true
}

// matrix returns a weight with ne = [cols, rows]; rows < 0 accepts any row count.
func (l *loader) matrix(name string, cols, rows int) kernels.Matrix {
	t, ok := l.get(name, cols, rows)
	if !ok {
		return kernels.Matrix{}
	}
	return kernels.Matrix{Type: t.Type, Rows: t.Dims[1], Cols: cols, Data: t.Data, Scale: t.Scale}
}

// stack returns the n matrices of a 3-D weight with ne = [cols, rows, n], as views.
func (l *loader) stack(name string, cols, rows, n int) []kernels.Matrix {
	if es, ok := l.src.(expertSource); ok {
		ts, ok := es.experts(name, n)
		if !ok {
			l.fail("tensor %s (%d experts) missing", name, n)
			return nil
		}
		out := make([]kernels.Matrix, n)
		for e, t := range ts {
			if !l.check(fmt.Sprintf("%s[%d]", name, e), t, cols, rows) {
				return nil
			}
			out[e] = kernels.Matrix{Type: t.Type, Rows: rows, Cols: cols, Data: t.Data, Scale: t.Scale}
		}
		return out
	}
	t, ok := l.get(name, cols, rows, n)
	if !ok {
		return nil
	}
	return split(t.Type, t.Data, cols, rows, n)
}

// split views data as n consecutive matrices of rows×cols elements of type t.
func split(t kernels.DType, data []byte, cols, rows, n int) []kernels.Matrix {
	rb, _ := t.RowBytes(cols)
	out := make([]kernels.Matrix, n)
	for i := range out {
		out[i] = kernels.Matrix{Type: t, Rows: rows, Cols: cols, Data: data[i*rows*rb : (i+1)*rows*rb]}
	}
	return out
}

func (l *loader) vector(name string, n int) []float32 {
	t, ok := l.src.tensor(name)
	if !ok {
		l.fail("tensor %s missing", name)
		return nil
	}
	return l.toF32(name, t, n)
}

func (l *loader) optVector(name string, n int) []float32 {
	t, ok := l.src.tensor(name)
	if !ok {
		return nil
	}
	return l.toF32(name, t, n)
}

// toF32 copies a small 1-D tensor (norm weight, bias) into float32s.
func (l *loader) toF32(name string, t tensorData, n int) []float32 {
	if t.elements() != n {
		l.fail("tensor %s has %d elements, want %d", name, t.elements(), n)
		return nil
	}
	out := make([]float32, n)
	if err := kernels.DequantizeRow(t.Type, out, t.Data); err != nil {
		l.fail("tensor %s: %v", name, err)
	}
	return out
}
