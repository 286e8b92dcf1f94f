package model

import (
	"path/filepath"
	"testing"

	"github.com/wasmoe/wasmoe/host/golden"
	"github.com/wasmoe/wasmoe/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/testutil"
	"github.com/wasmoe/wasmoe/kernels"
)

// TestLlamaCppParity evaluates llama.cpp's own token ids for each golden case and compares the next-token
// probabilities with llama.cpp's (testdata/golden, made by tools/goldens), on every kernel path this CPU has.
func TestLlamaCppParity(t *testing.T) {
	prev := kernels.ISA()
	defer kernels.SetISA(prev)
	for _, isa := range kernels.ISAs() {
		t.Run(isa, func(t *testing.T) {
			if err := kernels.SetISA(isa); err != nil {
				t.Fatal(err)
			}
			pool := kernels.NewPool(2)
			defer pool.Close()
			for _, c := range golden.Cases() {
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
