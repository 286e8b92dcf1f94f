package engine

import (
	"slices"

	"github.com/wasmoe/wasmoe/internal/host/model"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// mtpDrafter drafts with deepseek2's multi-token-prediction block (model.ForwardMTP): the row at position
// L-2 of a sequence of L tokens, from the main model's hidden state there and the token at L-1, predicts
// the token at L, its one draft a step. Its latent rows live in the MTP layer of the sequence's own cache.
// The scheduler asks the main model for the hidden states of every row of an MTP sequence (step): warm
// writes the MTP rows whose following token is known at once (the prompt's), and keeps the hidden states
// of the rest (the decode row and its drafts'), from which propose writes the rows of the accepted
// tokens, then the draft row. Rows that a prefix-cache hit, a pause or a preemption skipped stay as they
// are: the drafts only lose acceptance, the tokens are verified as any draft.
type mtpDrafter struct {
	m    *model.Model
	pool *kernels.Pool
	mb   model.MTPBatch
	last []*sequence // scratch: the sequences whose draft row is in mb, in order
}

// mtpSeq is a sequence's MTP state: the main model's hidden states at positions [from, to) from its last
// step, and end, past which its MTP rows must be written again.
type mtpSeq struct {
	hidden   []float32
	keep     []float32 // warm's scratch: the next hidden, kept while the rows read the last
	from, to int
	end      int
}

// fork is the state of a fork of the sequence: the same hidden states and rows, as it shares the cache
// blocks (handBack trims what its own tokens changed).
func (m *mtpSeq) fork() mtpSeq {
	return mtpSeq{hidden: slices.Clone(m.hidden), from: m.from, to: m.to, end: m.end}
}

// trim drops the state that a sequence's handBack made stale: hidden states and MTP rows after tokens its
// worker replaced (those of positions valid on depend on a replaced token) or past its cache.
func (m *mtpSeq) trim(valid, cached int) {
	m.to = min(m.to, valid)
	m.end = min(m.end, valid-1, cached)
}

// warm runs the MTP rows of the step's sequences whose following token is now known: first those a
// sequence's last step kept the hidden states of and propose did not write (a step without a draft),
// then its prompt rows of this step, with the hidden states the step returned; it keeps each sequence's
// hidden states at positions L-1 on, whose following token is not known yet. hidden is Batch.Hidden of the
// step: the rows of the MTP sequences of plan, in order; before is each chunk's first position. It runs
// before the step publishes prompt blocks to the prefix cache, while the rows it writes are in blocks the
// sequence holds alone. A failed MTP step only costs acceptance.
func (d *mtpDrafter) warm(plan []chunk, before []int, hidden []float32) {
	D := d.m.Dim
	d.mb.Rows = d.mb.Rows[:0]
	h := 0
	for i, c := range plan {
		s := c.s
		if s.spec.mode != SpecMTP {
			continue
		}
		m, start, L := &s.spec.mtp, before[i], len(s.tokens)
		if a := max(m.end, m.from); a < start && m.to >= start && s.kv.ReserveFrom(a, start) == nil {
			for pos := a; pos < start; pos++ {
				d.mb.Rows = append(d.mb.Rows, model.MTPRow{Seq: s.kv, Pos: pos, Hidden: m.hidden[(pos-m.from)*D : (pos-m.from+1)*D], Next: s.tokens[pos+1]})
			}
		}
		for pos := start; pos < start+c.n && pos < L-1 && s.kv.Writable(pos); pos++ {
			d.mb.Rows = append(d.mb.Rows, model.MTPRow{Seq: s.kv, Pos: pos, Hidden: hidden[(h+pos-start)*D : (h+pos-start+1)*D], Next: s.tokens[pos+1]})
		}
		m.end = min(start+c.n, L-1)
		keep := max(start, L-1)
		m.from, m.to = keep, start+c.n
		m.keep = append(m.keep[:0], hidden[(h+keep-start)*D:(h+c.n)*D]...)
		h += c.n
	}
	if len(d.mb.Rows) > 0 {
		_, _ = d.forward() // the drafts after a failed warm-up are only less often right
	}
	for _, c := range plan {
		if m := &c.s.spec.mtp; c.s.spec.mode == SpecMTP {
			m.hidden, m.keep = m.keep, m.hidden
		}
	}
}

// propose drafts one token for each sequence: its MTP rows from its first stale one up to L-2, that at
// L-2 with logits, in one ForwardMTP step for all. A sequence without the hidden state at L-2 (its last
// step did not compute it), or whose rows cannot be made private (the pool is full), drafts nothing.
func (d *mtpDrafter) propose(seqs []*sequence) {
	D := d.m.Dim
	d.mb.Rows, d.last = d.mb.Rows[:0], d.last[:0]
	for _, s := range seqs {
		m, L := &s.spec.mtp, len(s.tokens)
		p := L - 2
		if p < m.from || p >= m.to || s.kv == nil {
			continue
		}
		start := min(max(m.end, m.from), p)
		if s.kv.ReserveFrom(start, p+1) != nil {
			continue
		}
		for pos := start; pos <= p; pos++ {
			d.mb.Rows = append(d.mb.Rows, model.MTPRow{Seq: s.kv, Pos: pos, Hidden: m.hidden[(pos-m.from)*D : (pos-m.from+1)*D],
				Next: s.tokens[pos+1], Logits: pos == p})
		}
		m.end = p + 1
		d.last = append(d.last, s)
	}
	if len(d.last) == 0 {
		return
	}
	logits, err := d.forward()
	if err != nil { // drafts only save time: without them the sequences decode one token
		return
	}
	V := d.m.Vocab
	for i, s := range d.last {
		if tok := argmaxLogit(logits[i*V:(i+1)*V], s.req.req.Sampling.LogitBias); tok >= 0 {
			s.draft = append(s.draft, tok)
		}
	}
}

// forward runs the MTP batch; a panic in the kernels is an error, as in the scheduler's step.
func (d *mtpDrafter) forward() ([]float32, error) {
	return guarded("MTP forward pass", func() ([]float32, error) { return d.m.ForwardMTP(d.pool, &d.mb) })
}

// forget drops a sequence's hidden states; its MTP rows go with its cache blocks.
func (d *mtpDrafter) forget(s *sequence) {
	m := &s.spec.mtp
	*m = mtpSeq{hidden: m.hidden[:0], keep: m.keep[:0]}
}
