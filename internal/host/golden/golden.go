// Package golden defines the llama.cpp parity cases: tiny random models (regenerated bit for bit from their
// options) with llama.cpp's next-token probabilities for a prompt, stored in testdata/golden by
// tools/goldens and checked by the tests of the eval path.
package golden

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// Case is one model and prompt.
type Case struct {
	Name      string           `json:"name"`
	Vocab     string           `json:"vocab"` // llama.cpp vocab file the tokenizer comes from
	Options   modelgen.Options `json:"options"`
	Text      string           `json:"text"`
	Top       int              `json:"top"`
	Tolerance float64          `json:"tolerance"` // largest allowed probability difference
	// Preset, if set, is the llama-quantize preset (Q4_K_M, IQ4_XS, ...) the F32 model of Options is
	// quantized with; the reference ran on llama-quantize's file.
	Preset string `json:"preset,omitempty"`
	// Seq marks a reference evaluated one token per decode call (LLAMA_REF_SEQ=1), as generation runs:
	// for types llama.cpp repacks, its batched path adds in another order than its token-by-token one.
	Seq bool `json:"seq,omitempty"`
}

// Tensor is one tensor of llama-quantize's output: its type and a hash of its data.
type Tensor struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	SHA256 string `json:"sha256"`
}

// Step is one position of llama-ref's output.
type Step struct {
	Pos   int          `json:"pos"`
	Token int32        `json:"token"`
	Top   [][2]float64 `json:"top"`
}

// File is a stored golden result.
type File struct {
	Case
	SHA256  string   `json:"sha256"`            // of the generated model file (before quantization, for a Preset case)
	Tensors []Tensor `json:"tensors,omitempty"` // a Preset case: llama-quantize's output, in file order
	Ref     []Step   `json:"ref"`
}

// prompt mixes English, digits, code, CJK and punctuation so the tokenizer's pre-tokenizer paths all run.
const prompt = "Hello world! The quick brown fox jumps over 12 lazy dogs; x := y + 345 // 你好，世界\n"

// Cases lists the parity cases: both dense architectures with every weight type that has a llama.cpp fast
// path, and deepseek2 in DeepSeek-V3 style (3 blocks) and DeepSeek-V2-Lite style (27 blocks, which is how
// llama.cpp recognises a lite model) with the DeepSeek-V3 tokenizer. The 27-block Q8_0 model gets a looser
// tolerance: float32 rounding that differs from llama.cpp's (summation order, exp) now and then flips a
// Q8_0 activation rounding, and 27 blocks carry the difference further. Then, for each architecture, an
// F32 model quantized with each of Presets by llama-quantize (see quantShape), compared token by token at
// 5e-3: on these tiny random models one float32 rounding that differs from llama.cpp's flips a Q8
// activation rounding and grows into differences of 1e-2 to 3.5e-2, so every dot, attention's softmax and
// sums, RoPE and SiLU follow the float order of llama.cpp's x86 (zen4) build, in both of its orders where
// it has two (repacked gemv, and vec_dot for 3D weights; kernels.Matrix.VecDot).
func Cases() []Case {
	tiny := func(arch string, t kernels.DType) modelgen.Options {
		o := modelgen.Tiny(arch, t)
		o.Layers = 3
		if arch == "llama" {
			o.Llama3Rope = true
		}
		return o
	}
	deepseek := func(style string, t kernels.DType) modelgen.Options {
		o, err := modelgen.DeepSeekTiny(style, t)
		if err != nil {
			panic(err)
		}
		return o
	}
	const dsVocab = "ggml-vocab-deepseek-v3.gguf"
	c := []Case{
		{"qwen2-f32", "ggml-vocab-qwen2.gguf", tiny("qwen2", kernels.F32), prompt, 5, 1e-4, "", false},
		{"qwen2-f16", "ggml-vocab-qwen2.gguf", tiny("qwen2", kernels.F16), prompt, 5, 1e-3, "", false},
		{"qwen2-q8_0", "ggml-vocab-qwen2.gguf", tiny("qwen2", kernels.Q8_0), prompt, 5, 5e-3, "", false},
		{"llama-f32", "ggml-vocab-llama-bpe.gguf", tiny("llama", kernels.F32), prompt, 5, 1e-4, "", false},
		{"llama-q8_0", "ggml-vocab-llama-bpe.gguf", tiny("llama", kernels.Q8_0), prompt, 5, 5e-3, "", false},
		{"deepseek2-v3-f32", dsVocab, deepseek("v3", kernels.F32), prompt, 5, 1e-4, "", false},
		{"deepseek2-v3-q8_0", dsVocab, deepseek("v3", kernels.Q8_0), prompt, 5, 5e-3, "", false},
		{"deepseek2-v2-lite-f32", dsVocab, deepseek("v2-lite", kernels.F32), prompt, 5, 1e-4, "", false},
		{"deepseek2-v2-lite-q8_0", dsVocab, deepseek("v2-lite", kernels.Q8_0), prompt, 5, 2e-2, "", false},
	}
	for _, arch := range []string{"qwen2", "llama", "deepseek2"} {
		for _, preset := range Presets {
			c = append(c, Case{Name: arch + "-" + strings.ToLower(preset), Vocab: "ggml-vocab-deepseek-coder.gguf",
				Options: quantShape(arch), Text: prompt, Top: 5, Tolerance: 5e-3, Preset: preset, Seq: true})
		}
	}
	return c
}

// Presets are the llama-quantize presets of the quantized parity cases; together they hold every block
// type wasmoe reads.
var Presets = []string{"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS"}

// quantShape is the F32 model the quantized cases start from: rows of 256 or 512 values (whole K-quant
// superblocks) where the architecture allows, so every preset's main type is used; the narrower
// deepseek2 tensors show llama-quantize's fallbacks.
func quantShape(arch string) modelgen.Options {
	o := modelgen.Options{Arch: arch, Type: kernels.F32, Layers: 2, Dim: 256, FFN: 512, Heads: 4, KVHeads: 2,
		Context: 512, Seed: 7}
	switch arch {
	case "llama":
		o.Llama3Rope = true
	case "deepseek2":
		o.KVHeads, o.RopeBase = 1, 10000
		o.DeepSeek = &modelgen.DeepSeekOptions{QLoRA: 256, KVLoRA: 256, NopeDim: 64, RopeDim: 32, ValueDim: 64,
			DenseLead: 1, Experts: 8, ExpertsUsed: 2, Shared: 1, ExpertFFN: 256, Sigmoid: true, WeightsNorm: true,
			WeightsScale: 2.5, YaRN: 40, MScaleAllDim: 1}
	}
	return o
}

// Load reads testdata/golden/NAME.json.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

// Compare checks our steps against the reference: the same tokens, and for every token in the reference's
// top-K our probability within tol (so ours should list more candidates than the reference). It returns the largest difference seen.
func Compare(ref []Step, ours []Step, tol float64) (float64, error) {
	if len(ref) != len(ours) {
		return 0, fmt.Errorf("%d positions, reference has %d", len(ours), len(ref))
	}
	worst := 0.0
	for i := range ref {
		if ref[i].Token != ours[i].Token {
			return worst, fmt.Errorf("pos %d: token %d, reference %d", i, ours[i].Token, ref[i].Token)
		}
		have := map[int32]float64{}
		for _, e := range ours[i].Top {
			have[int32(e[0])] = e[1]
		}
		for _, e := range ref[i].Top {
			p, ok := have[int32(e[0])]
			if !ok {
				return worst, fmt.Errorf("pos %d: token %d (reference probability %.6g) is not among our top %d", i, int32(e[0]), e[1], len(ours[i].Top))
			}
			d := math.Abs(p - e[1])
			worst = math.Max(worst, d)
			if d > tol {
				return worst, fmt.Errorf("pos %d: token %d has probability %.6g, reference %.6g (tolerance %g)", i, int32(e[0]), p, e[1], tol)
			}
		}
	}
	return worst, nil
}
