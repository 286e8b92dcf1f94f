package model

import (
	"fmt"
	"math"

	"github.com/wasmoe/wasmoe/kernels"
)

// Forward appends tokens to the sequence and runs the transformer over them (spec §3 for deepseek2, §5 for
// qwen2 and llama). With all set it returns the logits of every new position ([len(tokens)][V]);
// otherwise only those of the last ([V]). The returned slice is reused by the next call.
func (m *Model) Forward(p *kernels.Pool, s *State, tokens []int32, all bool) ([]float32, error) {
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("model: forward of no tokens")
	}
	if s.Pos+n > s.maxPos {
		return nil, fmt.Errorf("model: %d tokens at position %d exceed the context of %d", n, s.Pos, s.maxPos)
	}
	D := m.Dim
	s.reserve(m, n)
	x := s.x[:n*D]

	// Embedding lookup: x[i] = E[tokens[i]].
	for i, t := range tokens {
		if t < 0 || int(t) >= m.Vocab {
			return nil, fmt.Errorf("model: token id %d out of range [0, %d)", t, m.Vocab)
		}
		if err := kernels.DequantizeRow(m.Embed.Type, x[i*D:(i+1)*D], row(m.Embed, int(t))); err != nil {
			return nil, err
		}
	}
	if m.Arch == archDeepSeek2 {
		m.deepseekBlocks(p, s, n)
	} else {
		m.denseBlocks(p, s, n)
	}
	s.Pos += n

	// Output: logits = Output · RMSNorm(x) for the rows wanted.
	first := 0
	if !all {
		first = n - 1
	}
	rows := n - first
	if cap(s.logits) < rows*m.Vocab {
		s.logits = make([]float32, rows*m.Vocab)
	}
	logits := s.logits[:rows*m.Vocab]
	xn := s.xn[:rows*D]
	rmsNormRows(xn, x[first*D:], m.OutNorm, m.Eps, rows)
	p.MatMul(logits, m.Output, xn, rows)
	return logits, nil
}

// denseBlocks runs the qwen2 / llama blocks over the n tokens in s.x at positions s.Pos onwards.
func (m *Model) denseBlocks(p *kernels.Pool, s *State, n int) {
	D, hd := m.Dim, m.HeadDim
	qDim, kvDim := m.Heads*hd, m.KVHeads*hd
	x, xn := s.x[:n*D], s.xn[:n*D]
	scale := float32(1 / math.Sqrt(float64(hd)))
	for l := range m.Layers {
		L := &m.Layers[l]
		// Attention: xn = RMSNorm(x); q, k, v = W·xn (+ b); RoPE(q, k); cache k, v; attend; x += Wo·att.
		rmsNormRows(xn, x, L.AttnNorm, m.Eps, n)
		q, k, v := s.q[:n*qDim], s.k[:n*kvDim], s.v[:n*kvDim]
		p.MatMul(q, L.Wq, xn, n)
		p.MatMul(k, L.Wk, xn, n)
		p.MatMul(v, L.Wv, xn, n)
		addBias(q, L.Bq, n)
		addBias(k, L.Bk, n)
		addBias(v, L.Bv, n)
		att := s.att[:n*qDim]
		for i := 0; i < n; i++ {
			pos := s.Pos + i
			qi, ki := q[i*qDim:(i+1)*qDim], k[i*kvDim:(i+1)*kvDim]
			kernels.RoPEAngles(s.theta, pos, m.RopeBase, m.RopeScale, m.RopeFactors)
			kernels.RoPEWithAngles(qi, m.Heads, hd, s.theta, m.Neox)
			kernels.RoPEWithAngles(ki, m.KVHeads, hd, s.theta, m.Neox)
			copy(s.keys[l][pos*kvDim:], ki)
			copy(s.vals[l][pos*kvDim:], v[i*kvDim:(i+1)*kvDim])
			p.Attention(att[i*qDim:(i+1)*qDim], qi, s.keys[l], s.vals[l], pos+1, m.Heads, m.KVHeads, hd, scale, s.scores)
		}
		proj := s.proj[:n*D]
		p.MatMul(proj, L.Wo, att, n)
		kernels.Add(x, proj)

		// Feed-forward: xn = RMSNorm(x); x += Wdown·(silu(Wgate·xn) ⊙ Wup·xn).
		rmsNormRows(xn, x, L.FFNNorm, m.Eps, n)
		swiglu(p, proj, L.Wgate, L.Wup, L.Wdown, xn, s.gate, s.up, n)
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
