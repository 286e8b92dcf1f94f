package model

import (
	"slices"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// TestFork: a forked sequence continues exactly as the original would, and the two no longer share a
// cache: each gives the logits a fresh sequence with the same tokens gives.
func TestFork(t *testing.T) {
	ds, err := modelgen.DeepSeekTiny("v3", kernels.F32)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		o    modelgen.Options
	}{{"qwen2", modelgen.Tiny("qwen2", kernels.F32)}, {"deepseek2", ds}} {
		t.Run(c.name, func(t *testing.T) {
			m := tinyModel(t, c.o)
			p := kernels.NewPool(1)
			defer p.Close()
			prompt := []int32{3, 14, 15, 92}
			logitsOf := func(tokens []int32) []float32 {
				s := m.NewState(0)
				l, err := m.Forward(p, s, tokens, false)
				if err != nil {
					t.Fatal(err)
				}
				return slices.Clone(l)
			}
			s := m.NewState(0)
			if _, err := m.Forward(p, s, prompt, false); err != nil {
				t.Fatal(err)
			}
			f := m.Fork(s)
			a, _ := m.Forward(p, s, []int32{65}, false)
			a = slices.Clone(a)
			b, _ := m.Forward(p, f, []int32{35}, false)
			for _, chk := range []struct {
				got  []float32
				toks []int32
			}{{a, append(slices.Clone(prompt), 65)}, {b, append(slices.Clone(prompt), 35)}} {
				want := logitsOf(chk.toks)
				for i := range want {
					if d := want[i] - chk.got[i]; d > 1e-4 || d < -1e-4 {
						t.Fatalf("tokens %v: logit %d is %v, a fresh sequence gives %v", chk.toks, i, chk.got[i], want[i])
					}
				}
			}
		})
	}
}
