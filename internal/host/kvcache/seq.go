package kvcache

// Seq is one sequence's view of a pool: its block table and how many positions it holds. Block i of the
// table holds positions [i·BlockTokens, (i+1)·BlockTokens). Blocks may be shared with forks and with the
// prefix cache; Reserve copies a shared block before the sequence writes into it.
type Seq struct {
	pool   *Pool
	blocks []int32
	pages  [][]float32 // the blocks' data, in table order (the attention kernels read these)
	Len    int         // positions whose cache rows are written
}

// NewSeq returns an empty sequence on p.
func (p *Pool) NewSeq() *Seq { return &Seq{pool: p} }

// Pool is the pool the sequence takes its blocks from.
func (s *Seq) Pool() *Pool { return s.pool }

// Pages is the data of the sequence's blocks in position order.
func (s *Seq) Pages() [][]float32 { return s.pages }

// Blocks is the sequence's block table.
func (s *Seq) Blocks() []int32 { return s.blocks }

// Reserve makes positions [s.Len, end) writable: it appends blocks and replaces a shared block in that
// range by a private copy. On ErrFull the sequence keeps what it got and may be reserved again later.
func (s *Seq) Reserve(end int) error { return s.ReserveFrom(s.Len, end) }

// ReserveFrom is Reserve from position start (at most s.Len): it also makes the blocks holding positions
// [start, s.Len) private, for a writer that rewrites some of a position's rows after the position is
// cached (the model's multi-token-prediction block caches its row at the last cached position).
func (s *Seq) ReserveFrom(start, end int) error {
	bt := s.pool.blockTokens
	for b := max(min(start, s.Len), 0) / bt; b*bt < end; b++ {
		if b < len(s.blocks) {
			if id := s.blocks[b]; s.pool.refs[id] > 1 {
				c, err := s.pool.alloc()
				if err != nil {
					return err
				}
				copy(s.pool.data[c], s.pool.data[id])
				s.pool.unref(id)
				s.blocks[b], s.pages[b] = c, s.pool.data[c]
			}
			continue
		}
		id, err := s.pool.alloc()
		if err != nil {
			return err
		}
		s.blocks = append(s.blocks, id)
		s.pages = append(s.pages, s.pool.data[id])
	}
	return nil
}

// Writable reports whether position pos lies in a block the sequence holds alone (reserved, not shared
// with a fork or the prefix cache), so that writing its rows changes no other sequence.
func (s *Seq) Writable(pos int) bool {
	b := pos / s.pool.blockTokens
	return pos >= 0 && b < len(s.blocks) && s.pool.refs[s.blocks[b]] == 1
}

// Need is the number of blocks Reserve(end) would take from the pool.
func (s *Seq) Need(end int) int {
	bt := s.pool.blockTokens
	n := 0
	for b := s.Len / bt; b*bt < end; b++ {
		if b >= len(s.blocks) || s.pool.refs[s.blocks[b]] > 1 {
			n++
		}
	}
	return n
}

// Truncate keeps the first n positions (fewer when it holds fewer) and gives back the blocks past them,
// reserved ones included.
func (s *Seq) Truncate(n int) {
	s.Len = max(min(n, s.Len), 0)
	keep := (s.Len + s.pool.blockTokens - 1) / s.pool.blockTokens
	for _, id := range s.blocks[keep:] {
		s.pool.unref(id)
	}
	clear(s.pages[keep:])
	s.blocks, s.pages = s.blocks[:keep], s.pages[:keep]
}

// Fork returns a sequence holding the same positions in the same blocks; whichever writes into a shared
// block first copies it.
func (s *Seq) Fork() *Seq {
	c := &Seq{pool: s.pool, blocks: append([]int32(nil), s.blocks...), pages: append([][]float32(nil), s.pages...), Len: s.Len}
	for _, id := range c.blocks {
		s.pool.ref(id)
	}
	return c
}

// Free gives back every block; the sequence is then empty and may be used again.
func (s *Seq) Free() { s.Truncate(0) }

// Adopt starts an empty sequence on blocks the prefix cache found (Pool.Lookup), holding n positions.
func (s *Seq) adopt(blocks []int32, n int) {
	for _, id := range blocks {
		s.pool.ref(id)
		s.blocks = append(s.blocks, id)
		s.pages = append(s.pages, s.pool.data[id])
	}
	s.Len = n
}
