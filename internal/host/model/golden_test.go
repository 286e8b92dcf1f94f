package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/golden"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/host/quantize"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// TestLlamaCppParity evaluates llama.cpp's own token ids for each golden case and compares the next-token
// probabilities with llama.cpp's (testdata/golden, made by tools/goldens), on every kernel path this CPU has
// (the quantized cases, whose files must first be byte for byte llama-quantize's, on the best one).
func TestLlamaCppParity(t *testing.T) {
	prev := kernels.ISA()
	defer kernels.SetISA(prev)
	isas := kernels.ISAs()
	best := isas[len(isas)-1]
	for _, isa := range isas {
		t.Run(isa, func(t *testing.T) {
			if err := kernels.SetISA(isa); err != nil {
				t.Fatal(err)
			}
			pool := kernels.NewPool(2)
			defer pool.Close()
			for _, c := range golden.Cases() {
				if c.Preset != "" && isa != best {
					continue // quantized cases: every kernel set gives the same bits (kernels' tests), so run one
				}
				t.Run(c.Name, func(t *testing.T) {
					g, err := golden.Load(filepath.Join(testutil.Root(), "testdata", "golden", c.Name+".json"))
					if err != nil {
						t.Fatal(err)
					}
					path := filepath.Join(t.TempDir(), "m.gguf")
					if err := modelgen.WriteFile(c.Options, testutil.Vocab(t, c.Vocab), path); err != nil {
						t.Fatal(err)
					}
					if sum := testutil.SHA256File(t, path); sum != g.SHA256 {
						t.Fatalf("generated model %s differs from the golden one %s: regenerate with `go run ./tools/goldens`", sum, g.SHA256)
					}
					if c.Preset != "" {
						path = quantizeLikeLlama(t, path, c.Preset, g.Tensors)
					}
					m, err := Load(path)
					if err != nil {
						t.Fatal(err)
					}
					defer m.Close()
					tokens := make([]int32, len(g.Ref))
					for i, s := range g.Ref {
						tokens[i] = s.Token
					}
					steps, err := m.Eval(pool, tokens, 50)
					if err != nil {
						t.Fatal(err)
					}
					ours := make([]golden.Step, len(steps))
					for i, s := range steps {
						ours[i] = golden.Step{Pos: s.Pos, Token: s.Token, Top: s.Top}
					}
					worst, err := golden.Compare(g.Ref, ours, g.Tolerance)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("largest probability difference %.3g (tolerance %g)", worst, g.Tolerance)
				})
			}
		})
	}
}

// quantizeLikeLlama quantizes the model at path with preset and checks that every tensor has the type and
// the bytes of llama-quantize's file (want), so the reference ran on exactly the model we load. It returns
// the quantized file.
func quantizeLikeLlama(t *testing.T, path, preset string, want []golden.Tensor) string {
	t.Helper()
	p, err := quantize.ParsePreset(preset)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "q.gguf")
	if err := quantize.Run(context.Background(), quantize.Options{Input: path, Output: out, Preset: p}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Tensors) != len(want) {
		t.Fatalf("%d tensors, llama-quantize wrote %d", len(f.Tensors), len(want))
	}
	for i, w := range want {
		got := f.Tensors[i]
		sum := sha256.Sum256(got.Data)
		if got.Name != w.Name || got.Type.String() != w.Type || hex.EncodeToString(sum[:]) != w.SHA256 {
			t.Fatalf("tensor %d: %s %v differs from llama-quantize's %s %s", i, got.Name, got.Type, w.Name, w.Type)
		}
	}
	return out
}
