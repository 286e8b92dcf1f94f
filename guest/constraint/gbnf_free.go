package constraint

import (
	"math/bits"
	"slices"
	"unicode/utf8"
)

// What a GBNF state tells Trie.Mask's walk (gbnf_cursor.go, slice.go): the bytes it may take, and its free
// run.

// maxFreeStacks is the most stacks a state may have for findFree to look for a run: a holder set is a
// bit per stack.
const maxFreeStacks = 64

// nextBytes is a set of bytes holding every byte the state takes: the continuation bytes inside a
// character, else the first bytes of the characters of the stacks' classes.
func (m *gbnfMatcher) nextBytes() byteSet {
	var set byteSet
	if m.u.need != 0 {
		set.addRange(m.u.nlo, m.u.nhi)
		return set
	}
	for _, st := range m.cur {
		set.or(&m.g.classes[m.g.elems[st.top].arg].first)
	}
	return set
}

// firstBytes is the set of bytes that start the UTF-8 encoding of a code point of ranges: the lead
// bytes of a range's ends and every byte between, since lead bytes grow with the code point.
func firstBytes(ranges []crange) byteSet {
	var set byteSet
	for _, r := range ranges {
		if r.lo < utf8.RuneSelf {
			set.addRange(byte(r.lo), byte(min(r.hi, utf8.RuneSelf-1)))
		}
		if r.hi >= utf8.RuneSelf {
			set.addRange(leadByte(max(r.lo, utf8.RuneSelf)), leadByte(r.hi))
		}
	}
	return set
}

// leadByte is the first byte of the UTF-8 encoding of r ≥ 0x80 (surrogates too, as if encodable).
func leadByte(r rune) byte {
	switch {
	case r < 0x800:
		return byte(0xC0 | r>>6)
	case r < 0x10000:
		return byte(0xE0 | r>>12)
	}
	return byte(0xF0 | r>>18)
}

// free is Trie.Mask's free run (slice.go) for the matcher's state, found by a cursor as gbnfCursor.free
// finds it during a walk. The matcher is left as it was.
func (m *gbnfMatcher) free() (run freeRun, ok bool) {
	c := m.cursor()
	defer c.close()
	defer func() {
		if r := recover(); r != nil {
			if _, full := r.(cursorFull); !full {
				panic(r)
			}
			run, ok = freeRun{}, false // past the cursor's budget: no run, the walk goes on byte by byte
		}
	}()
	run, ok, _ = c.findFree(0, nil, 0)
	return run, ok
}

// findFree is a state's free run, found as dfa.findFree finds a DFA state's: follow the chain of states
// that the class's characters lead to, narrowing the class where its characters part ways, until the
// chain stays put (a loop, as inside a string), every character of the class is refused (a tight run, as
// after a counted repetition's last) or sliceDepth characters are in. Stepping over a character
// continues exactly the stacks whose class holds it, the same way whatever the character, so one trial
// step per set of holding stacks decides every character with that set; characters of two or more bytes
// are taken in ranges (multiSpans), so a class that holds some of them (japanese.gbnf's) has a run too.
// The trial steps are the cursor's, so the walk and later searches find them in its table.
//
// Given a Trie t, the run is for walking the tokens below node only (exact false), and the search stops
// as soon as that is known: once the first character's class is, no run where none of those tokens is
// made only of its characters (walkSliced would not slice), and a chain no longer than the most of them
// any token starts with, ended as if tight (walkSliced then refuses none of those tokens and pushes no
// more characters than the chain has).
func (c *gbnfCursor) findFree(id int32, t *Trie, node int32) (run freeRun, ok, exact bool) {
	if st := &c.states[id]; st.u.need != 0 || st.hi == st.lo {
		return freeRun{}, false, true
	}
	cls := anyChar
	limit := sliceDepth
	for k := 0; k < limit; k++ {
		to, ok, known := c.uniformStep(id, &cls)
		switch {
		case !known:
			return freeRun{}, false, true
		case !ok:
			return freeRun{cls: cls, max: k, loop: k}, k > 0 && !cls.empty(), limit == sliceDepth
		case to == id:
			return freeRun{cls: cls, max: -1, loop: k}, true, limit == sliceDepth
		case k == 0 && !cls.multi && cls.some == "" && bits.OnesCount64(cls.ascii[0])+bits.OnesCount64(cls.ascii[1]) < minChainChars:
			return freeRun{}, false, true
		case k == 0 && t != nil:
			s := t.sliceSet(node, cls)
			if s == nil {
				return freeRun{}, false, false
			}
			limit = min(limit, max(int(s.most), 1))
		}
		id = to
	}
	return freeRun{cls: cls, max: limit, loop: limit}, true, limit == sliceDepth
}

// minChainChars is the fewest characters a run that is not a loop from the start must have: for fewer
// (the quote that opens a string, say) slicing costs more than the walk, which visits only the children
// of those bytes.
const minChainChars = 4

// uniformStep narrows cls to the largest part whose characters all lead from state id to one state and
// returns that state; ok is false when no character of cls leads anywhere (cls then loses its multibyte
// characters if a byte that starts one is still taken, by a character outside cls), known false when
// the state has too many stacks to tell. Multibyte characters are taken in spans held by the same stacks
// (multiSpans); a span weighs as many characters as it has, up to half as much as all ASCII ones, as in
// dfa.uniformStep. Ties go to the part with the lowest character.
func (c *gbnfCursor) uniformStep(id int32, cls *charClass) (to int32, ok, known bool) {
	st := &c.states[id]
	if st.hi-st.lo > maxFreeStacks {
		return -1, false, false
	}
	m := c.m
	c.load(id)
	blocks, spans := m.holderBlocks(cls.ascii), m.multiSpans(cls.multiPart()) // scratch the steps leave alone
	// Each part's state: its trial step, through the cursor's table.
	c.parts = c.parts[:0]
	for _, bl := range blocks {
		c.parts = append(c.parts, c.stepHeld(id, bl.set, rune(lowestASCII(bl.ascii))))
	}
	for _, sp := range spans {
		c.parts = append(c.parts, c.stepHeld(id, sp.set, sp.lo))
	}
	// The state the most characters lead to.
	best, most := int32(-1), 0
	for i, s := range c.parts {
		if s < 0 || slices.Index(c.parts[:i], s) >= 0 {
			continue
		}
		w := 0
		for j, t := range c.parts {
			if t != s {
				continue
			}
			if j < len(blocks) {
				w += bits.OnesCount64(blocks[j].ascii[0]) + bits.OnesCount64(blocks[j].ascii[1])
			} else {
				sp := spans[j-len(blocks)]
				w += int(min(sp.hi-sp.lo+1, utf8.RuneSelf/2))
			}
		}
		if w > most {
			best, most = s, w
		}
	}
	if best < 0 {
		if cls.multi || cls.some != "" {
			next, starts := *c.nextOf(id), cls.startBytes()
			if next.and(&starts); next != (byteSet{}) {
				cls.setMulti("")
			}
		}
		return -1, false, true
	}
	var narrow charClass
	for i, bl := range blocks {
		if c.parts[i] == best {
			narrow.ascii[0] |= bl.ascii[0]
			narrow.ascii[1] |= bl.ascii[1]
		}
	}
	m.spanRanges = m.spanRanges[:0]
	for i, sp := range spans {
		if c.parts[len(blocks)+i] == best {
			m.spanRanges = append(m.spanRanges, crange{sp.lo, sp.hi})
		}
	}
	narrow.setMulti(newMBRanges(m.spanRanges))
	*cls = narrow
	return best, true, true
}

// stepHeld returns the state that character r leads to from state from (between characters), set being
// the from's stacks whose class holds r, in their order: the state a step continuing those stacks leads
// to, whatever the character, found once per set in the cursor's table.
func (c *gbnfCursor) stepHeld(from int32, set uint64, r rune) int32 {
	to, at, ok := c.held.find(c.gen, from, set)
	if ok {
		return to
	}
	c.load(from)
	if c.m.step(r) {
		to = c.name()
	}
	c.held.put(c.gen, at, from, set, to)
	return to
}

// holderBlock is the ASCII characters that the same stacks' classes hold (set: bits of m.cur).
type holderBlock struct {
	set   uint64
	ascii [2]uint64
}

// holderBlocks splits the ASCII characters of ascii by the stacks whose class holds them, leaving out
// those no stack holds, in the order of their lowest characters (the order uniformStep tries them in).
// The result is scratch, valid until the next call.
func (m *gbnfMatcher) holderBlocks(ascii [2]uint64) []holderBlock {
	blocks := append(m.blocks[:0], holderBlock{ascii: ascii})
	for i, st := range m.cur {
		c := &m.g.classes[m.g.elems[st.top].arg].ascii
		for j, n := 0, len(blocks); j < n; j++ {
			b := blocks[j]
			in := [2]uint64{b.ascii[0] & c[0], b.ascii[1] & c[1]}
			switch {
			case in == [2]uint64{}:
			case in == b.ascii:
				blocks[j].set |= 1 << i
			default:
				blocks[j].ascii = [2]uint64{b.ascii[0] &^ c[0], b.ascii[1] &^ c[1]}
				blocks = append(blocks, holderBlock{b.set | 1<<i, in})
			}
		}
	}
	held := blocks[:0]
	for _, b := range blocks {
		if b.set != 0 && b.ascii != [2]uint64{} {
			held = append(held, b)
		}
	}
	for i := 1; i < len(held); i++ { // by insertion: blocks are few
		x := held[i]
		j := i
		for ; j > 0 && lowestASCII(held[j-1].ascii) > lowestASCII(x.ascii); j-- {
			held[j] = held[j-1]
		}
		held[j] = x
	}
	m.blocks = held
	return held
}

// lowestASCII is the lowest character of a non-empty set of ASCII ones.
func lowestASCII(a [2]uint64) int {
	if a[0] != 0 {
		return bits.TrailingZeros64(a[0])
	}
	return 64 + bits.TrailingZeros64(a[1])
}

// mbSpan is a range of multibyte characters that the same stacks' classes hold (set: bits of m.cur).
type mbSpan struct {
	lo, hi rune
	set    uint64
}

// mbEdge is where a class's range starts or ends (at: its hi + 1) in multiSpans' sweep: bit is the
// stack's, or 0 for the characters asked about.
type mbEdge struct {
	at  rune
	bit uint64
}

// multiSpans splits the multibyte characters of within into spans by the stacks whose class holds them,
// leaving out those no stack holds, in order. The result is scratch, valid until the next call.
func (m *gbnfMatcher) multiSpans(within mbRanges) []mbSpan {
	m.spans = m.spans[:0]
	if within == "" {
		return m.spans
	}
	edges := m.edges[:0]
	for i := range within.n() {
		r := within.at(i)
		edges = append(edges, mbEdge{r.lo, 0}, mbEdge{r.hi + 1, 0})
	}
	for i, st := range m.cur {
		mb := m.g.classes[m.g.elems[st.top].arg].mb
		for j := range mb.n() {
			r := mb.at(j)
			edges = append(edges, mbEdge{r.lo, 1 << i}, mbEdge{r.hi + 1, 1 << i})
		}
	}
	slices.SortFunc(edges, func(a, b mbEdge) int { return int(a.at - b.at) })
	in, set := false, uint64(0)
	for i, e := range edges {
		if e.bit == 0 {
			in = !in
		} else {
			set ^= e.bit
		}
		if in && set != 0 && i+1 < len(edges) && edges[i+1].at > e.at {
			m.spans = append(m.spans, mbSpan{e.at, edges[i+1].at - 1, set})
		}
	}
	m.edges = edges
	return m.spans
}

// cmpStack orders stacks.
func cmpStack(a, b gstack) int {
	if a.top != b.top {
		return int(a.top - b.top)
	}
	return int(a.rest - b.rest)
}

// sortStacks sorts stacks by cmpStack: by insertion where they are few, as they mostly are (a call per
// comparison costs more than the comparison, in the guest above all).
func sortStacks(s []gstack) {
	if len(s) > 24 {
		slices.SortFunc(s, cmpStack)
		return
	}
	for i := 1; i < len(s); i++ {
		x := s[i]
		j := i
		for ; j > 0 && (s[j-1].top > x.top || s[j-1].top == x.top && s[j-1].rest > x.rest); j-- {
			s[j] = s[j-1]
		}
		s[j] = x
	}
}
