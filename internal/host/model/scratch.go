package model

import "github.com/wasmoe/wasmoe/internal/kernels"

// scratch is the working memory of one forward step over n rows. Its buffers grow to the largest step
// and are then reused.
type scratch struct {
	batch  int
	x      []float32 // [n][D]     residual stream
	xn     []float32 // [n][D]     normed input of a sub-layer
	q      []float32 // [n][H·hd]  queries
	k, v   []float32 // [n][H_kv·hd]
	att    []float32 // [n][H·hd]  attention output (deepseek2: [n][H·dv])
	proj   []float32 // [n][D]     sub-layer output before the residual add
	gate   []float32 // [n][I]     (deepseek2: the widest of I and Shared·Ie)
	up     []float32 // [n][I]
	scores []float32 // [H][positions] attention weights of one row
	theta  []float32 // [RopeDim/2] rotary angles of one position
	logits []float32 // [rows wanting logits][V]
	mla    mlaScratch
}

// mlaScratch is the deepseek2 part of the scratch.
type mlaScratch struct {
	cq       []float32 // [n][rq]       query latent (V3 style)
	kv       []float32 // [n][rkv+dr]   new cache rows
	cos, sin []float32 // [n][dr/2]     rotation of each new position
	qa       []float32 // [n][H][rkv+dr] absorbed queries [q_abs ; q_pe]
	lat      []float32 // [n][H][rkv+dr] attention output over the cache rows (the first rkv are used)
	in, out  []float32 // [n][max(dn, rkv, dq)] per-head gather and scatter
	router   []float32 // [n][E] router logits
	ids      []int32   // [n][K] chosen experts
	weights  []float32 // [n][K] their weights
	moe      []float32 // [n][D] routed experts' output
	route    kernels.RouteScratch
	experts  kernels.MoEScratch
	naive    naiveScratch
}

// reserve sizes the scratch for n rows attending over up to positions cached positions.
func (s *scratch) reserve(m *Model, n, positions int) {
	if need := m.Heads * positions; cap(s.scores) < need { // grows by half again: decoding adds a position a step
		s.scores = make([]float32, need, need+need/2)
	}
	s.scores = s.scores[:m.Heads*positions]
	if s.theta == nil && m.Arch != archDeepSeek2 {
		s.theta = make([]float32, m.RopeDim/2)
	}
	if n <= s.batch {
		return
	}
	s.x = make([]float32, n*m.Dim)
	s.xn = make([]float32, n*m.Dim)
	s.proj = make([]float32, n*m.Dim)
	if m.Arch == archDeepSeek2 {
		s.reserveMLA(m, n)
	} else {
		qDim, kvDim := m.Heads*m.HeadDim, m.KVHeads*m.HeadDim
		s.q = make([]float32, n*qDim)
		s.k = make([]float32, n*kvDim)
		s.v = make([]float32, n*kvDim)
		s.att = make([]float32, n*qDim)
		s.gate = make([]float32, n*m.FFN)
		s.up = make([]float32, n*m.FFN)
	}
	s.batch = n
}

// reserveMLA sizes the deepseek2 scratch for n rows.
func (s *scratch) reserveMLA(m *Model, n int) {
	H, dq, rkv := m.Heads, m.HeadDim, m.MLA.KVLoRA
	kw := rkv + m.RopeDim
	ffn := max(m.FFN, m.MoE.Shared*m.MoE.FFN)
	s.q = make([]float32, n*H*dq)
	s.att = make([]float32, n*H*m.MLA.ValueDim)
	s.gate = make([]float32, n*ffn)
	s.up = make([]float32, n*ffn)
	d := &s.mla
	d.cq = make([]float32, n*m.MLA.QLoRA)
	d.kv = make([]float32, n*kw)
	d.cos = make([]float32, n*m.RopeDim/2)
	d.sin = make([]float32, n*m.RopeDim/2)
	d.qa = make([]float32, n*H*kw)
	d.lat = make([]float32, n*H*kw)
	d.in = make([]float32, n*max(dq, rkv))
	d.out = make([]float32, n*max(rkv, m.MLA.ValueDim))
	d.router = make([]float32, n*m.MoE.Experts)
	d.ids = make([]int32, n*m.MoE.Used)
	d.weights = make([]float32, n*m.MoE.Used)
	d.moe = make([]float32, n*m.Dim)
}

// growTo returns b with length n, reallocating only when its capacity is short.
func growTo(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}
