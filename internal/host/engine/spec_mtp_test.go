package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// mtpOptions is the tiny DeepSeek-V3-style model with one MTP block.
func mtpOptions(t *testing.T) modelgen.Options {
	t.Helper()
	o, err := modelgen.DeepSeekTiny("v3", kernels.Q8_0)
	if err != nil {
		t.Fatal(err)
	}
	d := *o.DeepSeek
	d.MTP = 1
	o.DeepSeek = &d
	return o
}

// TestSpeculationMTP: with the model's MTP block drafting (node default and per request), every answer
// (tokens, text, choices, finish), greedy or sampled with a seed, forks of n > 1 included, is the one the
// engine gives without speculation, many at once and alone; drafts were both kept and rejected; a KV
// cache far too small preempts and still answers the same; a repeated prompt hits the prefix cache and
// answers the same; a cancelled request lets go of every block. A model without an MTP block refuses the
// mode, on the node and per request.
func TestSpeculationMTP(t *testing.T) {
	const vocab = "ggml-vocab-deepseek-coder.gguf"
	o := mtpOptions(t)
	plain := openModelVocab(t, Config{Parallel: 10, Context: 96}, o, vocab)
	reqs := specRequests(rand.New(rand.NewPCG(11, 12)), 10, plain.Info().VocabSize)
	want := together(plain, reqs)
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"mtp", Config{Spec: SpecMTP, Parallel: 10, Context: 96}},
		{"mtp tiny cache", Config{Spec: SpecMTP, Parallel: 10, KVCacheTokens: 112, Context: 96}},
	} {
		e := openModelVocab(t, c.cfg, o, vocab)
		for i, got := range together(e, reqs) {
			sameAnswer(t, fmt.Sprintf("%s request %d", c.name, i), withoutDrafts(got), want[i])
		}
		for i, req := range reqs[:3] {
			a := generate(context.Background(), e, req)
			sameAnswer(t, fmt.Sprintf("%s request %d alone", c.name, i), withoutDrafts(a), want[i])
		}
		idle(t, e)
		st := e.Stats()
		if st.SpecAcceptedTokens == 0 || st.SpecAcceptedTokens == st.SpecDraftTokens {
			t.Fatalf("%s: %d of %d drafted tokens accepted: the test does not test verification", c.name,
				st.SpecAcceptedTokens, st.SpecDraftTokens)
		}
		if c.cfg.KVCacheTokens > 0 && st.Preemptions == 0 {
			t.Fatalf("%s: no preemption", c.name)
		}
		t.Logf("%s: %d drafts, %d of %d tokens accepted, %d preemptions", c.name, st.SpecDrafts, st.SpecAcceptedTokens,
			st.SpecDraftTokens, st.Preemptions)
	}

	e := openModelVocab(t, Config{}, o, vocab) // the mode per request, on a node that does not speculate
	req := reqs[1]
	req.Speculation.Mode = SpecMTP
	req.Prompt = append(slices.Repeat(req.Prompt[:3], 12), req.Prompt...)
	cold, warm := generate(context.Background(), e, req), generate(context.Background(), e, req)
	if warm.res.CachedTokens == 0 || warm.res.DraftTokens == 0 || warm.res.AcceptedDraftTokens == 0 {
		t.Fatalf("a repeated prompt: %d cached tokens, %d of %d drafted tokens accepted", warm.res.CachedTokens,
			warm.res.AcceptedDraftTokens, warm.res.DraftTokens)
	}
	sameAnswer(t, "prefix-cache hit", withoutDrafts(warm), withoutDrafts(cold))
	req.Speculation.Mode = ""
	sameAnswer(t, "prefix-cache hit without drafts", generate(context.Background(), e, req), withoutDrafts(cold))

	ctx, cancel := context.WithCancel(context.Background())
	req.Speculation.Mode, req.MaxTokens, req.Prompt = SpecMTP, 0, req.Prompt[:20]
	_, err := e.Generate(ctx, req, func(p Piece) error {
		if p.Token >= 0 {
			cancel()
		}
		return nil
	})
	if err == nil {
		t.Fatal("a cancelled request ended without an error")
	}
	idle(t, e) // every block is free again

	if _, err := openWith(t, Config{ModelPath: writeModel(t, modelgen.Tiny("deepseek2", kernels.Q8_0), vocab), Spec: SpecMTP}); err == nil ||
		!strings.Contains(err.Error(), "MTP block") {
		t.Fatalf("--spec mtp on a model without an MTP block: %v", err)
	}
}
