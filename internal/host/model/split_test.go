package model

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// TestSplitModelLogits loads internal/host/gguf's split fixture (a tiny qwen2 model and the 3 parts llama.cpp's
// llama-gguf-split cut it into; see tools/ggmlvectors/split.sh) from its first part and from the unsplit
// file: the logits of every position must be bit for bit the same.
func TestSplitModelLogits(t *testing.T) {
	dir := testutil.SplitModel(t)
	pool := kernels.NewPool(2)
	defer pool.Close()
	tokens := []int32{1, 5, 63, 7, 7, 0, 42, 30}
	logits := func(name string) []float32 {
		m, err := Load(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if m.Vocab != 64 || len(m.Layers) != 2 {
			t.Fatalf("%s: vocab %d, %d layers", name, m.Vocab, len(m.Layers))
		}
		out, err := m.Forward(pool, m.NewState(len(tokens)), tokens, true)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), out...)
	}
	whole, split := logits("tiny.gguf"), logits("tiny-00001-of-00003.gguf")
	if len(whole) != len(tokens)*64 || len(split) != len(whole) {
		t.Fatalf("%d and %d logits", len(whole), len(split))
	}
	spread := 0.0
	for i := range whole {
		if math.Float32bits(whole[i]) != math.Float32bits(split[i]) {
			t.Fatalf("logit %d (position %d, token %d): split %g, whole %g", i, i/64, i%64, split[i], whole[i])
		}
		spread = max(spread, math.Abs(float64(whole[i]-whole[i%64])))
	}
	if spread == 0 {
		t.Fatal("every position has the same logits: the comparison shows nothing")
	}
}
