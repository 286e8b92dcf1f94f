package bpe

import "strings"

// mergeResult is what merging one pair of adjacent symbols gives: the merge's rank and the new symbol.
type mergeResult struct{ rank, sym int32 }

// merger applies the merges of a byte-level BPE vocabulary to one piece. Symbols are token ids; strings
// that merges produce but the vocabulary lacks (a malformed vocabulary) get ids from len(tokens) up.
type merger struct {
	nTokens int32
	textID  map[string]int32       // byte-level text → symbol
	merges  map[uint64]mergeResult // left<<32 | right → result
	byteSym [256]int32             // the symbol of each byte
}

func pairKey(left, right int32) uint64 { return uint64(uint32(left))<<32 | uint64(uint32(right)) }

func newMerger(tokens, merges []string) *merger {
	m := &merger{
		nTokens: int32(len(tokens)),
		textID:  make(map[string]int32, len(tokens)),
		merges:  make(map[uint64]mergeResult, len(merges)),
	}
	// As in llama.cpp, a text that several tokens share names the last of them.
	for id, s := range tokens {
		if s != "" {
			m.textID[s] = int32(id)
		}
	}
	next := m.nTokens
	intern := func(s string) int32 {
		id, ok := m.textID[s]
		if !ok {
			id = next
			next++
			m.textID[s] = id
		}
		return id
	}
	for b := range m.byteSym {
		m.byteSym[b] = intern(string(byteRune[b]))
	}
	var buf []byte
	for rank, s := range merges {
		// llama.cpp cuts at the first space after the first byte and keeps the first rank of a pair.
		sp := -1
		if len(s) > 1 {
			sp = strings.IndexByte(s[1:], ' ') + 1
		}
		if sp <= 0 {
			continue
		}
		left, right := intern(s[:sp]), intern(s[sp+1:])
		key := pairKey(left, right)
		if _, dup := m.merges[key]; dup {
			continue
		}
		buf = append(append(buf[:0], s[:sp]...), s[sp+1:]...)
		result, ok := m.textID[string(buf)] // no allocation for a lookup
		if !ok {
			result = intern(string(buf))
		}
		m.merges[key] = mergeResult{int32(rank), result}
	}
	return m
}

// wholeToken returns the token whose byte-level text spells the bytes of piece, if there is one; buf is
// scratch memory.
func (m *merger) wholeToken(piece string, buf *[]byte) (int32, bool) {
	b := (*buf)[:0]
	for i := 0; i < len(piece); i++ {
		r := byteRune[piece[i]]
		if r < 0x80 {
			b = append(b, byte(r))
		} else {
			b = append(b, byte(0xC0|r>>6), byte(0x80|r&0x3F))
		}
	}
	*buf = b
	id, ok := m.textID[string(b)]
	return id, ok && id < m.nTokens
}

// symbol is one symbol of a piece being merged: it covers the piece's bytes from its index to next.
type symbol struct {
	sym        int32 // -1 once merged into its left neighbour
	prev, next int32 // neighbours; -1 at the ends
}

// candidate is a pair of adjacent symbols that a merge applies to, as it was when queued.
type candidate struct {
	rank, left, right int32
	leftSym, rightSym int32
	result            int32
}

func (c candidate) before(d candidate) bool {
	return c.rank < d.rank || c.rank == d.rank && c.left < d.left
}

// mergeScratch is the reusable memory of one encoding call.
type mergeScratch struct {
	syms  []symbol
	queue []candidate // binary min-heap
	buf   []byte
}

func (sc *mergeScratch) push(c candidate) {
	q := append(sc.queue, c)
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if !q[i].before(q[parent]) {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
	sc.queue = q
}

func (sc *mergeScratch) pop() candidate {
	q := sc.queue
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q = q[:last]
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < len(q) && q[l].before(q[small]) {
			small = l
		}
		if r := l + 1; r < len(q) && q[r].before(q[small]) {
			small = r
		}
		if small == i {
			break
		}
		q[i], q[small] = q[small], q[i]
		i = small
	}
	sc.queue = q
	return top
}

// queuePair queues the merge of symbols left and right, if the vocabulary has one.
func (m *merger) queuePair(sc *mergeScratch, left, right int32) {
	ls, rs := sc.syms[left].sym, sc.syms[right].sym
	if r, ok := m.merges[pairKey(ls, rs)]; ok {
		sc.push(candidate{r.rank, left, right, ls, rs, r.sym})
	}
}

// encode appends the tokens of one pre-tokenized piece (raw bytes, not empty) to out: it starts from one
// symbol per byte and repeatedly merges the adjacent pair with the lowest rank, leftmost first.
func (m *merger) encode(piece string, out []int32, sc *mergeScratch) []int32 {
	n := int32(len(piece))
	sc.syms = sc.syms[:0]
	for i := int32(0); i < n; i++ {
		sc.syms = append(sc.syms, symbol{m.byteSym[piece[i]], i - 1, i + 1})
	}
	sc.syms[n-1].next = -1
	sc.queue = sc.queue[:0]
	for i := int32(0); i+1 < n; i++ {
		m.queuePair(sc, i, i+1)
	}
	for len(sc.queue) > 0 {
		c := sc.pop()
		l, r := &sc.syms[c.left], &sc.syms[c.right]
		if l.sym != c.leftSym || r.sym != c.rightSym {
			continue // one side has changed since the pair was queued
		}
		l.sym, r.sym = c.result, -1
		l.next = r.next
		if l.next >= 0 {
			sc.syms[l.next].prev = c.left
		}
		if l.prev >= 0 {
			m.queuePair(sc, l.prev, c.left)
		}
		if l.next >= 0 {
			m.queuePair(sc, c.left, l.next)
		}
	}
	for i := int32(0); i >= 0; i = sc.syms[i].next {
		s := sc.syms[i]
		if s.sym < m.nTokens {
			out = append(out, s.sym)
			continue
		}
		// Not a vocabulary entry (a malformed vocabulary): spell it byte by byte, dropping bytes that
		// have no token either.
		end := s.next
		if end < 0 {
			end = n
		}
		for j := i; j < end; j++ {
			if b := m.byteSym[piece[j]]; b < m.nTokens {
				out = append(out, b)
			}
		}
	}
	return out
}
