package model

// State is one sequence: its position, its KV cache and the scratch buffers of the forward pass. The cache
// and the buffers grow on demand and are then reused, so steady-state decoding allocates nothing.
// A State is used by one goroutine at a time.
type State struct {
	Pos int // tokens already in the cache

	keys, vals [][]float32 // per layer: [capacity][H_kv·hd]
	capacity   int         // positions the cache holds now
	maxPos     int         // hard limit: the context length

	// Scratch for a batch of n tokens.
	batch  int
	x      []float32 // [n][D]     residual stream
	xn     []float32 // [n][D]     normed input of a sub-layer
	q      []float32 // [n][H·hd]  queries
	k, v   []float32 // [n][H_kv·hd]
	att    []float32 // [n][H·hd]  attention output
	proj   []float32 // [n][D]     sub-layer output before the residual add
	gate   []float32 // [n][I]
	up     []float32 // [n][I]
	scores []float32 // [H][capacity] attention weights
	theta  []float32 // [RopeDim/2] rotary angles of one position
	logits []float32 // [n][V]
}

// NewState returns an empty sequence for m, limited to maxPos tokens (0 or more than the model's context
// means the model's context length).
func (m *Model) NewState(maxPos int) *State {
	if maxPos <= 0 || maxPos > m.Context {
		maxPos = m.Context
	}
	return &State{maxPos: maxPos, keys: make([][]float32, m.Blocks), vals: make([][]float32, m.Blocks),
		theta: make([]float32, m.RopeDim/2)}
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

// reserve makes room for n more tokens in the cache and scratch for a batch of n.
func (s *State) reserve(m *Model, n int) {
	need := s.Pos + n
	if need > s.capacity {
		c := max(need, 2*s.capacity, 64)
		c = min(c, s.maxPos)
		kvDim := m.KVHeads * m.HeadDim
		for l := range s.keys {
			s.keys[l] = grow(s.keys[l], c*kvDim, s.Pos*kvDim)
			s.vals[l] = grow(s.vals[l], c*kvDim, s.Pos*kvDim)
		}
		s.capacity = c
		s.scores = make([]float32, m.Heads*c)
	}
	if n > s.batch {
		qDim, kvDim := m.Heads*m.HeadDim, m.KVHeads*m.HeadDim
		s.x = make([]float32, n*m.Dim)
		s.xn = make([]float32, n*m.Dim)
		s.q = make([]float32, n*qDim)
		s.k = make([]float32, n*kvDim)
		s.v = make([]float32, n*kvDim)
		s.att = make([]float32, n*qDim)
		s.proj = make([]float32, n*m.Dim)
		s.gate = make([]float32, n*m.FFN)
		s.up = make([]float32, n*m.FFN)
		s.batch = n
	}
}

// grow returns a slice of length n holding the first keep values of b.
func grow(b []float32, n, keep int) []float32 {
	nb := make([]float32, n)
	copy(nb, b[:keep])
	return nb
}
