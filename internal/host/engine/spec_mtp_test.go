package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/model"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// mtpOptions is the tiny DeepSeek-V3-style model with one MTP block.
func mtpOptions(t *testing.T, typ kernels.DType) modelgen.Options {
	t.Helper()
	o, err := modelgen.DeepSeekTiny("v3", typ)
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
	o := mtpOptions(t, kernels.Q8_0)
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

// draftLog wraps the MTP drafter and records each draft it proposes with the logits it came from: it
// runs the drafter's last MTP step again (the same rows: the same cache rows written, the same logits).
type draftLog struct {
	*mtpDrafter
	got []loggedDraft
}

// loggedDraft is one draft: the sequence's choice, its length when drafted, the token and the logits.
type loggedDraft struct {
	index  int32
	length int
	token  int32
	logits []float32
}

// propose drafts and records.
func (l *draftLog) propose(seqs []*sequence) {
	l.mtpDrafter.propose(seqs)
	if len(l.last) == 0 {
		return
	}
	logits, err := l.m.ForwardMTP(l.pool, &l.mb)
	if err != nil {
		panic(err)
	}
	V := l.m.Vocab
	for i, s := range l.last {
		tok := int32(-1)
		if len(s.draft) > 0 {
			tok = s.draft[0]
		}
		l.got = append(l.got, loggedDraft{s.index, len(s.tokens), tok, slices.Clone(logits[i*V : (i+1)*V])})
	}
}

// TestMTPDraftsAreTheBlocksPrediction: every draft of the MTP drafter comes from the logits the MTP block
// gives when computed afresh from the whole final text (one ForwardBatch over it for the hidden states,
// one ForwardMTP over every position), to 1e-3, and is their greedy choice with the request's logit_bias.
// So the drafter feeds the block the right hidden states and tokens and keeps all of its cache rows right
// across kept and rejected drafts, steps without a draft (pauses) and forks (n = 2); the requests skip the
// prefix cache, whose rows may be unwritten.
func TestMTPDraftsAreTheBlocksPrediction(t *testing.T) {
	const vocab = "ggml-vocab-deepseek-coder.gguf"
	path := writeModel(t, mtpOptions(t, kernels.F32), vocab)
	ref, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	pool := kernels.NewPool(1)
	defer pool.Close()
	reqs := specRequests(rand.New(rand.NewPCG(13, 14)), 4, ref.Vocab)
	checked, kept := 0, 0
	for i, req := range reqs {
		req.NoPromptCache, req.MaxTokens = true, 48
		if i%2 == 1 {
			req.N = 2
		}
		e, err := openWith(t, Config{ModelPath: path, Spec: SpecMTP})
		if err != nil {
			t.Fatal(err)
		}
		log := &draftLog{mtpDrafter: e.mtp}
		e.sched.drafters[SpecMTP].drafter = log
		a := generate(context.Background(), e, req)
		if a.err != nil {
			t.Fatal(a.err)
		}
		idle(t, e)
		kept += a.res.AcceptedDraftTokens
		for index, ids := range a.ids {
			want := mtpPredictions(t, ref, pool, append(slices.Clone(req.Prompt), ids...))
			for _, d := range log.got {
				if int(d.index) != index {
					continue
				}
				row := slices.Clone(want[(d.length-2)*ref.Vocab : (d.length-1)*ref.Vocab])
				if diff := maxAbsDiff(row, d.logits); diff > 1e-3 {
					t.Fatalf("request %d choice %d: the draft after %d tokens came from MTP logits %g away from the fresh ones",
						i, index, d.length, diff)
				}
				if best := argmaxLogit(row, req.Sampling.LogitBias); d.token != best {
					t.Fatalf("request %d choice %d: drafted %d after %d tokens, the MTP block's choice is %d", i, index, d.token, d.length, best)
				}
				checked++
			}
		}
	}
	if checked < 20 || kept == 0 {
		t.Fatalf("%d drafts checked, %d kept: too few to test the drafter", checked, kept)
	}
	t.Logf("%d drafts checked, %d kept", checked, kept)
}

// maxAbsDiff is the largest absolute difference of two vectors of the same length.
func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// mtpPredictions runs tokens through a fresh sequence of m, then its MTP block over every position with
// the token that follows, and returns the MTP logits of each position ([len-1][V]).
func mtpPredictions(t *testing.T, m *model.Model, pool *kernels.Pool, tokens []int32) []float32 {
	t.Helper()
	s := m.NewCache(len(tokens) + model.BlockTokens).NewSeq()
	defer s.Free()
	if err := s.Reserve(len(tokens)); err != nil {
		t.Fatal(err)
	}
	var b model.Batch
	for pos, tok := range tokens {
		b.Rows = append(b.Rows, model.Row{Token: tok, Seq: s, Pos: pos, Hidden: true})
	}
	if _, err := m.ForwardBatch(pool, &b); err != nil {
		t.Fatal(err)
	}
	var mb model.MTPBatch
	D := m.Dim
	for pos := range len(tokens) - 1 {
		mb.Rows = append(mb.Rows, model.MTPRow{Seq: s, Pos: pos, Hidden: b.Hidden()[pos*D : (pos+1)*D], Next: tokens[pos+1], Logits: true})
	}
	logits, err := m.ForwardMTP(pool, &mb)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(logits)
}
