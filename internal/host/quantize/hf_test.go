package quantize

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/model"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// TestHFInput quantizes Hugging Face directories (written by modelgen from a GGUF model, as the converter
// would read them back: BF16 (Llama's permuted q/k, Qwen2), and DeepSeek-V3's FP8 with block scales) and the GGUF model itself to Q8_0,
// and checks the two outputs agree: the same tensors in the same order with the same types and shapes
// (so the HF path names, stacks, permutes and splits as llama.cpp's converter does), values within the
// HF dtype's rounding, and the same next-token probabilities.
func TestHFInput(t *testing.T) {
	v3, _ := modelgen.DeepSeekTiny("v3", kernels.F32)
	llama := modelgen.Tiny("llama", kernels.F32)
	llama.Llama3Rope = true
	tokDir := filepath.Dir(testutil.HFTokenizer(t, "deepseek-v3"))
	vocab := testutil.Vocab(t, "ggml-vocab-deepseek-v3.gguf")
	p, _ := ParsePreset("Q8_0")
	pool := kernels.NewPool(2)
	defer pool.Close()
	for _, c := range []struct {
		name, dtype string
		o           modelgen.Options
		rel, prob   float64
	}{
		{"deepseek2-v3-fp8", "fp8", v3, 0.08, 0.1},
		{"llama-bf16", "bf16", llama, 0.02, 0.03},
		{"qwen2-bf16", "bf16", modelgen.Tiny("qwen2", kernels.F32), 0.02, 0.03},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "m.gguf")
			if err := modelgen.WriteFile(c.o, vocab, src); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(src)
			if err != nil {
				t.Fatal(err)
			}
			hf := filepath.Join(dir, "hf")
			err = modelgen.WriteHF(f, hf, c.dtype, tokDir)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			a, b := filepath.Join(dir, "a.gguf"), filepath.Join(dir, "b.gguf")
			for _, io := range [][2]string{{src, a}, {hf, b}} {
				if err := Run(context.Background(), Options{Input: io[0], Output: io[1], Preset: p}); err != nil {
					t.Fatal(err)
				}
			}
			fa, err := gguf.Open(a)
			if err != nil {
				t.Fatal(err)
			}
			defer fa.Close()
			fb, err := gguf.Open(b)
			if err != nil {
				t.Fatal(err)
			}
			defer fb.Close()
			if len(fa.Tensors) != len(fb.Tensors) {
				t.Fatalf("HF gives %d tensors, GGUF %d", len(fb.Tensors), len(fa.Tensors))
			}
			for i := range fa.Tensors {
				ta, tb := &fa.Tensors[i], &fb.Tensors[i]
				if ta.Name != tb.Name || ta.Type != tb.Type || fmt.Sprint(ta.Dims) != fmt.Sprint(tb.Dims) {
					t.Fatalf("tensor %d: HF %s %s %v, GGUF %s %s %v", i, tb.Name, tb.Type, tb.Dims, ta.Name, ta.Type, ta.Dims)
				}
				s := ggufSource(ta)
				e, err := rmse(&s, tb)
				if err != nil {
					t.Fatal(err)
				}
				zero := &gguf.Tensor{Dims: ta.Dims, Type: kernels.F32, Data: make([]byte, 4*elements(ta.Dims))}
				rms, _ := rmse(&s, zero)
				if rms > 0 && e/rms > c.rel {
					t.Errorf("%s: HF and GGUF differ by %.3g relative RMSE (bound %g)", ta.Name, e/rms, c.rel)
				}
			}
			ma, err := model.Load(a)
			if err != nil {
				t.Fatal(err)
			}
			defer ma.Close()
			mb, err := model.Load(b)
			if err != nil {
				t.Fatal(err)
			}
			defer mb.Close()
			tokens := []int32{0, 520, 31000, 7, 9999, 42}
			want, err := ma.Eval(pool, tokens, 5)
			if err != nil {
				t.Fatal(err)
			}
			got, err := mb.Eval(pool, tokens, 50)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i, w := range want {
				have := map[int32]float64{}
				for _, e := range got[i].Top {
					have[int32(e[0])] = e[1]
				}
				for _, e := range w.Top {
					worst = math.Max(worst, math.Abs(have[int32(e[0])]-e[1]))
				}
			}
			t.Logf("largest probability difference %.3g", worst)
			if worst > c.prob {
				t.Errorf("HF-quantized model differs from the GGUF-quantized one by %.3g", worst)
			}
		})
	}
}
