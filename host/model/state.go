package model

import "github.com/wasmoe/wasmoe/kernels"

// State is one sequence: its position, its KV cache and the scratch buffers of the forward pass. The cache
// and the buffers grow on demand and are then reused, so steady-state decoding allocates nothing.
// A State is used by one goroutine at a time.
type State struct {
	Pos int // tokens already in the cache

	// The cache, per block. qwen2 / llama: keys and vals are [capacity][H_kv·hd]. deepseek2: keys holds
	// the latent rows [capacity][rkv+dr] = [c_kv ; rotated k_pe] and vals is unused.
	keys, vals [][]float32
	capacity   int // positions the cache holds now
	maxPos     int // hard limit: the context length

	// Scratch for a batch of n tokens.
	batch  int
	x      []float32 // [n][D]     residual stream
	xn     []float32 // [n][D]     normed input of a sub-layer
	q      []float32 // [n][H·hd]  queries
	k, v   []float32 // [n][H_kv·hd]
	att    []float32 // [n][H·hd]  attention output (deepseek2: [n][H·dv])
	proj   []float32 // [n][D]     sub-layer output before the residual add
	gate   []float32 // [n][I]     (deepseek2: the widest of I and Shared·Ie)
	up     []float32 // [n][I]
	scores []float32 // [H][capacity] attention weights
	theta  []float32 // [RopeDim/2] rotary angles of one position
	logits []float32 // [n][V]
	mla    mlaScratch
}

// mlaScratch is the deepseek2 part of a State's scratch.
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

// NewState returns an empty sequence for m, limited to maxPos tokens (0 or more than the model's context
// means the model's context length).
func (m *Model) NewState(maxPos int) *State {
	if maxPos <= 0 || maxPos > m.Context {
		maxPos = m.Context
	}
	s := &State{maxPos: maxPos, keys: make([][]float32, m.Blocks)}
	if m.Arch != archDeepSeek2 {
		s.vals = make([][]float32, m.Blocks)
		s.theta = make([]float32, m.RopeDim/2)
	}
	return s
}

// MaxPos is the number of tokens the sequence can hold.
func (s *State) MaxPos() int { return s.maxPos }

// Reset empties the sequence but keeps its memory.
func (s *State) Reset() { s.Pos = 0 }

// Truncate drops every token at position n and after (n <= Pos).
func (s *State) Truncate(n int) {
	if n < s.Pos {
		s.Pos = max(n, 0)
	}
}

// Fork returns a new sequence holding a copy of s's cached tokens: the two then go their own ways.
func (m *Model) Fork(s *State) *State {
	c := m.NewState(s.maxPos)
	if s.Pos > 0 {
		c.capacity = min(max(s.Pos, 64), c.maxPos)
		w := m.cacheWidth()
		for l := range s.keys {
			c.keys[l] = make([]float32, c.capacity*w)
			copy(c.keys[l], s.keys[l][:s.Pos*w])
		}
		for l := range s.vals {
			c.vals[l] = make([]float32, c.capacity*w)
			copy(c.vals[l], s.vals[l][:s.Pos*w])
		}
		c.scores = make([]float32, m.Heads*c.capacity)
		c.Pos = s.Pos
	}
	return c
}

// cacheWidth is the number of values a block caches per position in keys (and in vals for dense models).
func (m *Model) cacheWidth() int {
	if m.Arch == archDeepSeek2 {
		return m.MLA.KVLoRA + m.RopeDim
	}
	return m.KVHeads * m.HeadDim
}

// reserve makes room for n more tokens in the cache and scratch for a batch of n.
func (s *State) reserve(m *Model, n int) {
	need := s.Pos + n
	if need > s.capacity {
		c := max(need, 2*s.capacity, 64)
		c = min(c, s.maxPos)
		w := m.cacheWidth()
		for l := range s.keys {
			s.keys[l] = grow(s.keys[l], c*w, s.Pos*w)
		}
		for l := range s.vals {
			s.vals[l] = grow(s.vals[l], c*w, s.Pos*w)
		}
		s.capacity = c
		s.scores = make([]float32, m.Heads*c)
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

// reserveMLA sizes the deepseek2 scratch for a batch of n.
func (s *State) reserveMLA(m *Model, n int) {
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

// grow returns a slice of length n holding the first keep values of b.
func grow(b []float32, n, keep int) []float32 {
	nb := make([]float32, n)
	copy(nb, b[:keep])
	return nb
}
