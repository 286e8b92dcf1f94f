package model

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// tinyModel writes a random tiny model with the deepseek-coder vocabulary (32k tokens) and loads it.
func tinyModel(t *testing.T, o modelgen.Options) *Model {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := modelgen.WriteFile(o, testutil.Vocab(t, "ggml-vocab-deepseek-coder.gguf"), path); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

var testTokens = []int32{1, 520, 31000, 7, 7, 9999, 42, 17, 3000, 12, 5, 800, 2}

// TestForwardMatchesReference compares the forward pass, batched and token by token, with the float64
// reference on every architecture and weight type. Probabilities must agree to the tolerance the weight
// type allows (activations are quantized like llama.cpp for Q8_0, rounded to the type for F16/BF16).
func TestForwardMatchesReference(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	cases := []struct {
		name string
		o    modelgen.Options
		tol  float64
	}{
		{"qwen2-f32", modelgen.Tiny("qwen2", kernels.F32), 2e-5},
		{"llama-f32", withLlama3(modelgen.Tiny("llama", kernels.F32)), 2e-5},
		{"llama-f32-tied", tied(modelgen.Tiny("llama", kernels.F32)), 2e-5},
		{"qwen2-f32-linear-rope", linear(modelgen.Tiny("qwen2", kernels.F32)), 2e-5},
		{"qwen2-f16", modelgen.Tiny("qwen2", kernels.F16), 5e-3},
		{"qwen2-bf16", modelgen.Tiny("qwen2", kernels.BF16), 3e-2},
		{"llama-q8_0", modelgen.Tiny("llama", kernels.Q8_0), 2e-2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := tinyModel(t, c.o)
			ref := refForward(t, m, testTokens)
			check := func(what string, pos int, got []float32) {
				t.Helper()
				want := softmax64(ref[pos])
				have := softmax64(f64(got))
				worst := 0.0
				for i := range want {
					worst = math.Max(worst, math.Abs(want[i]-have[i]))
				}
				if worst > c.tol {
					t.Fatalf("%s pos %d: max probability difference %.3g > %.3g", what, pos, worst, c.tol)
				}
			}
			// Whole prompt in one batch, logits at every position.
			s := m.NewState(0)
			all, err := m.Forward(pool, s, testTokens, true)
			if err != nil {
				t.Fatal(err)
			}
			for pos := range testTokens {
				check("batch", pos, all[pos*m.Vocab:(pos+1)*m.Vocab])
			}
			// A prefix batch, then one token at a time (the decode path).
			s = m.NewState(0)
			if _, err := m.Forward(pool, s, testTokens[:5], false); err != nil {
				t.Fatal(err)
			}
			for pos := 5; pos < len(testTokens); pos++ {
				got, err := m.Forward(pool, s, testTokens[pos:pos+1], false)
				if err != nil {
					t.Fatal(err)
				}
				check("decode", pos, got)
			}
		})
	}
}

func withLlama3(o modelgen.Options) modelgen.Options { o.Llama3Rope = true; return o }
func linear(o modelgen.Options) modelgen.Options     { o.LinearRope = 4; return o }
func tied(o modelgen.Options) modelgen.Options       { o.TiedOutput = true; return o }

func TestForwardErrors(t *testing.T) {
	pool := kernels.NewPool(1)
	defer pool.Close()
	m := tinyModel(t, modelgen.Tiny("qwen2", kernels.F32))
	s := m.NewState(4)
	if _, err := m.Forward(pool, s, []int32{int32(m.Vocab)}, false); err == nil {
		t.Error("token id past the vocabulary accepted")
	}
	if _, err := m.Forward(pool, s, []int32{1, 2, 3, 4, 5}, false); err == nil {
		t.Error("prompt longer than the context accepted")
	}
}

// TestDecodeAllocs checks the decode step allocates nothing once the state has grown, for dense and MLA
// models.
func TestDecodeAllocs(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	for _, o := range []modelgen.Options{modelgen.Tiny("qwen2", kernels.Q8_0), modelgen.Tiny("deepseek2", kernels.Q8_0)} {
		m := tinyModel(t, o)
		s := m.NewState(0)
		m.Forward(pool, s, testTokens, false)
		tok := []int32{5}
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := m.Forward(pool, s, tok, false); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 0 {
			t.Errorf("%s: decode step allocates %.1f times", o.Arch, allocs)
		}
	}
}
