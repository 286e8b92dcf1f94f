package engine

import (
	"context"
	"math"
	"sort"
	"sync"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/model"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// Sampling of the statistical test: top-k 4 at temperature 1, three tokens after a fixed prompt.
const (
	statTopK    = 4
	statTokens  = 3
	statSamples = 400
)

// exactTriples is the probability of each run of statTokens tokens after prompt when each is drawn from
// the softmax of the model's statTopK best logits: the truth the sampled runs are tested against,
// computed with the model's own forward pass and no sampler.
func exactTriples(t *testing.T, m *model.Model, prompt []int32) map[[statTokens]int32]float64 {
	t.Helper()
	p := kernels.NewPool(1)
	defer p.Close()
	out := map[[statTokens]int32]float64{}
	var walk func(ctx []int32, run [statTokens]int32, depth int, prob float64)
	walk = func(ctx []int32, run [statTokens]int32, depth int, prob float64) {
		if depth == statTokens {
			out[run] += prob
			return
		}
		st := m.NewState(len(ctx) + 1)
		logits, err := m.Forward(p, st, ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int32, len(logits))
		for i := range ids {
			ids[i] = int32(i)
		}
		sort.Slice(ids, func(a, b int) bool { return logits[ids[a]] > logits[ids[b]] })
		ids = ids[:statTopK]
		var z float64
		for _, id := range ids {
			z += math.Exp(float64(logits[id] - logits[ids[0]]))
		}
		for _, id := range ids {
			run[depth] = id
			walk(append(ctx[:len(ctx):len(ctx)], id), run, depth+1, prob*math.Exp(float64(logits[id]-logits[ids[0]]))/z)
		}
	}
	walk(prompt, [statTokens]int32{}, 0, 1)
	return out
}

// chiSquare is Pearson's statistic of counts (n samples) against the probabilities want, with the runs
// whose expected count is under 5 pooled into one cell, and its degrees of freedom.
func chiSquare(counts map[[statTokens]int32]int, want map[[statTokens]int32]float64, n int) (stat float64, df int) {
	var restExp, restObs float64
	cells := 0
	for run, p := range want {
		e, o := p*float64(n), float64(counts[run])
		if e < 5 {
			restExp, restObs = restExp+e, restObs+o
			continue
		}
		stat += (o - e) * (o - e) / e
		cells++
	}
	for run, c := range counts {
		if _, ok := want[run]; !ok { // a run the sampler cannot draw
			restObs += float64(c)
		}
	}
	if restExp > 0 {
		stat += (restObs - restExp) * (restObs - restExp) / restExp
		cells++
	} else if restObs > 0 {
		return math.Inf(1), cells
	}
	return stat, cells - 1
}

// chiSquareCritical is the chi-square distribution's 0.999 quantile for df degrees of freedom (the
// Wilson–Hilferty approximation; z = 3.09 is the normal's 0.999 quantile).
func chiSquareCritical(df int) float64 {
	d := float64(df)
	c := 1 - 2/(9*d) + 3.09*math.Sqrt(2/(9*d))
	return d * c * c * c
}

// sampleRuns generates statSamples runs after prompt, with seeds 1, 2, …, and counts each run.
func sampleRuns(t *testing.T, e *Engine, prompt []int32) map[[statTokens]int32]int {
	t.Helper()
	counts := map[[statTokens]int32]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for seed := range statSamples {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			req := Request{Prompt: prompt, MaxTokens: statTokens, IgnoreEOS: true,
				Sampling: SamplingParams{Temperature: 1, TopK: statTopK, TopP: 1, RepeatPenalty: 1, Seed: uint64(seed + 1)}}
			a := generate(context.Background(), e, req)
			if a.err != nil || len(a.ids) != 1 || len(a.ids[0]) != statTokens {
				t.Errorf("seed %d: %v %v", seed+1, a.ids, a.err)
				return
			}
			mu.Lock()
			counts[[statTokens]int32(a.ids[0])]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return counts
}

// TestSpeculationDistribution: with a draft model drafting (the model itself, so that drafts are often
// right and often wrong), the runs of three tokens sampled over many seeds follow the distribution the
// model's forward pass gives (chi-square at the 0.001 level); and the test has the power to see a wrong
// verification rule, which keeps every draft's row whatever was drawn, fail it.
func TestSpeculationDistribution(t *testing.T) {
	path := writeModel(t, modelgen.Tiny("qwen2", kernels.Q8_0), "ggml-vocab-deepseek-coder.gguf")
	m, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	prompt := []int32{100, 200, 300, 400}
	want := exactTriples(t, m, prompt)
	e, err := openWith(t, Config{ModelPath: path, DraftModel: path, SpecTokens: 2, Parallel: 16})
	if err != nil {
		t.Fatal(err)
	}
	stat, df := chiSquare(sampleRuns(t, e, prompt), want, statSamples)
	st := e.Stats()
	t.Logf("right rule: chi-square %.1f on %d degrees of freedom (critical %.1f); %d of %d drafted tokens kept",
		stat, df, chiSquareCritical(df), st.SpecAcceptedTokens, st.SpecDraftTokens)
	if stat > chiSquareCritical(df) {
		t.Fatalf("speculative sampling does not follow the model's distribution: chi-square %.1f on %d degrees of freedom", stat, df)
	}
	if st.SpecAcceptedTokens == 0 || st.SpecAcceptedTokens == st.SpecDraftTokens {
		t.Fatalf("%d of %d drafted tokens kept: the test needs both outcomes", st.SpecAcceptedTokens, st.SpecDraftTokens)
	}

	right := keepDraft
	keepDraft = func(int32, int32) bool { return true }
	defer func() { keepDraft = right }()
	stat, df = chiSquare(sampleRuns(t, e, prompt), want, statSamples)
	t.Logf("wrong rule: chi-square %.1f on %d degrees of freedom", stat, df)
	if stat <= chiSquareCritical(df) {
		t.Fatalf("keeping every draft passed the test (chi-square %.1f on %d degrees of freedom): it has no power", stat, df)
	}
}
