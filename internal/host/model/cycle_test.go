package model

import (
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// TestCycleModel checks modelgen's predictable model (Options.Cycle, the speculative-decoding benchmark
// fixture): on both dense architectures, in a wide and a 4-bit weight type, greedy decoding after a prompt
// of random tokens walks the last token's cycle, so drafts made from any copy of the weights agree.
func TestCycleModel(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	for _, arch := range []string{"qwen2", "llama"} {
		for _, typ := range []kernels.DType{kernels.Q8_0, kernels.Q4_K} {
			t.Run(arch+"-"+typ.String(), func(t *testing.T) {
				o := modelgen.Options{Arch: arch, Type: typ, Layers: 4, Dim: 256, FFN: 512, Heads: 4, KVHeads: 2,
					Context: 256, Seed: 3, Cycle: 16}
				m := tinyModel(t, o)
				s := m.NewState(0)
				tok := testTokens
				for step := range 40 {
					logits, err := m.Forward(pool, s, tok, false)
					if err != nil {
						t.Fatal(err)
					}
					last := logits[len(logits)-m.Vocab:]
					got := argmax(last)
					want := int32(modelgen.CycleNext(int(tok[len(tok)-1]), o.Cycle, m.Vocab))
					if got != want {
						t.Fatalf("step %d after token %d: greedy token %d, the cycle's next is %d", step, tok[len(tok)-1], got, want)
					}
					tok = []int32{got}
				}
			})
		}
	}
	// The last group of a vocabulary that Cycle does not divide is shorter.
	if got := modelgen.CycleNext(99, 16, 100); got != 96 {
		t.Errorf("CycleNext(99, 16, 100) = %d, want 96 (the group 96..99)", got)
	}
}
