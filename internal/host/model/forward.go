package model

import (
	"fmt"
	"math"

	"github.com/wasmoe/wasmoe/internal/host/kvcache"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// Row is one token of a forward step: which sequence it extends, at which position, and whether the step
// returns the logits that follow it and the final hidden state they come from.
type Row struct {
	Token  int32
	Seq    *kvcache.Seq
	Pos    int
	Logits bool
	// Hidden asks for the row's final hidden state, normed by the output norm (what the output head
	// multiplies; Batch.Hidden): the input of deepseek2's multi-token-prediction block (ForwardMTP).
	Hidden bool
}

// Batch is one forward step over any mix of sequences: Rows, and the scratch memory the step runs in.
// Reuse a Batch across steps: its buffers grow to the largest step and are then reused, so steady-state
// decoding allocates nothing.
type Batch struct {
	Rows   []Row
	sc     scratch
	seqs   []seqEnd
	hidden []float32 // [rows wanting it][D]
}

// Hidden returns the final hidden states of the last step's rows that asked for them (Row.Hidden), in
// row order ([k][D], normed by the output norm; reused by the next step).
func (b *Batch) Hidden() []float32 { return b.hidden }

// seqEnd is the position after a sequence's last row seen so far in a batch.
type seqEnd struct {
	s   *kvcache.Seq
	end int
}

// Forward appends tokens to the sequence and runs the transformer over them (spec §3 for deepseek2, §5 for
// qwen2 and llama). With all set it returns the logits of every new position ([len(tokens)][V]);
// otherwise only those of the last ([V]). The returned slice is reused by the next call.
//
// A long prompt of deepseek2 runs MLA in its naive form (Model.NaiveFrom); ForwardBatch never does.
func (m *Model) Forward(p *kernels.Pool, s *State, tokens []int32, all bool) ([]float32, error) {
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("model: forward of no tokens")
	}
	if s.Pos+n > s.maxPos {
		return nil, fmt.Errorf("model: %d tokens at position %d exceed the context of %d", n, s.Pos, s.maxPos)
	}
	if err := s.seq.Reserve(s.Pos + n); err != nil {
		return nil, err
	}
	b := &s.batch
	b.Rows = b.Rows[:0]
	for i, t := range tokens {
		b.Rows = append(b.Rows, Row{Token: t, Seq: s.seq, Pos: s.Pos + i, Logits: all || i == n-1})
	}
	logits, err := m.forward(p, b, n >= m.NaiveFrom)
	s.Pos = s.seq.Len
	return logits, err
}

// ForwardBatch runs one step over b.Rows and returns the logits of the rows that ask for them, in row
// order ([k][V]; reused by the next step). The rows of one sequence must follow each other at consecutive
// positions from the sequence's Len, and the sequence must have reserved them (kvcache.Seq.Reserve); each
// sequence's Len then moves past its last row.
//
// A row's logits are bit for bit the same whatever else the batch holds, whichever position the row has
// in it and however a sequence's tokens were split into steps: every kernel computes each row on its own,
// in an order that does not depend on the batch, and MLA always runs in its absorbed form.
func (m *Model) ForwardBatch(p *kernels.Pool, b *Batch) ([]float32, error) {
	if len(b.Rows) == 0 {
		return nil, fmt.Errorf("model: forward of no rows")
	}
	b.seqs = b.seqs[:0]
	for i, r := range b.Rows {
		j := 0
		for j < len(b.seqs) && b.seqs[j].s != r.Seq {
			j++
		}
		if j == len(b.seqs) {
			if r.Seq == nil {
				return nil, fmt.Errorf("model: batch row %d has no sequence", i)
			}
			b.seqs = append(b.seqs, seqEnd{r.Seq, r.Seq.Len})
		}
		if r.Pos != b.seqs[j].end {
			return nil, fmt.Errorf("model: batch row %d is at position %d, its sequence is at %d", i, r.Pos, b.seqs[j].end)
		}
		if r.Pos >= len(r.Seq.Pages())*BlockTokens {
			return nil, fmt.Errorf("model: batch row %d: position %d is not reserved", i, r.Pos)
		}
		b.seqs[j].end++
	}
	return m.forward(p, b, false)
}

// forward runs the rows of b, which have been checked. naive lets deepseek2 use MLA's naive form (one
// sequence's rows only).
func (m *Model) forward(p *kernels.Pool, b *Batch, naive bool) ([]float32, error) {
	n, D := len(b.Rows), m.Dim
	sc := &b.sc
	maxPos := 0
	for _, r := range b.Rows {
		maxPos = max(maxPos, r.Pos+1)
	}
	sc.reserve(m, n, maxPos)
	x := sc.x[:n*D]

	// Embedding lookup: x[i] = E[tokens[i]].
	for i, r := range b.Rows {
		if r.Token < 0 || int(r.Token) >= m.Vocab {
			return nil, fmt.Errorf("model: token id %d out of range [0, %d)", r.Token, m.Vocab)
		}
		if err := kernels.DequantizeRow(m.Embed.Type, x[i*D:(i+1)*D], row(m.Embed, int(r.Token))); err != nil {
			return nil, err
		}
	}
	if m.Arch == archDeepSeek2 {
		m.deepseekBlocks(p, b, naive)
	} else {
		m.denseBlocks(p, b)
	}
	for _, r := range b.Rows {
		r.Seq.Len = max(r.Seq.Len, r.Pos+1)
	}

	return m.outputs(p, b, m.OutNorm, m.Output), nil
}

// outputs finishes a step whose final residual stream is in b.sc.x: b.hidden = RMSNorm(x) for the rows
// that want their hidden state, and the returned logits = head · RMSNorm(x) for the rows that want them.
func (m *Model) outputs(p *kernels.Pool, b *Batch, norm []float32, head kernels.Matrix) []float32 {
	D, sc := m.Dim, &b.sc
	rows, hid := 0, 0
	for _, r := range b.Rows {
		if r.Hidden {
			hid++
		}
	}
	b.hidden = growTo(b.hidden, hid*D)
	hid = 0
	for i, r := range b.Rows {
		xi := sc.x[i*D : (i+1)*D]
		if r.Logits {
			kernels.RMSNorm(sc.xn[rows*D:(rows+1)*D], xi, norm, m.Eps)
			if r.Hidden {
				copy(b.hidden[hid*D:(hid+1)*D], sc.xn[rows*D:(rows+1)*D])
			}
			rows++
		} else if r.Hidden {
			kernels.RMSNorm(b.hidden[hid*D:(hid+1)*D], xi, norm, m.Eps)
		}
		if r.Hidden {
			hid++
		}
	}
	sc.logits = growTo(sc.logits, rows*m.Vocab)
	p.MatMul(sc.logits, head, sc.xn[:rows*D], rows)
	return sc.logits
}

// denseBlocks runs the qwen2 / llama blocks over the batch's rows, whose embeddings are in sc.x.
func (m *Model) denseBlocks(p *kernels.Pool, b *Batch) {
	n, D, hd := len(b.Rows), m.Dim, m.HeadDim
	qDim, kvDim := m.Heads*hd, m.KVHeads*hd
	sc := &b.sc
	x, xn := sc.x[:n*D], sc.xn[:n*D]
	scale := float32(1 / math.Sqrt(float64(hd)))
	for l := range m.Layers {
		L := &m.Layers[l]
		// Attention: xn = RMSNorm(x); q, k, v = W·xn (+ b); RoPE(q, k); cache k, v; attend; x += Wo·att.
		rmsNormRows(xn, x, L.AttnNorm, m.Eps, n)
		q, k, v := sc.q[:n*qDim], sc.k[:n*kvDim], sc.v[:n*kvDim]
		p.MatMul(q, L.Wq, xn, n)
		p.MatMul(k, L.Wk, xn, n)
		p.MatMul(v, L.Wv, xn, n)
		addBias(q, L.Bq, n)
		addBias(k, L.Bk, n)
		addBias(v, L.Bv, n)
		for i, r := range b.Rows { // every row's keys and values are cached before any row attends
			qi, ki := q[i*qDim:(i+1)*qDim], k[i*kvDim:(i+1)*kvDim]
			kernels.RoPEAngles(sc.theta, r.Pos, m.RopeBase, m.RopeScale, m.RopeFactors)
			kernels.RoPEWithAngles(qi, m.Heads, hd, sc.theta, m.Neox)
			kernels.RoPEWithAngles(ki, m.KVHeads, hd, sc.theta, m.Neox)
			kc, vc := m.cacheRows(r.Seq, l, r.Pos)
			copy(kc, ki)
			copy(vc, v[i*kvDim:(i+1)*kvDim])
		}
		att := sc.att[:n*qDim]
		for i, r := range b.Rows {
			p.PagedAttention(att[i*qDim:(i+1)*qDim], q[i*qDim:(i+1)*qDim], m.pages(r.Seq, l), r.Pos+1,
				m.Heads, m.KVHeads, hd, scale, sc.scores)
		}
		proj := sc.proj[:n*D]
		p.MatMul(proj, L.Wo, att, n)
		kernels.Add(x, proj)

		// Feed-forward: xn = RMSNorm(x); x += Wdown·(silu(Wgate·xn) ⊙ Wup·xn).
		rmsNormRows(xn, x, L.FFNNorm, m.Eps, n)
		swiglu(p, proj, L.Wgate, L.Wup, L.Wdown, xn, sc.gate, sc.up, n)
		kernels.Add(x, proj)
	}
}

// swiglu sets out = down·(silu(gate·x) ⊙ up·x) for n vectors, with g and u as scratch.
func swiglu(p *kernels.Pool, out []float32, gate, up, down kernels.Matrix, x, g, u []float32, n int) {
	g, u = g[:n*gate.Rows], u[:n*gate.Rows]
	p.MatMul(g, gate, x, n)
	p.MatMul(u, up, x, n)
	kernels.SiLUMul(g, u)
	p.MatMul(out[:n*down.Rows], down, g, n)
}

// rmsNormRows normalises n rows of x into out.
func rmsNormRows(out, x, w []float32, eps float32, n int) {
	d := len(w)
	for i := 0; i < n; i++ {
		kernels.RMSNorm(out[i*d:(i+1)*d], x[i*d:(i+1)*d], w, eps)
	}
}

// addBias adds b to each of the n rows of x; a nil b does nothing.
func addBias(x, b []float32, n int) {
	if b == nil {
		return
	}
	d := len(b)
	for i := 0; i < n; i++ {
		kernels.Add(x[i*d:(i+1)*d], b)
	}
}

// row returns the bytes of row r of w.
func row(w kernels.Matrix, r int) []byte {
	n := len(w.Data) / w.Rows
	return w.Data[r*n : (r+1)*n]
}
