package constraint

import (
	"math/bits"
	"slices"
	"unicode/utf8"
)

// What a GBNF state tells Trie.Mask's walk (cursor.go, slice.go): the bytes it may take, and its free run.

// maxFreeStacks is the most stacks a state may have for free to look for a run: a holder set is a bit
// per stack.
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

// free is Trie.Mask's free run (slice.go), found as dfa.findFree finds a DFA state's: follow the chain of
// states that the class's characters lead to, narrowing the class where its characters part ways, until
// the chain stays put (a loop, as inside a string), every character of the class is refused (a tight
// run, as after a counted repetition's last) or sliceDepth characters are in. Stepping over a character
// continues exactly the stacks whose class holds it, the same way whatever the character, so one trial
// step per set of holding stacks decides every character with that set; characters of two or more bytes
// are taken in ranges (multiSpans), so a class that holds some of them (japanese.gbnf's) has a run too. The matcher
// is left as it was. Trie.Mask asks at many trie nodes, and a grammar's states recur, so the runs are
// cached by state key (maskcache.go).
func (m *gbnfMatcher) free() (freeRun, bool) {
	if m.u.need != 0 || len(m.cur) == 0 {
		return freeRun{}, false
	}
	m.key = m.stateKey(m.key[:0])
	if f, ok := m.frees[string(m.key)]; ok {
		return f.run, f.ok
	}
	run, ok := m.findFree()
	if m.frees == nil || len(m.frees) >= maxCachedFrees {
		m.frees = map[string]cachedFree{}
	}
	m.frees[string(m.key)] = cachedFree{run, ok}
	return run, ok
}

// maxCachedFrees is the most free runs a matcher keeps; past it it starts afresh.
const maxCachedFrees = 4096

// cachedFree is a state's free run, kept by its key.
type cachedFree struct {
	run freeRun
	ok  bool
}

// findFree is free's search, uncached.
func (m *gbnfMatcher) findFree() (freeRun, bool) {
	h := m.Snapshot()
	defer m.Restore(h)
	cls := anyChar
	for k := 0; k < sliceDepth; k++ {
		loop, ok, known := m.uniformStep(&cls)
		switch {
		case !known:
			return freeRun{}, false
		case !ok:
			return freeRun{cls: cls, max: k, loop: k}, k > 0 && !cls.empty()
		case loop:
			return freeRun{cls: cls, max: -1, loop: k}, true
		case k == 0 && !cls.multi && cls.some == "" && bits.OnesCount64(cls.ascii[0])+bits.OnesCount64(cls.ascii[1]) < minChainChars:
			return freeRun{}, false
		}
	}
	return freeRun{cls: cls, max: sliceDepth, loop: sliceDepth}, true
}

// minChainChars is the fewest characters a run that is not a loop from the start must have: for fewer
// (the quote that opens a string, say) slicing costs more than the walk, which visits only the children
// of those bytes.
const minChainChars = 4

// uniformStep narrows cls to the largest part whose characters all lead from the state to one state,
// steps the matcher there and reports whether it is the state it left (loop); ok is false when no
// character of cls leads anywhere (cls then loses its multibyte characters if a byte that starts one is
// still taken, by a character outside cls), known false when the state has too many stacks to tell.
// Multibyte characters are taken in spans held by the same stacks (multiSpans); a span weighs as many
// characters as it has, up to half as much as all ASCII ones, as in dfa.uniformStep.
func (m *gbnfMatcher) uniformStep(cls *charClass) (loop, ok, known bool) {
	if len(m.cur) > maxFreeStacks {
		return false, false, false
	}
	var holders [utf8.RuneSelf]uint64 // by ASCII character of cls: the stacks whose class holds it
	for i, st := range m.cur {
		c := &m.g.classes[m.g.elems[st.top].arg]
		for w := range c.ascii {
			for x := c.ascii[w] & cls.ascii[w]; x != 0; x &= x - 1 {
				holders[w<<6|bits.TrailingZeros64(x)] |= 1 << i
			}
		}
	}
	spans := m.multiSpans(cls.multiPart())
	tr := &m.trials
	tr.reset()
	for _, set := range holders {
		if set != 0 {
			tr.add(m, set, 1)
		}
	}
	for _, sp := range spans {
		tr.add(m, sp.set, int(min(sp.hi-sp.lo+1, utf8.RuneSelf/2)))
	}
	best := tr.best()
	if best < 0 {
		if cls.multi || cls.some != "" {
			next, starts := m.nextBytes(), cls.startBytes()
			if next.and(&starts); next != (byteSet{}) {
				cls.setMulti("")
			}
		}
		return false, false, true
	}
	var narrow charClass
	for b, set := range holders {
		if set != 0 && tr.state(set) == best {
			narrow.add(byte(b))
		}
	}
	m.spanRanges = m.spanRanges[:0]
	for _, sp := range spans {
		if tr.state(sp.set) == best {
			m.spanRanges = append(m.spanRanges, crange{sp.lo, sp.hi})
		}
	}
	narrow.setMulti(newMBRanges(m.spanRanges))
	*cls = narrow
	next, acc := tr.stacks(best)
	m.results = append(m.results[:0], m.cur...)
	slices.SortFunc(m.results, cmpStack)
	loop = acc == m.acc && slices.Equal(m.results, next)
	m.cur = append(m.cur[:0], next...)
	m.acc = acc
	return loop, true, true
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

// trials are the trial steps of one uniformStep: per holder set, the state it leads to.
type trials struct {
	sets    []uint64
	weights []int  // by set: characters (multibyte ones weigh utf8.RuneSelf)
	same    []int  // by set: the first set whose state is the same
	lo      []int  // by set: its stacks are results[lo[i]:lo[i+1]], sorted
	acc     []bool // by set: whether its state is complete
	results []gstack
}

// reset empties t.
func (t *trials) reset() {
	t.sets, t.weights, t.same, t.acc, t.results = t.sets[:0], t.weights[:0], t.same[:0], t.acc[:0], t.results[:0]
	t.lo = append(t.lo[:0], 0)
}

// add counts w characters for set, stepping m over them on the set's first appearance.
func (t *trials) add(m *gbnfMatcher, set uint64, w int) {
	for i, s := range t.sets {
		if s == set {
			t.weights[i] += w
			return
		}
	}
	i := len(t.sets)
	acc := m.trialStep(set)
	t.results = append(t.results, m.tmp...)
	slices.SortFunc(t.results[t.lo[i]:], cmpStack)
	t.sets, t.weights, t.acc, t.lo = append(t.sets, set), append(t.weights, w), append(t.acc, acc), append(t.lo, len(t.results))
	same := i
	for j := range i {
		if t.same[j] == j && t.acc[j] == acc && slices.Equal(t.results[t.lo[j]:t.lo[j+1]], t.results[t.lo[i]:]) {
			same = j
			break
		}
	}
	t.same = append(t.same, same)
}

// best is the state (a set's index) that the most characters lead to; -1 if none leads anywhere.
func (t *trials) best() int {
	best, most := -1, 0
	for i := range t.sets {
		if t.same[i] != i {
			continue
		}
		w := 0
		for j := range t.sets {
			if t.same[j] == i {
				w += t.weights[j]
			}
		}
		if w > most {
			best, most = i, w
		}
	}
	return best
}

// state is the state (a set's index) that set leads to.
func (t *trials) state(set uint64) int {
	for i, s := range t.sets {
		if s == set {
			return t.same[i]
		}
	}
	return -1
}

// stacks are the stacks and completeness of state i.
func (t *trials) stacks(i int) ([]gstack, bool) { return t.results[t.lo[i]:t.lo[i+1]], t.acc[i] }

// cmpStack orders stacks.
func cmpStack(a, b gstack) int {
	if a.top != b.top {
		return int(a.top - b.top)
	}
	return int(a.rest - b.rest)
}

// trialStep continues the stacks in set (bits of m.cur) over a character into m.tmp, as step does,
// and returns whether the text would then be complete; m.cur and m.acc stay.
func (m *gbnfMatcher) trialStep(set uint64) bool {
	acc := m.acc
	m.tmp = m.tmp[:0]
	if len(m.inTmp) > 0 {
		clear(m.inTmp)
	}
	m.acc = false
	for i, st := range m.cur {
		if set&(1<<i) != 0 {
			m.cont(st.top+1, st.rest)
		}
	}
	acc, m.acc = m.acc, acc
	return acc
}
