package constraint

import "unicode/utf8"

// A GBNF matcher's state is a set of parse stacks, as in llama.cpp: each stack is a terminal on top of
// the positions to return to. The top is held by value; the rest is a link in an arena of interned
// links (a position and the link under it), so equal stacks are equal pairs of integers and a byte that
// returns to a known stack allocates nothing. Links made after a snapshot are dropped again on Restore,
// and unreachable ones are compacted away between snapshots.

// maxGBNFStacks caps a matcher's stacks (GBNF's doc).
const maxGBNFStacks = 1024

// dedupScan is the number of stacks up to which add finds duplicates by scanning, past it by a set.
const dedupScan = 16

// minCompact is the arena size below which a matcher does not compact it.
const minCompact = 1 << 12

// gstack is one parse stack: the terminal's position and the link under it (-1: none).
type gstack struct{ top, rest int32 }

// glink is a position to return to and the link under it (-1: none).
type glink struct{ pos, next int32 }

// utf8State is how far into a character's UTF-8 encoding the bytes so far are: need more bytes, the
// next in [nlo, nhi], and the code point will be in [lo, hi]; v holds the bits so far.
type utf8State struct {
	need     uint8
	nlo, nhi byte
	v        rune
	lo, hi   rune
}

// gbnfMark locates a snapshot.
type gbnfMark struct {
	saved, links int32
	acc          bool
	u            utf8State
}

// gbnfMatcher matches a compiled GBNF grammar.
type gbnfMatcher struct {
	g     *gbnf
	cur   []gstack
	acc   bool // the empty stack: the text so far is complete
	u     utf8State
	links []glink
	index []int32 // open addressing over links: link id + 1, 0 = empty

	tmp        []gstack
	inTmp      map[gstack]bool // the stacks in tmp, once there are more than dedupScan
	saved      []gstack
	marks      []gbnfMark
	compactAt  int
	spans      []mbSpan      // multiSpans' scratch
	edges      []mbEdge      // multiSpans' scratch
	spanRanges []crange      // uniformStep's scratch
	blocks     []holderBlock // uniformStep's scratch
	dcur       *gbnfCursor   // Mask's cursor, kept for its memory
	deadlineClock
}

// newGBNFMatcher returns a matcher of g before any byte: the stacks of root's alternatives.
func newGBNFMatcher(g *gbnf) *gbnfMatcher {
	m := &gbnfMatcher{g: g, index: make([]int32, 64), compactAt: minCompact}
	for _, a := range g.rootAlts {
		m.cont(a, -1)
	}
	m.cur, m.tmp = m.tmp, m.cur[:0]
	return m
}

// Clone copies the state and the arena; snapshots stay with m.
func (m *gbnfMatcher) Clone() Matcher {
	return &gbnfMatcher{g: m.g, cur: append([]gstack(nil), m.cur...), acc: m.acc, u: m.u,
		links: append([]glink(nil), m.links...), index: append([]int32(nil), m.index...), compactAt: m.compactAt}
}

// Accepting reports whether the empty stack is there, between characters.
func (m *gbnfMatcher) Accepting() bool { return m.acc && m.u.need == 0 }

// Done reports whether the empty stack is the only one.
func (m *gbnfMatcher) Done() bool { return m.acc && m.u.need == 0 && len(m.cur) == 0 }

// Snapshot saves the stacks, the character so far and the arena's length.
func (m *gbnfMatcher) Snapshot() int {
	m.marks = append(m.marks, gbnfMark{int32(len(m.saved)), int32(len(m.links)), m.acc, m.u})
	m.saved = append(m.saved, m.cur...)
	return len(m.marks) - 1
}

// Restore also unlinks the links made since the snapshot, newest first, which leaves the index as it
// was (linear probing: each was put in a slot that was free when the later ones were put).
func (m *gbnfMatcher) Restore(h int) {
	mk := m.marks[h]
	end := int32(len(m.saved))
	if h+1 < len(m.marks) {
		end = m.marks[h+1].saved
	}
	m.cur = append(m.cur[:0], m.saved[mk.saved:end]...)
	m.acc, m.u = mk.acc, mk.u
	mask := uint32(len(m.index) - 1)
	for id := int32(len(m.links)) - 1; id >= mk.links; id-- {
		l := m.links[id]
		for i := linkHash(l) & mask; ; i = (i + 1) & mask {
			if m.index[i] == id+1 {
				m.index[i] = 0
				break
			}
		}
	}
	m.links = m.links[:mk.links]
	m.saved = m.saved[:mk.saved]
	m.marks = m.marks[:h]
}

// linkHash is the index slot of a link, before probing.
func linkHash(l glink) uint32 {
	h := uint64(uint32(l.pos))<<32 | uint64(uint32(l.next))
	h *= 0x9E3779B97F4A7C15
	return uint32(h >> 32)
}

// link returns the interned link of pos over next.
func (m *gbnfMatcher) link(pos, next int32) int32 {
	l := glink{pos, next}
	mask := uint32(len(m.index) - 1)
	i := linkHash(l) & mask
	for ; m.index[i] != 0; i = (i + 1) & mask {
		if m.links[m.index[i]-1] == l {
			return m.index[i] - 1
		}
	}
	id := int32(len(m.links))
	m.links = append(m.links, l)
	m.index[i] = id + 1
	if 2*len(m.links) > len(m.index) {
		m.reindex(2 * len(m.index))
	}
	return id
}

// reindex rebuilds the index at size n, putting the links in id order.
func (m *gbnfMatcher) reindex(n int) {
	if cap(m.index) >= n {
		m.index = m.index[:n]
		clear(m.index)
	} else {
		m.index = make([]int32, n)
	}
	mask := uint32(n - 1)
	for id, l := range m.links {
		i := linkHash(l) & mask
		for m.index[i] != 0 {
			i = (i + 1) & mask
		}
		m.index[i] = int32(id) + 1
	}
}

// compact keeps only the links the stacks reach, renumbered in order (a link's next is older than it).
func (m *gbnfMatcher) compact() {
	live := make([]int32, len(m.links)) // new id + 1 of each reached link
	for _, s := range m.cur {
		for r := s.rest; r >= 0 && live[r] == 0; r = m.links[r].next {
			live[r] = -1
		}
	}
	n := int32(0)
	for id, l := range m.links {
		if live[id] == 0 {
			continue
		}
		if l.next >= 0 {
			l.next = live[l.next] - 1
		}
		m.links[n] = l
		n++
		live[id] = n
	}
	m.links = m.links[:n]
	for i := range m.cur {
		if r := m.cur[i].rest; r >= 0 {
			m.cur[i].rest = live[r] - 1
		}
	}
	size := 64
	for size < 2*len(m.links)+2 {
		size *= 2
	}
	m.reindex(size)
	m.compactAt = max(minCompact, 4*len(m.links))
}

// add adds a stack to tmp unless it is there already or tmp is full.
func (m *gbnfMatcher) add(s gstack) {
	switch {
	case len(m.tmp) >= maxGBNFStacks:
		return
	case len(m.tmp) < dedupScan:
		for _, t := range m.tmp {
			if t == s {
				return
			}
		}
	default:
		if m.inTmp == nil {
			m.inTmp = map[gstack]bool{}
		}
		if len(m.inTmp) == 0 {
			for _, t := range m.tmp {
				m.inTmp[t] = true
			}
		}
		if m.inTmp[s] {
			return
		}
		m.inTmp[s] = true
	}
	m.tmp = append(m.tmp, s)
}

// cont adds to tmp the stacks of continuing at pos with rest under it.
func (m *gbnfMatcher) cont(pos, rest int32) {
	for {
		c := m.g.cl[pos]
		for _, e := range m.g.entries[c.lo:c.hi] {
			r := rest
			for _, x := range m.g.chains[e.off : e.off+e.n] {
				r = m.link(x, r)
			}
			m.add(gstack{e.term, r})
		}
		if !c.pops {
			return
		}
		if rest < 0 {
			m.acc = true
			return
		}
		pos, rest = m.links[rest].pos, m.links[rest].next
	}
}

// contains reports whether class c holds code point r.
func (c *gclass) contains(r rune) bool {
	if r < 128 {
		return c.ascii[r>>6]&(1<<(r&63)) != 0
	}
	rs, i := c.ranges, c.rangeFrom(r)
	return i < len(rs) && rs[i].lo <= r
}

// rangeFrom is the index of the first of c's ranges that ends at or after r (len(c.ranges): none).
func (c *gclass) rangeFrom(r rune) int {
	rs := c.ranges
	i, j := 0, len(rs)
	for i < j {
		h := int(uint(i+j) >> 1)
		if rs[h].hi < r {
			i = h + 1
		} else {
			j = h
		}
	}
	return i
}

// holdsAll reports whether class c holds every code point in [lo, hi] (within one of its ranges).
func (c *gclass) holdsAll(lo, hi rune) bool {
	rs, i := c.ranges, c.rangeFrom(lo)
	return i < len(rs) && rs[i].lo <= lo && hi <= rs[i].hi
}

// overlaps reports whether class c holds a code point in [lo, hi].
func (c *gclass) overlaps(lo, hi rune) bool {
	rs, i := c.ranges, c.rangeFrom(lo)
	return i < len(rs) && rs[i].lo <= hi
}

// Advance takes one byte of a character: a lead byte or a continuation keeps the stacks whose class can
// still hold the character, and the last byte steps them over it.
func (m *gbnfMatcher) Advance(b byte) bool {
	if m.u.need == 0 && b < utf8.RuneSelf {
		return m.step(rune(b))
	}
	lead := m.u.need == 0
	done, ok := m.u.advance(b)
	switch {
	case !ok:
		return false
	case done:
		return m.step(m.u.v)
	}
	if lead {
		m.acc = false
	}
	return m.narrow()
}

// advance takes byte b of a multibyte character (u.need == 0: its lead byte): ok false (u unchanged)
// if b cannot come next in valid UTF-8; done when the character is complete (u.v), else the code points
// it may still be are [u.lo, u.hi].
func (u *utf8State) advance(b byte) (done, ok bool) {
	if u.need == 0 {
		switch {
		case b >= 0xC2 && b <= 0xDF:
			u.need, u.nlo, u.nhi = 1, 0x80, 0xBF
		case b >= 0xE0 && b <= 0xEF:
			u.need, u.nlo, u.nhi = 2, 0x80, 0xBF
			if b == 0xE0 {
				u.nlo = 0xA0
			} else if b == 0xED {
				u.nhi = 0x9F
			}
		case b >= 0xF0 && b <= 0xF4:
			u.need, u.nlo, u.nhi = 3, 0x80, 0xBF
			if b == 0xF0 {
				u.nlo = 0x90
			} else if b == 0xF4 {
				u.nhi = 0x8F
			}
		default:
			return false, false
		}
		u.v = rune(b) & (0x3F >> u.need)
		shift := 6 * uint(u.need-1)
		u.lo = (u.v<<6 | rune(u.nlo&0x3F)) << shift
		u.hi = (u.v<<6|rune(u.nhi&0x3F))<<shift | (1<<shift - 1)
		return false, true
	}
	if b < u.nlo || b > u.nhi {
		return false, false
	}
	u.v = u.v<<6 | rune(b&0x3F)
	u.need--
	u.nlo, u.nhi = 0x80, 0xBF
	if u.need == 0 {
		return true, true
	}
	shift := 6 * uint(u.need)
	u.lo = u.v << shift
	u.hi = u.lo | (1<<shift - 1)
	return false, true
}

// narrow keeps the stacks whose terminal holds a code point in [u.lo, u.hi] and reports whether any is left.
func (m *gbnfMatcher) narrow() bool {
	out := m.cur[:0]
	for _, s := range m.cur {
		if m.g.classes[m.g.elems[s.top].arg].overlaps(m.u.lo, m.u.hi) {
			out = append(out, s)
		}
	}
	m.cur = out
	return len(out) > 0
}

// step consumes code point r.
func (m *gbnfMatcher) step(r rune) bool {
	m.checkDeadline()
	if len(m.marks) == 0 && len(m.links) > m.compactAt {
		m.compact()
	}
	m.tmp = m.tmp[:0]
	if len(m.inTmp) > 0 {
		clear(m.inTmp)
	}
	m.acc = false
	for _, s := range m.cur {
		if m.g.classes[m.g.elems[s.top].arg].contains(r) {
			m.cont(s.top+1, s.rest)
		}
	}
	m.cur, m.tmp = m.tmp, m.cur
	return len(m.cur) > 0 || m.acc
}
