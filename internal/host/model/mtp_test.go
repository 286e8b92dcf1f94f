package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/golden"
	"github.com/wasmoe/wasmoe/internal/host/kvcache"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// mtpModel is the tiny V3-style model with one MTP block.
func mtpModel(t *testing.T, typ kernels.DType) *Model {
	return deepseekTiny(t, "v3", typ, func(o *modelgen.Options) { o.DeepSeek.MTP = 1 })
}

// prefill runs tokens through a new sequence on its own cache in one ForwardBatch step and returns the
// sequence, the main logits and the final hidden states of every position.
func prefill(t *testing.T, m *Model, p *kernels.Pool, tokens []int32, room int) (*kvcache.Seq, []float32, []float32) {
	t.Helper()
	s := m.NewCache(len(tokens) + room).NewSeq()
	if err := s.Reserve(len(tokens)); err != nil {
		t.Fatal(err)
	}
	var b Batch
	for i, tok := range tokens {
		b.Rows = append(b.Rows, Row{Token: tok, Seq: s, Pos: i, Logits: true, Hidden: true})
	}
	logits, err := m.ForwardBatch(p, &b)
	if err != nil {
		t.Fatal(err)
	}
	return s, slices.Clone(logits), slices.Clone(b.Hidden())
}

// TestMTPMatchesReference runs the MTP block of a generated V3-style model over every position of a
// prompt, from the hidden states ForwardBatch returns, and compares its logits with the float64 reference
// (refDeepSeekMTP, which shares no code with ForwardMTP or the loader): all rows in one step, and one row a
// step on another sequence. F32 must agree everywhere to 5e-6; Q8_0, with its activation rounding, at the
// median to 1e-2 and everywhere to 1e-1, as TestDeepSeekMatchesReference explains.
func TestMTPMatchesReference(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	for _, c := range []struct {
		typ kernels.DType
		tol float64
	}{{kernels.F32, 5e-6}, {kernels.Q8_0, 1e-2}} {
		t.Run(c.typ.String(), func(t *testing.T) {
			m := mtpModel(t, c.typ)
			wantMain, wantMTP := refDeepSeekMTP(t, m.File, testTokens)
			var diffs []float64
			check := func(what string, pos int, got, want []float64) {
				t.Helper()
				d := maxProbDiff(want, got)
				if limit := map[bool]float64{false: c.tol, true: 1e-1}[c.typ == kernels.Q8_0]; d > limit {
					t.Fatalf("%s pos %d: max probability difference %.3g > %.3g", what, pos, d, limit)
				}
				diffs = append(diffs, d)
			}
			V, D, n := m.Vocab, m.Dim, len(testTokens)
			s, main, hidden := prefill(t, m, pool, testTokens, 0)
			for pos := range n {
				check("main", pos, f64(main[pos*V:(pos+1)*V]), wantMain[pos])
			}
			var b MTPBatch
			for pos := range n - 1 {
				b.Rows = append(b.Rows, MTPRow{Seq: s, Pos: pos, Hidden: hidden[pos*D : (pos+1)*D], Next: testTokens[pos+1], Logits: true})
			}
			all, err := m.ForwardMTP(pool, &b)
			if err != nil {
				t.Fatal(err)
			}
			for pos := range n - 1 {
				check("mtp batch", pos, f64(all[pos*V:(pos+1)*V]), wantMTP[pos])
			}
			s2, _, _ := prefill(t, m, pool, testTokens, 0)
			for pos := range n - 1 {
				b.Rows = []MTPRow{{Seq: s2, Pos: pos, Hidden: hidden[pos*D : (pos+1)*D], Next: testTokens[pos+1], Logits: true}}
				got, err := m.ForwardMTP(pool, &b)
				if err != nil {
					t.Fatal(err)
				}
				check("mtp row by row", pos, f64(got), wantMTP[pos])
			}
			sort.Float64s(diffs)
			if med := diffs[len(diffs)/2]; med > c.tol {
				t.Errorf("median probability difference %.3g > %.3g", med, c.tol)
			}
			t.Logf("probability differences: median %.3g, largest %.3g", diffs[len(diffs)/2], diffs[len(diffs)-1])
		})
	}
}

// TestMTPLlamaCppParity compares ForwardMTP with llama.cpp's own MTP graph (an LLAMA_CONTEXT_TYPE_MTP
// context fed the target's h_nextn, as its speculative decoding runs it) on the generated V3-style F32
// model with one MTP block: testdata/golden/deepseek2-v3-mtp-f32.json, made by tools/goldens/mtpref. This
// checks the conventions the float64 reference shares with ForwardMTP (the hidden state after the output
// norm, the [embedding ; hidden] order, the block's own embedding and head) against the real program.
func TestMTPLlamaCppParity(t *testing.T) {
	var g struct {
		SHA256    string        `json:"sha256"`
		Tolerance float64       `json:"tolerance"`
		Tokens    []int32       `json:"tokens"`
		Ref       []golden.Step `json:"ref"`
	}
	raw, err := os.ReadFile(filepath.Join(testutil.Root(), "testdata", "golden", "deepseek2-v3-mtp-f32.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	m := mtpModel(t, kernels.F32)
	if sum := testutil.SHA256File(t, m.File.Path); sum != g.SHA256 {
		t.Fatalf("generated model %s differs from the golden one %s: rerun tools/goldens/mtpref", sum, g.SHA256)
	}
	pool := kernels.NewPool(2)
	defer pool.Close()
	s, _, hidden := prefill(t, m, pool, g.Tokens, 0)
	var b MTPBatch
	for pos := range len(g.Tokens) - 1 {
		b.Rows = append(b.Rows, MTPRow{Seq: s, Pos: pos, Hidden: hidden[pos*m.Dim : (pos+1)*m.Dim], Next: g.Tokens[pos+1], Logits: true})
	}
	logits, err := m.ForwardMTP(pool, &b)
	if err != nil {
		t.Fatal(err)
	}
	var ours []golden.Step
	for pos, r := range b.Rows {
		ours = append(ours, golden.Step{Pos: pos, Token: r.Next, Top: TopProbs(logits[pos*m.Vocab:(pos+1)*m.Vocab], 50)})
	}
	worst, err := golden.Compare(g.Ref, ours, g.Tolerance)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("largest probability difference %.3g (tolerance %g)", worst, g.Tolerance)
}

// argmax is the index of the largest value.
func argmax(v []float32) int32 {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return int32(best)
}

// TestMTPDraftLoop is the drafter's use of the API, step by step, checked against the reference: prefill a
// prompt asking for every hidden state, warm the MTP layer of the cache over the prompt, then per decode
// step take the greedy token, draft the one after it with the MTP block (its row at the last cached
// position, made private first with ReserveFrom) and verify both in one ForwardBatch step. A rejected
// draft is truncated away and the rows written again; a fork must make its block private before its MTP
// row, and then leaves its parent's MTP rows as they were.
func TestMTPDraftLoop(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	m := mtpModel(t, kernels.F32)
	V, D := m.Vocab, m.Dim
	prompt := testTokens[:8]
	s, main, hidden := prefill(t, m, pool, prompt, 24)
	var mb MTPBatch
	for pos := range len(prompt) - 1 { // warm the MTP cache: no logits wanted
		mb.Rows = append(mb.Rows, MTPRow{Seq: s, Pos: pos, Hidden: hidden[pos*D : (pos+1)*D], Next: prompt[pos+1]})
	}
	if _, err := m.ForwardMTP(pool, &mb); err != nil {
		t.Fatal(err)
	}
	wantDraft := func(tokens []int32, pos int, got []float32) {
		t.Helper()
		_, ref := refDeepSeekMTP(t, m.File, tokens)
		if d := maxProbDiff(ref[pos], f64(got)); d > 5e-6 {
			t.Fatalf("draft logits at %d after %v differ from the reference by %.3g", pos, tokens, d)
		}
	}
	draft := func(s *kvcache.Seq, pos int, h []float32, next int32) []float32 {
		t.Helper()
		mb.Rows = []MTPRow{{Seq: s, Pos: pos, Hidden: h, Next: next, Logits: true}}
		l, err := m.ForwardMTP(pool, &mb)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(l)
	}

	last := len(prompt) - 1
	tok := argmax(main[last*V : (last+1)*V]) // the main model's next token
	if err := s.ReserveFrom(last, last+3); err != nil {
		t.Fatal(err)
	}
	d := draft(s, last, hidden[last*D:(last+1)*D], tok)
	seqTokens := append(slices.Clone(prompt), tok)
	wantDraft(seqTokens, last, d)
	guess := argmax(d)

	// Verify tok and the guess in one step; the rows want hidden states for the next draft.
	var b Batch
	b.Rows = []Row{{Token: tok, Seq: s, Pos: last + 1, Logits: true, Hidden: true},
		{Token: guess, Seq: s, Pos: last + 2, Logits: true, Hidden: true}}
	if _, err := m.ForwardBatch(pool, &b); err != nil {
		t.Fatal(err)
	}
	// Say the guess was rejected: drop it, and put another token in its place.
	s.Truncate(last + 2)
	other := (guess + 1) % int32(V)
	if err := s.ReserveFrom(last+1, last+3); err != nil {
		t.Fatal(err)
	}
	h := slices.Clone(b.Hidden()[:D]) // the hidden state at last+1 stays valid
	b.Rows = []Row{{Token: other, Seq: s, Pos: last + 2, Logits: true, Hidden: true}}
	if _, err := m.ForwardBatch(pool, &b); err != nil {
		t.Fatal(err)
	}
	wantDraft(append(slices.Clone(seqTokens), other), last+1, draft(s, last+1, h, other))
	wantDraft(append(seqTokens, other, 5), last+2, draft(s, last+2, b.Hidden(), 5))

	// A fork shares its blocks: its MTP row is refused until it owns the block, and after that writing it
	// leaves the parent's MTP rows alone.
	f := s.Fork()
	mb.Rows = []MTPRow{{Seq: f, Pos: last + 1, Hidden: h, Next: 7, Logits: true}}
	if _, err := m.ForwardMTP(pool, &mb); err == nil || !strings.Contains(err.Error(), "shared") {
		t.Fatalf("MTP row in a shared block: error %v", err)
	}
	if err := f.ReserveFrom(last+1, last+3); err != nil {
		t.Fatal(err)
	}
	wantDraft(append(slices.Clone(seqTokens), 7), last+1, draft(f, last+1, h, 7))
	wantDraft(append(slices.Clone(seqTokens), other), last+1, draft(s, last+1, h, other))
}

// TestMTPErrors: a model without an MTP block, a block out of range, a hidden state of the wrong size, a
// token out of range and rows out of order are refused with an error.
func TestMTPErrors(t *testing.T) {
	pool := kernels.NewPool(1)
	defer pool.Close()
	m := mtpModel(t, kernels.F32)
	s, _, hidden := prefill(t, m, pool, testTokens[:4], 0)
	h := hidden[:m.Dim]
	plain := deepseekTiny(t, "v3", kernels.F32, nil)
	for _, c := range []struct {
		m    *Model
		b    MTPBatch
		want string
	}{
		{plain, MTPBatch{Rows: []MTPRow{{Seq: s, Hidden: h}}}, "has 0"},
		{m, MTPBatch{Block: 1, Rows: []MTPRow{{Seq: s, Hidden: h}}}, "has 1"},
		{m, MTPBatch{}, "no rows"},
		{m, MTPBatch{Rows: []MTPRow{{Seq: s, Hidden: h[:3]}}}, "hidden state of 3"},
		{m, MTPBatch{Rows: []MTPRow{{Seq: s, Hidden: h, Next: -1}}}, "out of range"},
		{m, MTPBatch{Rows: []MTPRow{{Seq: s, Pos: 40, Hidden: h}}}, "not reserved"},
		{m, MTPBatch{Rows: []MTPRow{{Seq: s, Pos: 1, Hidden: h}, {Seq: s, Pos: 0, Hidden: h}}}, "previous row at 1"},
		{m, MTPBatch{Rows: []MTPRow{{Hidden: h}}}, "no sequence"},
	} {
		if _, err := c.m.ForwardMTP(pool, &c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one about %q", err, c.want)
		}
	}
}
