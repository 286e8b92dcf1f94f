package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// specRequests are mixedRequests with every sampler transform in some of them (penalties, min-p, top-p,
// logit_bias) and a loop in each prompt, whose tokens a logit_bias favours in all but the first quarter:
// the answers then repeat themselves, which prompt lookup drafts from and a draft model learns nothing of.
func specRequests(r *rand.Rand, n, vocab int) []Request {
	reqs := mixedRequests(r, n, vocab)
	for i := range reqs {
		req := &reqs[i]
		req.MaxTokens += 10
		loop := slices.Clone(req.Prompt[:min(3, len(req.Prompt))])
		for range 3 {
			req.Prompt = append(req.Prompt, loop...)
		}
		if i%4 > 0 {
			req.Sampling.LogitBias = map[int32]float32{}
			for _, t := range loop {
				req.Sampling.LogitBias[t] = 25
			}
		}
		switch i % 4 {
		case 1:
			req.Sampling.RepeatPenalty, req.Sampling.PresencePenalty, req.Sampling.FrequencyPenalty = 1.3, 0.5, 0.4
		case 2:
			req.Sampling.MinP, req.Sampling.TopP = 0.05, 0.9
		}
	}
	return reqs
}

// withoutDrafts is a's answer with the speculation counts cleared, to compare with a plain run's.
func withoutDrafts(a answer) answer {
	a.res.DraftTokens, a.res.AcceptedDraftTokens = 0, 0
	return a
}

// TestSpeculationSameTokens: with prompt lookup and with a draft model (a close copy of the model, and an
// unrelated one), every request's answer (tokens, text, choices, finish), greedy or sampled with a seed,
// is the one the engine gives without speculation, alone or many at once, on each architecture. Drafted
// tokens must have been both accepted and rejected, or the test would not test both ways a verification
// goes.
func TestSpeculationSameTokens(t *testing.T) {
	for _, arch := range []string{"qwen2", "llama", "deepseek2"} {
		t.Run(arch, func(t *testing.T) {
			const vocab = "ggml-vocab-deepseek-coder.gguf" // a small output layer keeps the test fast
			o := modelgen.Tiny(arch, kernels.Q8_0)
			plain := openModelVocab(t, Config{Parallel: 4}, o, vocab)
			reqs := specRequests(rand.New(rand.NewPCG(5, 6)), 8, plain.Info().VocabSize)
			want := together(plain, reqs)
			close, unrelated := modelgen.Tiny(arch, kernels.F32), modelgen.Tiny("qwen2", kernels.Q8_0)
			unrelated.Seed = 7
			for _, c := range []struct {
				name string
				cfg  Config
			}{
				{"ngram", Config{Spec: SpecNgram, Parallel: 4}},
				{"draft", Config{DraftModel: writeModel(t, close, vocab), Parallel: 4}},
				{"unrelated draft", Config{DraftModel: writeModel(t, unrelated, vocab), SpecTokens: 3, Parallel: 16, BatchTokens: 9}},
			} {
				e := openModelVocab(t, c.cfg, o, vocab)
				got := together(e, reqs)
				for i := range reqs {
					sameAnswer(t, fmt.Sprintf("%s request %d", c.name, i), withoutDrafts(got[i]), want[i])
				}
				for i, req := range reqs[:3] {
					a := generate(context.Background(), e, req)
					sameAnswer(t, fmt.Sprintf("%s request %d alone", c.name, i), withoutDrafts(a), want[i])
				}
				st := e.Stats()
				if st.SpecAcceptedTokens == 0 || st.SpecAcceptedTokens == st.SpecDraftTokens {
					t.Fatalf("%s: %d of %d drafted tokens accepted: the test does not test verification", c.name,
						st.SpecAcceptedTokens, st.SpecDraftTokens)
				}
				t.Logf("%s: %d drafts, %d of %d tokens accepted", c.name, st.SpecDrafts, st.SpecAcceptedTokens, st.SpecDraftTokens)
				idle(t, e)
			}
		})
	}
}

// TestSpeculationUsage: a request's Result counts the tokens drafted for it and those accepted, and a
// request may turn speculation off or pick another mode than the engine's.
func TestSpeculationUsage(t *testing.T) {
	e := openModel(t, Config{Spec: SpecNgram}, modelgen.Tiny("qwen2", kernels.Q8_0))
	// greedy with a bias that makes token 11 the answer: prompt lookup then drafts 11s, which are kept
	req := Request{Prompt: []int32{11, 12, 13, 14}, MaxTokens: 30, IgnoreEOS: true,
		Sampling: SamplingParams{LogitBias: map[int32]float32{11: 100}}}
	a := generate(context.Background(), e, req)
	if a.err != nil || a.res.AcceptedDraftTokens == 0 || a.res.AcceptedDraftTokens > a.res.DraftTokens {
		t.Fatalf("ngram on a loop: %d drafted, %d accepted (%v)", a.res.DraftTokens, a.res.AcceptedDraftTokens, a.err)
	}
	idle(t, e) // the scheduler counts a draft when the worker hands its sequence back
	st := e.Stats()
	if st.SpecDraftTokens != int64(a.res.DraftTokens) || st.SpecAcceptedTokens != int64(a.res.AcceptedDraftTokens) {
		t.Fatalf("stats %+v, the request's %d drafted %d accepted", st, a.res.DraftTokens, a.res.AcceptedDraftTokens)
	}
	req.Speculation.Mode = SpecOff
	if b := generate(context.Background(), e, req); b.res.DraftTokens != 0 || !slices.Equal(b.ids[0], a.ids[0]) {
		t.Fatalf("speculation off: %d drafted, tokens %v, want none and %v", b.res.DraftTokens, b.ids, a.ids)
	}
	for _, c := range []struct {
		sp   Speculation
		want string
	}{
		{Speculation{Mode: "lookahead"}, "unknown speculative mode"},
		{Speculation{Mode: SpecDraft}, "needs a draft model"},
		{Speculation{Mode: SpecMTP}, "MTP block"},
		{Speculation{Mode: SpecNgram, MaxTokens: MaxSpecTokens + 1}, "speculative tokens"},
	} {
		req.Speculation = c.sp
		if _, err := e.Generate(context.Background(), req, func(Piece) error { return nil }); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%+v: error %v, want one saying %q", c.sp, err, c.want)
		}
	}
}

// TestDraftModelVocabulary: a draft model with another tokenizer is refused, naming both files.
func TestDraftModelVocabulary(t *testing.T) {
	draft := writeModel(t, modelgen.Tiny("qwen2", kernels.Q8_0), "ggml-vocab-deepseek-coder.gguf")
	o := modelgen.Tiny("qwen2", kernels.Q8_0)
	target := writeTiny(t, o)
	_, err := openWith(t, Config{ModelPath: target, DraftModel: draft})
	if err == nil || !strings.Contains(err.Error(), draft) || !strings.Contains(err.Error(), target) {
		t.Fatalf("a draft model with another vocabulary: %v, want an error naming %s and %s", err, draft, target)
	}
}

// TestAdapt: the draft length grows by one on full acceptance, falls to one past the accepted tokens
// (and by at least one) on a rejection, and stays within [1, max]; a rejected single draft pauses drafting
// for 1, 3, 7, … steps (up to maxSpecPause) until a draft is kept again.
func TestAdapt(t *testing.T) {
	sp := specState{max: 6, k: 3}
	for _, c := range []struct{ proposed, accepted, k, pause int }{
		{3, 3, 4, 0}, {4, 4, 5, 0}, {5, 5, 6, 0}, {6, 6, 6, 0}, {6, 2, 3, 0}, {3, 2, 2, 0}, {2, 0, 1, 0}, {1, 0, 1, 1},
		{1, 0, 1, 3}, {1, 0, 1, 7}, {1, 0, 1, 15}, {1, 0, 1, 31}, {1, 0, 1, 32}, {1, 0, 1, 32}, {0, 0, 1, 32}, {1, 1, 2, 32},
		{2, 0, 1, 32}, {1, 0, 1, 1},
	} {
		sp.adapt(c.proposed, c.accepted)
		if sp.k != c.k || sp.pause != c.pause {
			t.Fatalf("after %d of %d accepted: k = %d, pause %d; want %d, %d", c.accepted, c.proposed, sp.k, sp.pause, c.k, c.pause)
		}
	}
}

// TestLookup: prompt lookup proposes what followed the latest earlier occurrence of the longest recurring
// suffix, and goes on around a loop.
func TestLookup(t *testing.T) {
	for _, c := range []struct {
		ctx  []int32
		k    int
		want []int32
	}{
		{[]int32{1, 2, 3, 9, 1, 2, 3, 8, 5, 1, 2, 3}, 2, []int32{8, 5}},       // the latest of two matches
		{[]int32{7, 1, 2, 3, 4, 0, 2, 3, 5, 9, 1, 2, 3}, 3, []int32{4, 0, 2}}, // the longest suffix wins (1 2 3 over 2 3)
		{[]int32{5, 6, 5, 6, 5}, 4, []int32{6, 5, 6, 5}},                      // a loop of period 2
		{[]int32{1, 2, 3, 4}, 3, nil},                                         // nothing recurs
		{[]int32{4, 4}, 3, nil},                                               // one token is not a match
		{[]int32{4, 4, 4}, 3, []int32{4, 4, 4}},
	} {
		if got := lookup(nil, c.ctx, c.k); !slices.Equal(got, c.want) {
			t.Fatalf("lookup(%v, %d) = %v, want %v", c.ctx, c.k, got, c.want)
		}
	}
}

// writeModel writes a random-weight model with the tokenizer of a testdata/vocab file and returns its path.
func writeModel(t *testing.T, o modelgen.Options, vocab string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := modelgen.WriteFile(o, testutil.Vocab(t, vocab), path); err != nil {
		t.Fatal(err)
	}
	return path
}

// openWith opens an engine of cfg (its ModelPath set) with the built-in guests.
func openWith(t *testing.T, cfg Config) (*Engine, error) {
	t.Helper()
	rt, err := wasm.NewRuntime(context.Background(), wasm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Runtime, cfg.TokenizerWasm, cfg.SamplerWasm = rt, builtin.Tokenizer, builtin.Sampler
	e, err := Open(cfg)
	if err == nil {
		t.Cleanup(func() { e.Close() })
	}
	return e, err
}

// TestSpeculationInvariants: with speculation on, the scheduler's guarantees hold: a KV cache far too
// small preempts and recomputes sequences and every answer is still the plain one; a repeated prompt hits
// the prefix cache and answers the same; a cancelled request lets go of every block, the draft model's
// included.
func TestSpeculationInvariants(t *testing.T) {
	const vocab = "ggml-vocab-deepseek-coder.gguf"
	o := modelgen.Tiny("qwen2", kernels.Q8_0)
	draft := writeModel(t, modelgen.Tiny("qwen2", kernels.F32), vocab)
	plain := openModelVocab(t, Config{Parallel: 10, Context: 96}, o, vocab)
	reqs := specRequests(rand.New(rand.NewPCG(7, 8)), 10, plain.Info().VocabSize)
	want := together(plain, reqs)
	for _, cfg := range []Config{{Spec: SpecNgram}, {DraftModel: draft}} {
		cfg.Parallel, cfg.KVCacheTokens, cfg.Context = 10, 112, 96
		small := openModelVocab(t, cfg, o, vocab)
		for i, got := range together(small, reqs) {
			sameAnswer(t, fmt.Sprintf("%s request %d", cfg.Spec+cfg.DraftModel, i), withoutDrafts(got), want[i])
		}
		if st := small.Stats(); st.Preemptions == 0 || st.SpecAcceptedTokens == 0 {
			t.Fatalf("%+v: %d preemptions, %d drafted tokens accepted: the test does not test both", cfg, st.Preemptions, st.SpecAcceptedTokens)
		}
		idle(t, small)
		if n := small.Stats().DraftKVBlocksUsed; n != 0 {
			t.Fatalf("the draft model's cache holds %d blocks after the last request", n)
		}
	}

	e := openModelVocab(t, Config{DraftModel: draft}, o, vocab)
	req := reqs[1]
	req.Prompt = append(slices.Repeat(req.Prompt[:3], 12), req.Prompt...)
	cold, warm := generate(context.Background(), e, req), generate(context.Background(), e, req)
	if warm.res.CachedTokens == 0 || warm.res.AcceptedDraftTokens == 0 {
		t.Fatalf("a repeated prompt: %d cached tokens, %d drafted tokens accepted", warm.res.CachedTokens, warm.res.AcceptedDraftTokens)
	}
	sameAnswer(t, "prefix-cache hit", withoutDrafts(warm), withoutDrafts(cold))

	ctx, cancel := context.WithCancel(context.Background())
	req.MaxTokens, req.Prompt = 0, req.Prompt[:20]
	_, err := e.Generate(ctx, req, func(p Piece) error {
		if p.Token >= 0 {
			cancel()
		}
		return nil
	})
	if err == nil {
		t.Fatal("a cancelled request ended without an error")
	}
	idle(t, e)
	if n := e.Stats().DraftKVBlocksUsed; n != 0 {
		t.Fatalf("after a cancel the draft model's cache holds %d blocks", n)
	}
}

// TestSpeculationPolicies: under the built-in policy — stop strings, banned words (which take tokens back
// and splice), a regex (which masks) — every answer with prompt lookup or a draft model drafting is the
// answer without speculation, greedy or sampled: the policy sees and steers each verified position in
// order, as it does one token a step.
func TestSpeculationPolicies(t *testing.T) {
	const vocab = "ggml-vocab-deepseek-coder.gguf"
	o := modelgen.Tiny("qwen2", kernels.Q8_0)
	plain := openModelVocab(t, Config{}, o, vocab)
	engines := map[string]*Engine{"ngram": openModelVocab(t, Config{Spec: SpecNgram}, o, vocab),
		"draft": openModelVocab(t, Config{DraftModel: writeModel(t, modelgen.Tiny("qwen2", kernels.F32), vocab)}, o, vocab)}
	reqs := specRequests(rand.New(rand.NewPCG(9, 10)), 8, plain.Info().VocabSize)
	tested := 0
	for i, req := range reqs[1:] { // the first has no bias towards a loop: little to draft
		req.N = 0
		free := []rune(generate(context.Background(), plain, req).text[0])
		if len(free) < 12 {
			continue
		}
		for _, cfg := range []map[string]any{{"stop": []string{string(free[8:10])}}, {"ban": []string{string(free[4:6])}},
			{"regex": "[^0-9]{0,60}"}} {
			req.PolicyConfig, _ = json.Marshal(cfg)
			var err error
			if req.Policy, err = plain.Policy(BuiltinPolicy); err != nil {
				t.Fatal(err)
			}
			want := generate(context.Background(), plain, req)
			for name, e := range engines {
				if req.Policy, err = e.Policy(BuiltinPolicy); err != nil {
					t.Fatal(err)
				}
				got := generate(context.Background(), e, req)
				sameAnswer(t, fmt.Sprintf("%s request %d %s", name, i+1, req.PolicyConfig), withoutDrafts(got), want)
				tested++
			}
		}
	}
	for name, e := range engines {
		if st := e.Stats(); tested < 12 || st.SpecAcceptedTokens == 0 || st.SpecAcceptedTokens == st.SpecDraftTokens {
			t.Fatalf("%s: %d answers compared, %d of %d drafted tokens kept: the test does not test verification under a policy",
				name, tested, st.SpecAcceptedTokens, st.SpecDraftTokens)
		}
	}
}

// TestDraftWarm: the draft model reads a prompt in the steps that prefill it (warm), chunk by chunk, up to
// the last token, which propose then runs alone; the drafts are those of a draft model that catches up on
// the whole prompt when the sequence first decodes.
func TestDraftWarm(t *testing.T) {
	const vocab = "ggml-vocab-deepseek-coder.gguf"
	o := modelgen.Tiny("qwen2", kernels.Q8_0)
	e := openModelVocab(t, Config{DraftModel: writeModel(t, modelgen.Tiny("llama", kernels.F32), vocab)}, o, vocab)
	d := e.drafts
	prompt := []int32{5, 900, 31, 31, 2048, 7, 77, 300, 12, 9, 4000, 64, 3}
	seq := func() *sequence {
		return &sequence{req: &request{req: Request{Sampling: DefaultSampling()}}, tokens: prompt,
			spec: specState{mode: SpecDraft, want: 4}}
	}
	warmed, cold := seq(), seq()
	defer d.forget(warmed)
	defer d.forget(cold)
	d.warm([]chunk{{warmed, 6}}, []int{0})
	d.warm([]chunk{{warmed, len(prompt) - 6}}, []int{6})
	if got := warmed.spec.draft.toks; !slices.Equal(got, prompt[:len(prompt)-1]) {
		t.Fatalf("after the prompt's steps the draft cache holds %v, want the prompt but its last token", got)
	}
	d.propose([]*sequence{warmed})
	d.propose([]*sequence{cold})
	if len(cold.draft) != 4 || !slices.Equal(warmed.draft, cold.draft) {
		t.Fatalf("drafts after a warmed prompt %v, after a catch-up %v: want the same 4", warmed.draft, cold.draft)
	}
}
