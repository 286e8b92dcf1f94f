package model

import (
	"math"
	"testing"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// With room for the dense matrices and only some of the routed experts, the dense matrices and a prefix of
// the experts (in layer order) get interleaved copies and the other experts keep their rows (per-head
// matrices marked VecDot, multiplied in vec_dot's order, get none); the logits are bit for bit those of
// the model with no copies.
func TestInterleaveWithinBudget(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	m := deepseekTiny(t, "v2-lite", kernels.Q8_0, nil)
	dense, experts := m.denseMatrices(), m.expertMatrices()
	for _, w := range append(dense, experts...) {
		w.Interleaved = nil
	}
	var denseNeed int64
	needs := make([]int, len(dense)) // 0 for a matrix MatMul would not read interleaved (VecDot, few rows)
	for i, w := range dense {
		needs[i] = kernels.InterleavedBytes(*w)
		denseNeed += int64(needs[i])
		if w.VecDot && needs[i] != 0 {
			t.Errorf("dense matrix %d is marked VecDot but would get an interleaved copy", i)
		}
	}
	if denseNeed == 0 {
		t.Skip("no interleaved kernels on this CPU")
	}
	logits := func() []float32 {
		out, err := m.Forward(pool, m.NewState(0), testTokens, true)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), out...)
	}
	want := logits()

	budget, fit := denseNeed, len(experts)/2
	for _, w := range experts[:fit] {
		budget += int64(kernels.InterleavedBytes(*w))
	}
	m.interleaveWithin(budget)
	for i, w := range dense {
		if (w.Interleaved != nil) != (needs[i] > 0) {
			t.Errorf("dense matrix %d (%d rows, VecDot %v): interleaved %v", i, w.Rows, w.VecDot, w.Interleaved != nil)
		}
	}
	for i, w := range experts {
		if (w.Interleaved != nil) != (i < fit) {
			t.Errorf("expert matrix %d of %d, %d fit: interleaved %v", i, len(experts), fit, w.Interleaved != nil)
		}
	}
	got := logits()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("logit %d: %v with copies, %v without", i, got[i], want[i])
		}
	}
}
