package model

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/wasmoe/wasmoe/host/gguf"
	"github.com/wasmoe/wasmoe/kernels"
)

// Layer holds one transformer block's weights. Matrices are views into the mapped file.
type Layer struct {
	AttnNorm   []float32      // [D]
	Wq, Wk, Wv kernels.Matrix // [H·hd, D], [H_kv·hd, D], [H_kv·hd, D]
	Bq, Bk, Bv []float32      // qwen2 only: [H·hd], [H_kv·hd], [H_kv·hd]; nil otherwise
	Wo         kernels.Matrix // [D, H·hd]
	FFNNorm    []float32      // [D]
	Wgate, Wup kernels.Matrix // [I, D]
	Wdown      kernels.Matrix // [D, I]
}

// Model is a loaded dense transformer.
type Model struct {
	Config
	File    *gguf.File
	Embed   kernels.Matrix // [V, D] token embeddings
	OutNorm []float32      // [D]
	Output  kernels.Matrix // [V, D]; the embedding when the file has no output.weight
	Layers  []Layer
	// RopeFactors divide the rotary frequencies pair by pair ([RopeDim/2], Llama-3 scaling); nil if none.
	RopeFactors []float32
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
func (m *Model) Close() error { return m.File.Close() }

// FromFile builds a model on an open GGUF file; tensors stay views into it.
func FromFile(f *gguf.File) (*Model, error) {
	c, err := readConfig(f)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: c, File: f}
	l := loader{f: f}
	qDim, kvDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	m.Embed = l.matrix("token_embd.weight", c.Dim, -1)
	m.Vocab = m.Embed.Rows
	m.OutNorm = l.vector("output_norm.weight", c.Dim)
	if _, ok := f.Tensor("output.weight"); ok {
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
	return m, nil
}

// loader fetches tensors by name and checks their shapes; the first error sticks.
type loader struct {
	f   *gguf.File
	err error
}

func (l *loader) fail(format string, args ...any) {
	if l.err == nil {
		l.err = fmt.Errorf("model: %s: %s", l.f.Path, fmt.Sprintf(format, args...))
	}
}

// matrix returns a weight with ne = [cols, rows]; rows < 0 accepts any row count.
func (l *loader) matrix(name string, cols, rows int) kernels.Matrix {
	t, ok := l.f.Tensor(name)
	if !ok {
		l.fail("tensor %s missing", name)
		return kernels.Matrix{}
	}
	if len(t.Dims) != 2 || t.Dim(0) != cols || (rows >= 0 && t.Dim(1) != rows) {
		l.fail("tensor %s has shape %v, want [%d, %d]", name, t.Dims, cols, rows)
		return kernels.Matrix{}
	}
	if !kernels.Supported(t.Type) {
		l.fail("tensor %s has type %s, which has no kernel yet (supported: F32, F16, BF16, Q8_0)", name, t.Type)
		return kernels.Matrix{}
	}
	return kernels.Matrix{Type: t.Type, Rows: t.Dim(1), Cols: cols, Data: t.Data}
}

func (l *loader) vector(name string, n int) []float32 {
	t, ok := l.f.Tensor(name)
	if !ok {
		l.fail("tensor %s missing", name)
		return nil
	}
	return l.toF32(t, n)
}

func (l *loader) optVector(name string, n int) []float32 {
	t, ok := l.f.Tensor(name)
	if !ok {
		return nil
	}
	return l.toF32(t, n)
}

// toF32 copies a small 1-D tensor (norm weight, bias) into float32s.
func (l *loader) toF32(t *gguf.Tensor, n int) []float32 {
	if t.Elements() != uint64(n) {
		l.fail("tensor %s has %d elements, want %d", t.Name, t.Elements(), n)
		return nil
	}
	out := make([]float32, n)
	if t.Type == kernels.F32 {
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
		return out
	}
	if err := kernels.DequantizeRow(t.Type, out, t.Data); err != nil {
		l.fail("tensor %s: %v", t.Name, err)
	}
	return out
}
