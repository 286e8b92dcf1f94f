package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// openSmallVocab opens the tiny Qwen2 model with the 32k deepseek-coder vocabulary: with a small output
// layer its steps take a fraction of a millisecond, far below the waits timing tests measure.
func openSmallVocab(t *testing.T, cfg Config) *Engine {
	t.Helper()
	return openModelVocab(t, cfg, modelgen.Tiny("qwen2", kernels.Q8_0), "ggml-vocab-deepseek-coder.gguf")
}

// firstTokens runs req n times, one after another, and returns how long each took to its first piece.
func firstTokens(t *testing.T, e *Engine, req Request, n int) []time.Duration {
	t.Helper()
	var out []time.Duration
	for range n {
		start := time.Now()
		var ttft time.Duration
		_, err := e.Generate(context.Background(), req, func(Piece) error {
			if ttft == 0 {
				ttft = time.Since(start)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ttft)
	}
	return out
}

// TestCoalesceOnlyWithRoom: a lone prompt waits coalesceQuiet for company while a running place is free,
// and not at all when it takes the last one (Parallel 1), since no later arrival could join its step. The
// small-vocabulary model computes the prompt in well under half of coalesceQuiet.
func TestCoalesceOnlyWithRoom(t *testing.T) {
	sp := DefaultSampling()
	sp.Temperature = 0
	req := Request{Prompt: []int32{1, 2, 3, 4}, MaxTokens: 1, Sampling: sp, IgnoreEOS: true}
	for _, c := range []struct {
		parallel int
		waits    bool
	}{{1, false}, {2, true}} {
		e := openSmallVocab(t, Config{Parallel: c.parallel, Context: 64})
		<-e.Warmed()
		firstTokens(t, e, req, 1) // the first request starts the guests' instances
		median := slices.Sorted(slices.Values(firstTokens(t, e, req, 21)))[10]
		if c.waits && median < coalesceQuiet || !c.waits && median >= coalesceQuiet/2 {
			t.Errorf("Parallel %d: a lone request's median time to first token is %v (coalesceQuiet %v)",
				c.parallel, median, coalesceQuiet)
		}
		e.Close()
	}
}
