package kvcache

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// write stores a value identifying (token, position) in every float a position owns, as a model would.
func write(s *Seq, pos int, token int32) {
	bt := s.pool.blockTokens
	per := s.pool.blockFloats / bt
	d := s.pages[pos/bt][pos%bt*per : (pos%bt+1)*per]
	for i := range d {
		d[i] = float32(token)*1000 + float32(pos)
	}
}

// holds reports whether s holds tokens at positions [0, len(tokens)), as written by write.
func holdsTokens(s *Seq, tokens []int32) bool {
	bt := s.pool.blockTokens
	per := s.pool.blockFloats / bt
	for pos, t := range tokens {
		d := s.pages[pos/bt][pos%bt*per : (pos%bt+1)*per]
		for _, v := range d {
			if v != float32(t)*1000+float32(pos) {
				return false
			}
		}
	}
	return true
}

func appendTokens(t *testing.T, s *Seq, all []int32, to int) {
	t.Helper()
	if err := s.Reserve(to); err != nil {
		t.Fatal(err)
	}
	for pos := s.Len; pos < to; pos++ {
		write(s, pos, all[pos])
	}
	s.Len = to
}

func TestForkCopyOnWrite(t *testing.T) {
	p := NewPool(8, 4, 4*3)
	a := p.NewSeq()
	toks := []int32{1, 2, 3, 4, 5, 6}
	appendTokens(t, a, toks, 6)
	if p.Used() != 2 {
		t.Fatalf("used %d blocks for 6 positions of 4 per block, want 2", p.Used())
	}
	b := a.Fork()
	if p.Used() != 2 {
		t.Fatalf("a fork took blocks: used %d", p.Used())
	}
	if b.Need(7) != 1 {
		t.Fatalf("writing into the shared second block needs %d blocks, want 1", b.Need(7))
	}
	other := append(toks[:6:6], 9)
	appendTokens(t, b, other, 7)
	appendTokens(t, a, append(toks[:6:6], 7, 8, 10), 9)
	if !holdsTokens(a, []int32{1, 2, 3, 4, 5, 6, 7, 8, 10}) || !holdsTokens(b, other) {
		t.Fatal("a write through one fork changed the other")
	}
	if a.blocks[0] != b.blocks[0] || a.blocks[1] == b.blocks[1] {
		t.Fatalf("tables %v and %v: the full first block should stay shared, the written one not", a.blocks, b.blocks)
	}
	a.Free()
	b.Free()
	if p.Used() != 0 || p.Available() != 8 {
		t.Fatalf("after freeing both: used %d, available %d", p.Used(), p.Available())
	}
}

func TestTruncateGivesBlocksBack(t *testing.T) {
	p := NewPool(4, 4, 4)
	s := p.NewSeq()
	toks := make([]int32, 16)
	appendTokens(t, s, toks, 16)
	if err := s.Reserve(17); !errors.Is(err, ErrFull) {
		t.Fatalf("a 17th position in a 16-position pool: %v, want ErrFull", err)
	}
	s.Truncate(5)
	if p.Used() != 2 || s.Len != 5 {
		t.Fatalf("truncated to 5: used %d blocks, len %d", p.Used(), s.Len)
	}
}

func TestPrefixHitVerifiedAndNamespaced(t *testing.T) {
	p := NewPool(16, 4, 8)
	prompt := []int32{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}
	a := p.NewSeq()
	appendTokens(t, a, prompt, len(prompt))
	p.Publish(a, 1, prompt)
	a.Free()
	if p.Used() != 0 || p.Cached() != 2 {
		t.Fatalf("after publishing 2 full blocks and freeing: used %d, cached %d", p.Used(), p.Cached())
	}
	b := p.NewSeq()
	if n := p.Lookup(b, 1, prompt, len(prompt)); n != 8 || !holdsTokens(b, prompt[:8]) {
		t.Fatalf("hit of %d positions, want 8 with the same contents", n)
	}
	b.Free()
	c := p.NewSeq()
	if n := p.Lookup(c, 2, prompt, len(prompt)); n != 0 {
		t.Fatalf("another namespace hit %d positions", n)
	}
	diverged := append([]int32{10, 11, 12, 13, 99}, prompt[5:]...)
	if n := p.Lookup(c, 1, diverged, len(diverged)); n != 4 {
		t.Fatalf("a prompt that diverges in the second block hit %d positions, want 4", n)
	}
	c.Free()
	d := p.NewSeq()
	if n := p.Lookup(d, 1, prompt, 7); n != 4 {
		t.Fatalf("a hit limited to 7 positions gave %d, want 4", n)
	}
	// Writing past a shared cached block copies it: the cache keeps the original.
	d.Truncate(3)
	appendTokens(t, d, []int32{10, 11, 12, 77}, 4)
	d.Free()
	e := p.NewSeq()
	if n := p.Lookup(e, 1, prompt, len(prompt)); n != 8 || !holdsTokens(e, prompt[:8]) {
		t.Fatalf("after a fork of a cached block was written, the cache hit %d positions or lost its contents", n)
	}
}

func TestPrefixEvictionLRU(t *testing.T) {
	p := NewPool(4, 2, 2)
	var prompts [][]int32
	for i := range 2 {
		pr := []int32{int32(i), int32(i), int32(i), int32(i)}
		prompts = append(prompts, pr)
		s := p.NewSeq()
		appendTokens(t, s, pr, 4)
		p.Publish(s, 0, pr)
		s.Free()
	}
	if p.Available() != 4 || p.Cached() != 4 {
		t.Fatalf("available %d cached %d, want 4 and 4", p.Available(), p.Cached())
	}
	hit := p.NewSeq()
	p.Lookup(hit, 0, prompts[0], 4) // prompt 0 is now the most recent
	hit.Free()
	s := p.NewSeq()
	appendTokens(t, s, []int32{7, 7, 7, 7}, 4) // needs two blocks: prompt 1's go
	s.Free()
	if n := p.Lookup(p.NewSeq(), 0, prompts[1], 4); n != 0 {
		t.Fatalf("the least recently used prompt still hits %d positions", n)
	}
	if n := p.Lookup(p.NewSeq(), 0, prompts[0], 4); n != 4 {
		t.Fatalf("the recently used prompt hits %d positions, want 4", n)
	}
}

// A random mix of sequences, forks, truncations, publications and lookups keeps the pool's books: every
// block's holder count is what the tables and the cache say, and every sequence reads what it wrote.
func TestPoolRandomOperations(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := NewPool(24, 4, 8)
	type live struct {
		s    *Seq
		toks []int32
	}
	var seqs []*live
	for step := range 3000 {
		switch op := r.IntN(6); {
		case op == 0 || len(seqs) == 0:
			toks := make([]int32, 1+r.IntN(12))
			for i := range toks {
				toks[i] = int32(r.IntN(3))
			}
			s := p.NewSeq()
			n := p.Lookup(s, 0, toks, len(toks)-1)
			if !holdsTokens(s, toks[:n]) {
				t.Fatalf("step %d: a prefix hit of %d positions holds other tokens", step, n)
			}
			if s.Reserve(len(toks)) != nil {
				s.Free()
				continue
			}
			for pos := n; pos < len(toks); pos++ {
				write(s, pos, toks[pos])
			}
			s.Len = len(toks)
			seqs = append(seqs, &live{s, toks})
		case op == 1:
			l := seqs[r.IntN(len(seqs))]
			seqs = append(seqs, &live{l.s.Fork(), append([]int32(nil), l.toks...)})
		case op == 2:
			l := seqs[r.IntN(len(seqs))]
			n := r.IntN(len(l.toks) + 1)
			l.s.Truncate(n)
			l.toks = l.toks[:n]
		case op == 3:
			l := seqs[r.IntN(len(seqs))]
			tok := int32(r.IntN(3))
			if l.s.Reserve(l.s.Len+1) == nil {
				write(l.s, l.s.Len, tok)
				l.s.Len++
				l.toks = append(l.toks, tok)
			}
		case op == 4:
			l := seqs[r.IntN(len(seqs))]
			p.Publish(l.s, 0, l.toks)
		default:
			i := r.IntN(len(seqs))
			seqs[i].s.Free()
			seqs = append(seqs[:i], seqs[i+1:]...)
		}
		holders := make([]int32, p.Blocks())
		for _, l := range seqs {
			if !holdsTokens(l.s, l.toks) {
				t.Fatalf("step %d: a sequence lost its tokens", step)
			}
			for _, id := range l.s.blocks {
				holders[id]++
			}
		}
		idle := 0
		for id := range holders {
			if p.prefix.meta[id].cached {
				if holders[id] == 0 {
					idle++
				}
				holders[id]++
			}
			if holders[id] != p.refs[id] {
				t.Fatalf("step %d: block %d has %d holders, refs say %d", step, id, holders[id], p.refs[id])
			}
		}
		if idle != p.prefix.idle || p.Used()+p.Available() != p.Blocks() {
			t.Fatalf("step %d: idle %d, counted %d; used %d + available %d != %d", step, p.prefix.idle, idle, p.Used(), p.Available(), p.Blocks())
		}
	}
}

// TestReserveFrom: a fork's positions before its Len are not writable until ReserveFrom copies their
// block; the copy holds the shared positions, and rewriting one of them changes the parent not at all.
func TestReserveFrom(t *testing.T) {
	p := NewPool(4, 4, 8)
	s := p.NewSeq()
	tokens := []int32{5, 6, 7, 8, 9, 10}
	appendTokens(t, s, tokens, len(tokens))
	f := s.Fork()
	if f.Writable(5) || s.Writable(5) || f.Writable(-1) || f.Writable(8) {
		t.Fatal("a shared or unreserved position is writable")
	}
	if err := f.ReserveFrom(5, 7); err != nil {
		t.Fatal(err)
	}
	if !f.Writable(5) || !f.Writable(6) || f.Writable(3) || !s.Writable(5) || s.Writable(3) || f.Len != 6 {
		t.Fatalf("after ReserveFrom(5, 7): writable %v %v %v, parent %v %v, len %d", f.Writable(5), f.Writable(6),
			f.Writable(3), s.Writable(5), s.Writable(3), f.Len)
	}
	if !holdsTokens(f, tokens) {
		t.Fatal("the private copy lost the shared positions")
	}
	write(f, 5, 99)
	if !holdsTokens(s, tokens) || !holdsTokens(f, []int32{5, 6, 7, 8, 9, 99}) {
		t.Fatal("rewriting the fork's position changed the parent, or did not take")
	}
}
