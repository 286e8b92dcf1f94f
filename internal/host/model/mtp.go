package model

import (
	"fmt"

	"github.com/wasmoe/wasmoe/internal/host/kvcache"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// MTPRow is one row of a multi-token-prediction step (ForwardMTP): at position Pos of a sequence, the
// main model's hidden state there and the token that follows it, from which the MTP block predicts the
// token after that one (DeepSeek-V3 report §2.2).
type MTPRow struct {
	Seq *kvcache.Seq
	// Pos is the position of Hidden. The MTP block caches its latent row for the row at Pos (its own
	// layer of the sequence's KV cache, after the main blocks') and attends over its rows at 0 … Pos.
	Pos int
	// Hidden is the main model's final hidden state at Pos as ForwardBatch returns it (Row.Hidden: normed
	// by the output norm, as llama.cpp's and vLLM's MTP take it), or, to draft further, a previous MTP
	// step's hidden state at Pos (MTPBatch.Hidden). [D] values.
	Hidden []float32
	Next   int32 // the token at Pos+1 (sampled, or drafted by the previous MTP step)
	// Logits asks for the logits of the token at Pos+2; KeepHidden for the block's hidden state at Pos+1,
	// normed by its head norm (what its head multiplies), the Hidden of a further MTP row at Pos+1.
	Logits, KeepHidden bool
}

// MTPBatch is one step of a multi-token-prediction block over any mix of sequences. Reuse it across
// steps, as a Batch.
type MTPBatch struct {
	Rows  []MTPRow
	Block int // which MTP block runs: 0 … NextN-1 (DeepSeek-V3 has one)
	batch Batch
	cat   []float32 // [n][2D] the eh_proj inputs
}

// Hidden returns the hidden states of the last step's rows that asked for them (KeepHidden), in row
// order ([k][D]; reused by the next step).
func (b *MTPBatch) Hidden() []float32 { return b.batch.hidden }

// ForwardMTP runs MTP block b.Block over b.Rows (DeepSeek-V3 report §2.2; llama.cpp's deepseek2 MTP
// graph): per row h = eh_proj·[RMSNorm_e(embed(Next)) ; RMSNorm_h(Hidden)], the block's MLA and MoE
// over h (its latent rows cached at each row's Pos in the MTP layer of the sequence's cache), then
// logits = head·RMSNorm(h) with the block's own embedding, head norm and head where the file has them
// and the main model's otherwise. It returns the logits of the rows that ask for them, in row order
// ([k][V]; reused by the next step).
//
// The rows of one sequence must be at consecutive positions. Each row's position must be writable
// (kvcache.Seq.Writable): reserved and private, which Seq.ReserveFrom(pos, end) ensures, since the row at
// the last cached position writes into a block the sequence may share with a fork or the prefix cache.
// ForwardMTP does not move Seq.Len, which counts the main model's positions. The MTP layer of the cache
// follows the sequence as the other layers do (Truncate, Fork, Free); its rows at positions a sequence
// got from the prefix cache are whatever the sequence that wrote them left, so a drafter that wants
// exact MTP attention reruns those positions (the drafts only lose acceptance otherwise, never
// correctness).
func (m *Model) ForwardMTP(p *kernels.Pool, b *MTPBatch) ([]float32, error) {
	if b.Block < 0 || b.Block >= len(m.MTP) {
		return nil, fmt.Errorf("model: MTP block %d: the model has %d", b.Block, len(m.MTP))
	}
	if len(b.Rows) == 0 {
		return nil, fmt.Errorf("model: MTP forward of no rows")
	}
	n, D := len(b.Rows), m.Dim
	in := &b.batch
	in.Rows, in.seqs = in.Rows[:0], in.seqs[:0]
	maxPos := 0
	for i, r := range b.Rows {
		switch {
		case r.Seq == nil:
			return nil, fmt.Errorf("model: MTP row %d has no sequence", i)
		case len(r.Hidden) != D:
			return nil, fmt.Errorf("model: MTP row %d has a hidden state of %d values, want %d", i, len(r.Hidden), D)
		case r.Next < 0 || int(r.Next) >= m.Vocab:
			return nil, fmt.Errorf("model: MTP row %d: token id %d out of range [0, %d)", i, r.Next, m.Vocab)
		case !r.Seq.Writable(r.Pos):
			return nil, fmt.Errorf("model: MTP row %d: position %d is not reserved or is shared (kvcache.Seq.ReserveFrom)", i, r.Pos)
		}
		j := 0
		for j < len(in.seqs) && in.seqs[j].s != r.Seq {
			j++
		}
		if j == len(in.seqs) {
			in.seqs = append(in.seqs, seqEnd{r.Seq, r.Pos})
		}
		if r.Pos != in.seqs[j].end {
			return nil, fmt.Errorf("model: MTP row %d is at position %d, its sequence's previous row at %d", i, r.Pos, in.seqs[j].end-1)
		}
		in.seqs[j].end++
		maxPos = max(maxPos, r.Pos+1)
		in.Rows = append(in.Rows, Row{Token: r.Next, Seq: r.Seq, Pos: r.Pos, Logits: r.Logits, Hidden: r.KeepHidden})
	}
	T := &m.MTP[b.Block]
	sc := &in.sc
	sc.reserve(m, n, maxPos)
	emb, norm, head := T.Embed, T.HeadNorm, T.Head
	if emb.Rows == 0 {
		emb = m.Embed
	}
	if norm == nil {
		norm = m.OutNorm
	}
	if head.Rows == 0 {
		head = m.Output
	}
	b.cat = growTo(b.cat, n*2*D)
	for i, r := range b.Rows {
		e, h := b.cat[2*i*D:(2*i+1)*D], b.cat[(2*i+1)*D:(2*i+2)*D]
		if err := kernels.DequantizeRow(emb.Type, e, row(emb, int(r.Next))); err != nil {
			return nil, err
		}
		kernels.RMSNorm(e, e, T.ENorm, m.Eps)
		kernels.RMSNorm(h, r.Hidden, T.HNorm, m.Eps)
	}
	p.MatMul(sc.x[:n*D], T.EHProj, b.cat, n)
	half := m.RopeDim / 2
	for i, r := range in.Rows {
		m.MLARope.CosSin(sc.mla.cos[i*half:(i+1)*half], sc.mla.sin[i*half:(i+1)*half], r.Pos)
	}
	m.mlaBlock(p, in, &T.MLALayer, m.Blocks+b.Block, false)
	return m.outputs(p, in, norm, head), nil
}
