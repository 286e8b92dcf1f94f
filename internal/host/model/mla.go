package model

import "github.com/wasmoe/wasmoe/internal/kernels"

// deepseekBlocks runs the deepseek2 blocks over the batch's rows, whose embeddings are in sc.x (spec
// §3.1): per block x += MLA(RMSNorm(x)), then x += FFN(RMSNorm(x)) with a dense FFN in the leading blocks
// and DeepSeekMoE in the others. naive lets MLA take its naive form for a batch of NaiveFrom rows or more
// (all of one sequence).
func (m *Model) deepseekBlocks(p *kernels.Pool, b *Batch, naive bool) {
	half := m.RopeDim / 2
	d := &b.sc.mla
	for i, r := range b.Rows { // the rotation of each row's position, shared by every block
		m.MLARope.CosSin(d.cos[i*half:(i+1)*half], d.sin[i*half:(i+1)*half], r.Pos)
	}
	for l := range m.MLALayers {
		m.mlaBlock(p, b, &m.MLALayers[l], l, naive)
	}
}

// mlaBlock runs block L, which caches its rows as layer l of the KV cache, over the rows' residual stream
// in sc.x (the rows' rotations already in sc.mla.cos, sin): x += MLA(RMSNorm(x)), x += FFN(RMSNorm(x)).
func (m *Model) mlaBlock(p *kernels.Pool, b *Batch, L *MLALayer, l int, naive bool) {
	n, D := len(b.Rows), m.Dim
	sc := &b.sc
	x, xn, proj := sc.x[:n*D], sc.xn[:n*D], sc.proj[:n*D]
	rmsNormRows(xn, x, L.AttnNorm, m.Eps, n)
	m.attention(p, b, L, l, naive)
	p.MatMul(proj, L.Wo, sc.att[:n*m.Heads*m.MLA.ValueDim], n)
	kernels.Add(x, proj)

	rmsNormRows(xn, x, L.FFNNorm, m.Eps, n)
	if L.MoE == nil {
		swiglu(p, proj, L.Wgate, L.Wup, L.Wdown, xn, sc.gate, sc.up, n)
	} else {
		m.moe(p, sc, L.MoE, n)
	}
	kernels.Add(x, proj)
}

// attention computes MLA (spec §3.4) for the rows whose normed inputs are in sc.xn: it caches their
// latent rows in block l and leaves the heads' outputs, before attn_output, in sc.att ([n][H·dv]).
func (m *Model) attention(p *kernels.Pool, b *Batch, L *MLALayer, l int, naive bool) {
	n, H, dq, dn, dr, rkv := len(b.Rows), m.Heads, m.HeadDim, m.MLA.NopeDim, m.RopeDim, m.MLA.KVLoRA
	kw, half := rkv+dr, dr/2
	sc := &b.sc
	d := &sc.mla
	xn, q := sc.xn[:n*m.Dim], sc.q[:n*H*dq]
	if L.Wq.Rows > 0 {
		p.MatMul(q, L.Wq, xn, n)
	} else {
		cq := d.cq[:n*m.MLA.QLoRA]
		p.MatMul(cq, L.Wqa, xn, n)
		rmsNormRows(cq, cq, L.QANorm, m.Eps, n)
		p.MatMul(q, L.Wqb, cq, n)
	}
	// The cache row of a token is [RMSNorm(c_kv) ; RoPE(k_pe)]; q_pe, the last dr values of each head's
	// query, turns by the same angles.
	kv := d.kv[:n*kw]
	p.MatMul(kv, L.Wkva, xn, n)
	for i, r := range b.Rows {
		cos, sin := d.cos[i*half:(i+1)*half], d.sin[i*half:(i+1)*half]
		row := kv[i*kw : (i+1)*kw]
		kernels.RMSNorm(row[:rkv], row[:rkv], L.KVANorm, m.Eps)
		kernels.RoPECosSin(row[rkv:], 1, dr, cos, sin, false)
		kernels.RoPECosSin(q[i*H*dq+dn:(i+1)*H*dq], H, dq, cos, sin, false)
		c, _ := m.cacheRows(r.Seq, l, r.Pos)
		copy(c, row)
	}
	if naive && n >= m.NaiveFrom {
		m.naive(p, b, L, l)
	} else {
		m.absorbed(p, b, L, l)
	}
}

// absorbed is MLA's absorbed form (spec §3.4.3), llama.cpp's arithmetic: per head the query becomes
// [KB·q_nope ; q_pe], attends over the cache rows as multi-query attention with one rkv+dr wide key
// head whose first rkv values are also the value, and the attended latent goes through VB.
func (m *Model) absorbed(p *kernels.Pool, b *Batch, L *MLALayer, l int) {
	n, H, dq, dn, dv, rkv := len(b.Rows), m.Heads, m.HeadDim, m.MLA.NopeDim, m.MLA.ValueDim, m.MLA.KVLoRA
	kw := rkv + m.RopeDim
	sc := &b.sc
	d := &sc.mla
	q, qa, lat, att := sc.q[:n*H*dq], d.qa[:n*H*kw], d.lat[:n*H*kw], sc.att[:n*H*dv]
	in, out := d.in, d.out
	for h := range H {
		for i := range n {
			copy(in[i*dn:(i+1)*dn], q[(i*H+h)*dq:])
		}
		p.MatMul(out[:n*rkv], L.KB[h], in[:n*dn], n)
		for i := range n {
			r := qa[(i*H+h)*kw : (i*H+h+1)*kw]
			copy(r[:rkv], out[i*rkv:(i+1)*rkv])
			copy(r[rkv:], q[(i*H+h)*dq+dn:(i*H+h+1)*dq])
		}
	}
	for i, r := range b.Rows {
		p.PagedAttention(lat[i*H*kw:(i+1)*H*kw], qa[i*H*kw:(i+1)*H*kw], m.pages(r.Seq, l), r.Pos+1, H, 1, kw,
			m.AttnScale, sc.scores)
	}
	for h := range H {
		for i := range n {
			copy(in[i*rkv:(i+1)*rkv], lat[(i*H+h)*kw:])
		}
		p.MatMul(out[:n*dv], L.VB[h], in[:n*rkv], n)
		for i := range n {
			copy(att[(i*H+h)*dv:(i*H+h+1)*dv], out[i*dv:(i+1)*dv])
		}
	}
}

// naiveScratch is the working memory of the naive form; it grows with the cache and the batch.
type naiveScratch struct {
	c, k, kh, v, vt, sc []float32
}

// naiveChunk is the number of queries the naive form scores together. A chunk reads the keys and values
// only up to its last position, which skips most of the causally masked half.
const naiveChunk = 64

// naive is MLA's naive form (spec §3.4.2): the cached latents of all T positions are decompressed into
// per-head keys [UK·c_kv ; k_pe] and values VB·c_kv, then each head runs standard causal attention. It
// reads the same cache as absorbed and gives the same result up to float32 rounding (and, for quantized
// weights, the rounding of the activations they are multiplied with).
func (m *Model) naive(p *kernels.Pool, b *Batch, L *MLALayer, l int) {
	n, H, dq, dn, dv, rkv := len(b.Rows), m.Heads, m.HeadDim, m.MLA.NopeDim, m.MLA.ValueDim, m.MLA.KVLoRA
	seq, start := b.Rows[0].Seq, b.Rows[0].Pos
	T := start + n
	sc := &b.sc
	z := &sc.mla.naive
	z.c, z.k, z.kh = growTo(z.c, T*rkv), growTo(z.k, T*dn), growTo(z.kh, T*dq)
	z.v, z.vt, z.sc = growTo(z.v, T*dv), growTo(z.vt, dv*T), growTo(z.sc, min(n, naiveChunk)*T)
	q, att := sc.q[:n*H*dq], sc.att[:n*H*dv]
	for t := range T {
		c, _ := m.cacheRows(seq, l, t)
		copy(z.c[t*rkv:(t+1)*rkv], c)
	}
	for h := range H {
		p.MatMul(z.k, L.UK[h], z.c, T)
		for t := range T {
			c, _ := m.cacheRows(seq, l, t)
			copy(z.kh[t*dq:t*dq+dn], z.k[t*dn:(t+1)*dn])
			copy(z.kh[t*dq+dn:(t+1)*dq], c[rkv:])
		}
		p.MatMul(z.v, L.VB[h], z.c, T)
		for i0 := 0; i0 < n; i0 += naiveChunk {
			cn := min(naiveChunk, n-i0)
			tc := start + i0 + cn // positions the chunk's last query sees
			in, out, scores, vt := sc.mla.in[:cn*dq], sc.mla.out[:cn*dv], z.sc[:cn*tc], z.vt[:dv*tc]
			for i := range cn {
				copy(in[i*dq:(i+1)*dq], q[((i0+i)*H+h)*dq:])
			}
			p.MatMul(scores, f32Matrix(z.kh, tc, dq), in, cn)
			for i := range cn {
				r, valid := scores[i*tc:(i+1)*tc], start+i0+i+1
				for t := range valid {
					r[t] *= m.AttnScale
				}
				kernels.Softmax(r[:valid])
				clear(r[valid:])
			}
			for t := range tc {
				for j := range dv {
					vt[j*tc+t] = z.v[t*dv+j]
				}
			}
			p.MatMul(out, f32Matrix(vt, dv, tc), scores, cn)
			for i := range cn {
				copy(att[((i0+i)*H+h)*dv:((i0+i)*H+h+1)*dv], out[i*dv:(i+1)*dv])
			}
		}
	}
}

// moe computes DeepSeekMoE (spec §3.3) of the n vectors in s.xn into s.proj: the routed experts' weighted
// sum plus the shared experts, added in llama.cpp's order.
func (m *Model) moe(p *kernels.Pool, s *scratch, M *MoELayer, n int) {
	D, E, K := m.Dim, m.MoE.Experts, m.MoE.Used
	d := &s.mla
	xn, proj, routed := s.xn[:n*D], s.proj[:n*D], d.moe[:n*D]
	logits := d.router[:n*E]
	p.MatMul(logits, M.Gate, xn, n)
	for i := range n {
		M.Router.Route(d.ids[i*K:(i+1)*K], d.weights[i*K:(i+1)*K], logits[i*E:(i+1)*E], &d.route)
	}
	p.MoE(routed, xn, n, &M.Experts, d.ids[:n*K], d.weights[:n*K], K, &d.experts)
	if M.SharedDown.Rows == 0 {
		copy(proj, routed)
		return
	}
	swiglu(p, proj, M.SharedGate, M.SharedUp, M.SharedDown, xn, s.gate, s.up, n)
	kernels.Add(proj, routed)
}
