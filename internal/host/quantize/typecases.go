package quantize

import (
	"bytes"
	"fmt"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// TypeCase is one model of the type-choice truth table (see tools/quanttypes): tiny F32 models whose
// shapes exercise llama.cpp's rules — several layers for the layer rules, GQA 4 and 2, tied and separate
// output, 8 and 16 experts, row lengths that are multiples of 256, multiples of 32 only, and neither.
type TypeCase struct {
	Name    string
	Options modelgen.Options
}

// TypeCases returns the models tools/quanttypes records and the tests replay.
func TypeCases() []TypeCase {
	f32 := kernels.F32
	v3, _ := modelgen.DeepSeekTiny("v3", f32)
	v3.Layers, v3.Dim, v3.FFN = 8, 256, 512
	lite, _ := modelgen.DeepSeekTiny("v2-lite", f32)
	lite.Dim, lite.FFN = 256, 512
	return []TypeCase{
		{"qwen2-gqa4", modelgen.Options{Arch: "qwen2", Type: f32, Layers: 12, Dim: 256, FFN: 512, Heads: 4, KVHeads: 1, Context: 512, Seed: 1}},
		{"llama-tied", modelgen.Options{Arch: "llama", Type: f32, Layers: 16, Dim: 256, FFN: 768, Heads: 8, KVHeads: 4, Context: 512, TiedOutput: true, Seed: 1}},
		{"qwen2-odd", modelgen.Options{Arch: "qwen2", Type: f32, Layers: 8, Dim: 320, FFN: 200, Heads: 4, KVHeads: 2, Context: 512, Seed: 1}},
		{"deepseek2-v3", v3},
		{"deepseek2-v2lite", lite},
	}
}

// TypeTable is the recorded truth: per model, the output tensor names in file order and, per preset, their
// types as llama-quantize wrote them, and the hash of each output file.
type TypeTable struct {
	Tool    string
	Version string
	Models  []TypeRecord
}

// TypeRecord is one model of a TypeTable.
type TypeRecord struct {
	Name    string
	Tensors []string
	Presets map[string][]string
	SHA256  map[string]string // per preset, of llama-quantize's whole output file
}

// TinyVocab returns a GGUF vocabulary of n placeholder tokens (enough for modelgen; llama-quantize does
// not read the tokenizer).
func TinyVocab(n int) (*gguf.File, error) {
	w := gguf.NewWriter()
	toks := make([]string, n)
	types := make([]int32, n)
	for i := range toks {
		toks[i] = fmt.Sprintf("<t%d>", i)
		types[i] = 1
	}
	w.Set("tokenizer.ggml.model", "gpt2")
	w.Set("tokenizer.ggml.pre", "default")
	w.Set("tokenizer.ggml.tokens", toks)
	w.Set("tokenizer.ggml.token_type", types)
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		return nil, err
	}
	return gguf.Parse("tiny vocab", b.Bytes())
}
