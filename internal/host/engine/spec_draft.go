package engine

import (
	"fmt"
	"math"
	"slices"

	"github.com/wasmoe/wasmoe/internal/host/kvcache"
	"github.com/wasmoe/wasmoe/internal/host/model"
	"github.com/wasmoe/wasmoe/internal/host/vocab"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// draftModel drafts with a smaller model of the same vocabulary (Config.DraftModel), greedily: the draft
// model reads each prompt chunk in the step that computes it (warm), then, when the sequence decodes,
// catches its cache up with the tokens since and runs one batched step per drafted token, one row per
// sequence still drafting.
type draftModel struct {
	m      *model.Model
	pool   *kernels.Pool
	cache  *kvcache.Pool
	batch  model.Batch
	vocab  int         // the target's logits width: a draft past it is not proposed
	active []*sequence // scratch: the sequences still drafting
}

// draftSeq is a sequence's state in the draft model: its cache, and the tokens whose rows it holds.
type draftSeq struct {
	kv   *kvcache.Seq
	toks []int32
}

// openDraftModel loads path as the draft model of target (loaded from targetPath), with a cache of
// tokens positions. The two must share a tokenizer: the same tokens in the same order.
func openDraftModel(path, targetPath string, target *model.Model, targetVocab []string, pool *kernels.Pool, tokens int) (*draftModel, error) {
	m, err := model.Open(path)
	if err != nil {
		return nil, fmt.Errorf("engine: draft model: %w", err)
	}
	v, err := vocab.FromGGUF(m.File)
	if err == nil && !slices.Equal(v.Tokens, targetVocab) {
		err = fmt.Errorf("engine: draft model %s has a vocabulary of %d tokens that is not the one of %s (%d tokens): "+
			"a draft model must share the model's tokenizer", path, len(v.Tokens), targetPath, len(targetVocab))
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return &draftModel{m: m, pool: pool, cache: m.NewCache(tokens), vocab: target.Vocab}, nil
}

// propose drafts s.spec.want tokens for each sequence by greedy decoding in the draft model. A sequence
// whose cache does not fit (the pool is full, or the draft model's context is shorter) drafts nothing.
func (d *draftModel) propose(seqs []*sequence) {
	rows, active := d.batch.Rows[:0], d.active[:0]
	for _, s := range seqs {
		ds, L := &s.spec.draft, len(s.tokens)
		if ds.kv == nil {
			ds.kv = d.cache.NewSeq()
		}
		c := commonPrefix(ds.toks, s.tokens[:L-1])
		ds.kv.Truncate(c)
		ds.toks = ds.toks[:c]
		end := L + s.spec.want - 1 // the positions the draft model writes
		if end > d.m.Context || ds.kv.Reserve(end) != nil {
			d.forget(s)
			continue
		}
		for pos := c; pos < L; pos++ {
			rows = append(rows, model.Row{Token: s.tokens[pos], Seq: ds.kv, Pos: pos, Logits: pos == L-1})
		}
		ds.toks = append(ds.toks, s.tokens[c:]...)
		active = append(active, s)
	}
	for len(active) > 0 {
		d.batch.Rows = rows
		logits, err := d.forward()
		if err != nil { // drafts only save time: without them the sequences decode one token
			for _, s := range active {
				s.draft = s.draft[:0]
				d.forget(s)
			}
			break
		}
		rows = rows[:0]
		next := active[:0]
		for i, s := range active {
			tok := argmaxLogit(logits[i*d.m.Vocab:(i+1)*d.m.Vocab], s.req.req.Sampling.LogitBias)
			if tok < 0 || int(tok) >= d.vocab {
				continue
			}
			s.draft = append(s.draft, tok)
			if len(s.draft) < s.spec.want {
				ds := &s.spec.draft
				rows = append(rows, model.Row{Token: tok, Seq: ds.kv, Pos: len(s.tokens) + len(s.draft) - 1, Logits: true})
				ds.toks = append(ds.toks, tok)
				next = append(next, s)
			}
		}
		active = next
	}
	d.batch.Rows, d.active = rows[:0], active[:0]
}

// warm runs the prompt rows of the step's drafting sequences through the draft model, in the step that
// runs them through the target (before is each chunk's first position), so a prompt costs the draft model
// its prefill when the target prefills it, not a catch-up in the first decode step. It leaves each
// sequence's last token to propose, which needs its logits. A sequence whose draft cache does not fit is
// left to propose, which then drafts nothing for it; a failed pass only leaves more to catch up.
func (d *draftModel) warm(plan []chunk, before []int) {
	rows := d.batch.Rows[:0]
	for i, c := range plan {
		s := c.s
		to := min(before[i]+c.n, len(s.tokens)-1)
		if s.spec.mode != SpecDraft || before[i] >= to {
			continue
		}
		ds := &s.spec.draft
		if ds.kv == nil {
			ds.kv = d.cache.NewSeq()
		}
		from := commonPrefix(ds.toks, s.tokens[:to])
		ds.kv.Truncate(from)
		ds.toks = ds.toks[:from]
		if to > d.m.Context || ds.kv.Reserve(to) != nil {
			continue
		}
		for pos := from; pos < to; pos++ {
			rows = append(rows, model.Row{Token: s.tokens[pos], Seq: ds.kv, Pos: pos})
		}
		ds.toks = append(ds.toks, s.tokens[from:to]...)
	}
	d.batch.Rows = rows
	if len(rows) > 0 {
		if _, err := d.forward(); err != nil {
			for _, c := range plan {
				if c.s.spec.mode == SpecDraft {
					d.forget(c.s)
				}
			}
		}
	}
	d.batch.Rows = rows[:0]
}

// forward runs the draft model's batch; a panic in the kernels is an error, as in the scheduler's step.
func (d *draftModel) forward() ([]float32, error) {
	return guarded("draft model's forward pass", func() ([]float32, error) { return d.m.ForwardBatch(d.pool, &d.batch) })
}

// forget frees the draft model's cache of s.
func (d *draftModel) forget(s *sequence) {
	ds := &s.spec.draft
	if ds.kv != nil {
		ds.kv.Free()
	}
	ds.toks = ds.toks[:0]
}

// close releases the draft model.
func (d *draftModel) close() error { return d.m.Close() }

// commonPrefix is the length of the longest common prefix of a and b.
func commonPrefix(a, b []int32) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// argmaxLogit adds the request's logit_bias to logits (in place) and returns the first index of the
// largest, or -1 when none is above -Inf (NaNs never win). The bias steers the target's draws, so the
// draft follows it.
func argmaxLogit(logits []float32, bias map[int32]float32) int32 {
	for id, b := range bias {
		if int(id) < len(logits) {
			logits[id] += b
		}
	}
	best, m := int32(-1), float32(math.Inf(-1))
	for i, l := range logits {
		if l > m {
			best, m = int32(i), l
		}
	}
	return best
}
