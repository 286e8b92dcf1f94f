// Package modelgen writes small random-weight GGUF models with real architectures and real tokenizers. Tests
// use them as fixtures (the same options always give the same bytes) and benchmarks use real-shaped ones.
package modelgen

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/hfmap"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// Options describe the model to generate. Zero fields take the defaults of Tiny.
type Options struct {
	Arch       string        // "qwen2", "llama" or "deepseek2"
	Type       kernels.DType // weight type of the 2-D matrices: F32, F16, BF16 or Q8_0
	Layers     int           // transformer blocks (deepseek2: the main ones, without DeepSeek.MTP)
	Dim        int           // hidden size
	FFN        int           // feed-forward size (deepseek2: of the leading dense blocks)
	Heads      int
	KVHeads    int // unused for deepseek2 (MLA files say 1)
	Context    int
	RopeBase   float32
	Llama3Rope bool    // llama only: write rope_freqs.weight with Llama-3.1 scaling divisors
	LinearRope float32 `json:",omitempty"` // if > 0: linear RoPE scaling with this factor
	TiedOutput bool    // omit output.weight (the model reuses token_embd)
	Seed       uint64  // same seed, same weights
	// Cycle, if > 0, makes a predictable model (qwen2, llama): the tokens fall into groups of Cycle
	// consecutive ids, output.weight maps each token's embedding to the next id of its group (the last
	// back to the first), and the blocks write into the residual stream at a tenth of the usual scale, so
	// the embedding decides the next token and greedy decoding walks the group's cycle whatever the
	// quantization. The compute per token is the same as any model of the shape: a benchmark fixture for
	// speculative decoding, whose drafts agree with such a model as drafts agree with real weights.
	Cycle int    `json:",omitempty"`
	Name  string // general.name
	// ChatTemplate, if set, replaces the vocabulary file's tokenizer.chat_template.
	ChatTemplate string `json:",omitempty"`
	// DeepSeek holds the deepseek2 hyper-parameters; nil for the other architectures.
	DeepSeek *DeepSeekOptions `json:",omitempty"`
}

// Tiny returns the defaults: a 2-layer model small enough for unit tests (for deepseek2, the V3-style
// model of DeepSeekTiny).
func Tiny(arch string, t kernels.DType) Options {
	if arch == "deepseek2" {
		o, _ := DeepSeekTiny("v3", t)
		return o
	}
	return Options{Arch: arch, Type: t, Layers: 2, Dim: 64, FFN: 128, Heads: 4, KVHeads: 2, Context: 512, Seed: 1}
}

// Shape returns a named real shape with random weights, e.g. "qwen2-1.5b" (DeepSeek-R1-Distill-Qwen-1.5B).
func Shape(name string, t kernels.DType) (Options, error) {
	switch name {
	case "qwen2-1.5b":
		return Options{Arch: "qwen2", Type: t, Layers: 28, Dim: 1536, FFN: 8960, Heads: 12, KVHeads: 2,
			Context: 4096, RopeBase: 10000, Seed: 1, Name: "random Qwen2-1.5B shape"}, nil
	case "llama-1b":
		return Options{Arch: "llama", Type: t, Layers: 16, Dim: 2048, FFN: 8192, Heads: 32, KVHeads: 8,
			Context: 4096, RopeBase: 500000, Llama3Rope: true, Seed: 1, Name: "random Llama-3.2-1B shape"}, nil
	case "deepseek-v2-lite":
		return Options{Arch: "deepseek2", Type: t, Layers: 27, Dim: 2048, FFN: 10944, Heads: 16, KVHeads: 1,
			Context: 163840, RopeBase: 10000, Seed: 1, Name: "random DeepSeek-V2-Lite shape",
			DeepSeek: &DeepSeekOptions{KVLoRA: 512, NopeDim: 128, RopeDim: 64, ValueDim: 128, DenseLead: 1,
				Experts: 64, ExpertsUsed: 6, Shared: 2, ExpertFFN: 1408, WeightsScale: 1, YaRN: 40, MScaleAllDim: 0.707}}, nil
	}
	return Options{}, fmt.Errorf("modelgen: unknown shape %q (known: qwen2-1.5b, llama-1b, deepseek-v2-lite)", name)
}

func (o *Options) validate() error {
	if o.Arch == "deepseek2" {
		if o.Cycle != 0 {
			return fmt.Errorf("modelgen: cycle is for qwen2 and llama models, not deepseek2")
		}
		return o.validateDeepSeek()
	}
	if o.Arch != "qwen2" && o.Arch != "llama" {
		return fmt.Errorf("modelgen: arch %q not supported (qwen2, llama, deepseek2)", o.Arch)
	}
	if !kernels.Writable(o.Type) || !kernels.Supported(o.Type) {
		return fmt.Errorf("modelgen: weight type %s not supported (%v)", o.Type, writableTypes())
	}
	if o.Layers <= 0 || o.Dim <= 0 || o.FFN <= 0 || o.Heads <= 0 || o.KVHeads <= 0 || o.Context <= 0 {
		return fmt.Errorf("modelgen: layers, dim, ffn, heads, kv heads and context must be positive")
	}
	if o.Dim%o.Heads != 0 || o.Heads%o.KVHeads != 0 || (o.Dim/o.Heads)%2 != 0 {
		return fmt.Errorf("modelgen: dim %d, heads %d, kv heads %d do not divide evenly into even head dims", o.Dim, o.Heads, o.KVHeads)
	}
	bs := o.Type.BlockSize()
	if o.Dim%bs != 0 || o.FFN%bs != 0 {
		return fmt.Errorf("modelgen: dim %d and ffn %d must be multiples of the %s block size %d", o.Dim, o.FFN, o.Type, bs)
	}
	if o.Cycle < 0 || o.Cycle > 0 && o.TiedOutput {
		return fmt.Errorf("modelgen: cycle %d needs a positive length and an output.weight (not tied)", o.Cycle)
	}
	if o.RopeBase == 0 {
		o.RopeBase = map[string]float32{"qwen2": 10000, "llama": 500000}[o.Arch]
	}
	return nil
}

// Generate builds the model. vocab is a GGUF file whose tokenizer.* metadata is copied (e.g. a llama.cpp
// vocab-only file); the embedding has one row per token.
func Generate(o Options, vocab *gguf.File) (*gguf.Writer, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	tokens, ok := vocab.Strings("tokenizer.ggml.tokens")
	if !ok || len(tokens) == 0 {
		return nil, fmt.Errorf("modelgen: %s has no tokenizer.ggml.tokens", vocab.Path)
	}
	nVocab := len(tokens)
	hd := o.Dim / o.Heads
	w := gguf.NewWriter()
	a := o.Arch
	name := o.Name
	if name == "" {
		name = fmt.Sprintf("random tiny %s %s", a, o.Type)
	}
	w.Set("general.architecture", a)
	w.Set("general.name", name)
	w.Set("general.file_type", uint32(fileType(o.Type)))
	w.Set(a+".block_count", uint32(o.Layers+o.mtp()))
	w.Set(a+".context_length", uint32(o.Context))
	w.Set(a+".embedding_length", uint32(o.Dim))
	w.Set(a+".feed_forward_length", uint32(o.FFN))
	w.Set(a+".attention.head_count", uint32(o.Heads))
	w.Set(a+".attention.head_count_kv", uint32(o.KVHeads))
	w.Set(a+".rope.freq_base", o.RopeBase)
	w.Set(a+".attention.layer_norm_rms_epsilon", float32(map[string]float64{"qwen2": 1e-6, "llama": 1e-5, "deepseek2": 1e-6}[a]))
	if a == "llama" {
		w.Set(a+".rope.dimension_count", uint32(hd))
		w.Set(a+".vocab_size", uint32(nVocab))
	}
	for _, kv := range vocab.KV {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			w.SetValue(kv.Key, kv.Value)
		}
	}
	if o.LinearRope > 0 {
		w.Set(a+".rope.scaling.type", "linear")
		w.Set(a+".rope.scaling.factor", o.LinearRope)
	}
	if o.ChatTemplate != "" {
		w.Set("tokenizer.chat_template", o.ChatTemplate)
	}

	g := gen{o: o, w: w}
	// Scales: embeddings O(1), projections 1/sqrt(fan-in), output large enough that next-token
	// distributions are peaked (top probabilities ~0.1–0.9), so parity checks against llama.cpp mean something.
	g.matrix("token_embd.weight", o.Dim, nVocab, 1)
	g.norm("output_norm.weight", o.Dim)
	switch {
	case o.Cycle > 0:
		g.cycleOutput(o.Dim, nVocab, 4/math.Sqrt(float64(o.Dim)))
	case !o.TiedOutput:
		g.matrix("output.weight", o.Dim, nVocab, 4/math.Sqrt(float64(o.Dim)))
	}
	if a == "deepseek2" {
		g.deepseek(nVocab)
		return w, g.err
	}
	if o.Llama3Rope && a == "llama" {
		g.f32("rope_freqs.weight", hfmap.Llama3Divisors(hd, o.RopeBase, llama3Factor, llama3Low, llama3High, llama3Orig))
	}
	in, write := 1/math.Sqrt(float64(o.Dim)), 1.0 // write: the scale of what a block adds to the residual
	if o.Cycle > 0 {
		write = 0.1
	}
	for l := 0; l < o.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		g.norm(p+"attn_norm.weight", o.Dim)
		g.matrix(p+"attn_q.weight", o.Dim, o.Heads*hd, 2*in)
		g.matrix(p+"attn_k.weight", o.Dim, o.KVHeads*hd, 2*in)
		g.matrix(p+"attn_v.weight", o.Dim, o.KVHeads*hd, in)
		if a == "qwen2" {
			g.vector(p+"attn_q.bias", o.Heads*hd, 0.2)
			g.vector(p+"attn_k.bias", o.KVHeads*hd, 0.2)
			g.vector(p+"attn_v.bias", o.KVHeads*hd, 0.2)
		}
		g.matrix(p+"attn_output.weight", o.Heads*hd, o.Dim, write*in)
		g.norm(p+"ffn_norm.weight", o.Dim)
		g.matrix(p+"ffn_gate.weight", o.Dim, o.FFN, in)
		g.matrix(p+"ffn_up.weight", o.Dim, o.FFN, in)
		g.matrix(p+"ffn_down.weight", o.FFN, o.Dim, write/math.Sqrt(float64(o.FFN)))
	}
	return w, g.err
}

// fileType maps a weight type to llama.cpp's general.file_type (LLAMA_FTYPE_*) for a file whose matrices
// all have that type (the K-quants map to their _S presets, the closest llama.cpp has).
func fileType(t kernels.DType) int {
	return map[kernels.DType]int{kernels.F32: 0, kernels.F16: 1, kernels.Q4_0: 2, kernels.Q4_1: 3, kernels.Q8_0: 7,
		kernels.Q5_0: 8, kernels.Q5_1: 9, kernels.Q2_K: 10, kernels.Q3_K: 11, kernels.Q4_K: 14, kernels.Q5_K: 16,
		kernels.Q6_K: 18, kernels.IQ4_NL: 25, kernels.IQ4_XS: 30, kernels.BF16: 32}[t]
}

type gen struct {
	o   Options
	w   *gguf.Writer
	err error
}

// rng derives a per-tensor generator from the seed and the tensor name, so tensors do not depend on order.
func (g *gen) rng(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(g.o.Seed, h.Sum64()))
}

// uniform fills n values from U(-s·√3, s·√3), which has standard deviation s.
func uniform(r *rand.Rand, n int, s float64) []float32 {
	v := make([]float32, n)
	a := s * math.Sqrt(3)
	for i := range v {
		v[i] = float32((2*r.Float64() - 1) * a)
	}
	return v
}

func (g *gen) add(name string, t kernels.DType, dims []uint64, data []byte) {
	if g.err == nil {
		g.err = g.w.AddTensor(name, t, dims, data)
	}
}

func (g *gen) f32(name string, v []float32) {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	g.add(name, kernels.F32, []uint64{uint64(len(v))}, b)
}

func (g *gen) vector(name string, n int, s float64) { g.f32(name, uniform(g.rng(name), n, s)) }

// norm writes an RMSNorm weight near 1.
func (g *gen) norm(name string, n int) {
	v := uniform(g.rng(name), n, 0.1)
	for i := range v {
		v[i]++
	}
	g.f32(name, v)
}

// matrix writes a [rows=out][cols=in] weight (GGUF ne = [in, out]) in the model's weight type.
func (g *gen) matrix(name string, in, out int, s float64) {
	g.uniformRows(name, g.o.Type, []uint64{uint64(in), uint64(out)}, s)
}

// uniformRows writes a weight of type t and shape dims (ne) whose values, row after row, are the
// tensor's stream of U(-s·√3, s·√3) draws.
func (g *gen) uniformRows(name string, t kernels.DType, dims []uint64, s float64) {
	a := s * math.Sqrt(3)
	g.rows(name, t, dims, func() func([]float32) {
		r := g.rng(name)
		return func(v []float32) {
			for i := range v {
				v[i] = float32((2*r.Float64() - 1) * a)
			}
		}
	})
}

// rows adds a tensor of type t and shape dims (ne) whose bytes are made while the file is written, one
// row of dims[0] values at a time: source returns a fresh generator, which fills each row in order.
func (g *gen) rows(name string, t kernels.DType, dims []uint64, source func() func(row []float32)) {
	in, n := int(dims[0]), 1
	for _, d := range dims[1:] {
		n *= int(d)
	}
	rowBytes, err := t.RowBytes(in)
	if err != nil {
		g.err = err
		return
	}
	if g.err == nil {
		g.err = g.w.AddTensorFunc(name, t, dims, func(dst []byte) error {
			next, v := source(), make([]float32, in)
			for r := range n {
				next(v)
				encodeRow(t, dst[r*rowBytes:(r+1)*rowBytes], v)
			}
			return nil
		})
	}
}

func encodeRow(t kernels.DType, dst []byte, src []float32) {
	if err := kernels.QuantizeRow(t, dst, src); err != nil {
		panic(err) // validate admits only writable types and whole blocks
	}
}

// writableTypes lists the weight types modelgen can write.
func writableTypes() []kernels.DType {
	var ts []kernels.DType
	for _, t := range kernels.SupportedTypes() {
		if kernels.Writable(t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// WriteFile generates a model with the tokenizer of the GGUF at vocabPath and writes it to outPath.
func WriteFile(o Options, vocabPath, outPath string) error {
	vocab, err := gguf.Open(vocabPath)
	if err != nil {
		return err
	}
	defer vocab.Close()
	w, err := Generate(o, vocab)
	if err != nil {
		return err
	}
	return w.WriteFile(outPath)
}
