package constraint

import "errors"

// Pattern is a piece of a Grammar: literal bytes, a sub-Matcher, or a sequence, alternation or repetition
// of patterns. Patterns are immutable descriptions; Grammar compiles them.
type Pattern struct {
	kind     patKind
	lit      string
	sub      Matcher
	parts    []*Pattern
	sep      *Pattern
	min, max int
}

type patKind uint8

const (
	pLit patKind = iota
	pSub
	pSeq
	pAlt
	pRepeat
)

// Lit is the pattern of the bytes of s.
func Lit(s string) *Pattern { return &Pattern{kind: pLit, lit: s} }

// Sub is the pattern of the words m accepts from its current state; each use starts from a clone of m.
func Sub(m Matcher) *Pattern { return &Pattern{kind: pSub, sub: m} }

// Seq is the pattern of ps one after another.
func Seq(ps ...*Pattern) *Pattern { return &Pattern{kind: pSeq, parts: ps} }

// Alt is the pattern of any one of ps.
func Alt(ps ...*Pattern) *Pattern { return &Pattern{kind: pAlt, parts: ps} }

// Repeat is the pattern of min to max (max < 0: any number of) copies of p with sep between them;
// min must be at least 1.
func Repeat(p, sep *Pattern, min, max int) *Pattern {
	return &Pattern{kind: pRepeat, parts: []*Pattern{p}, sep: sep, min: min, max: max}
}

// gnode is one node of a grammar's automaton: a byte edge, a sub-Matcher edge, a split (epsilon edges)
// or the final node.
type gnode struct {
	kind patKind // pLit: byte edge; pSub; pAlt: split; pSeq: final
	b    byte
	sub  Matcher
	next int32
	alts []int32
}

// gthread is one way the bytes so far can be read: waiting at node (sub nil: a byte edge or the final
// node), or inside the sub-Matcher edge at node.
type gthread struct {
	node int32
	sub  Matcher
	h    int // in a snapshot: sub's handle (Snapshotter subs), else unused
}

// grammarMatcher runs a compiled Grammar: the set of threads the bytes so far leave alive.
type grammarMatcher struct {
	nodes     []gnode // shared between clones
	final     int32
	cur, tmp  []gthread
	mark      []uint32 // by node: the closure generation that last added a waiting thread there
	gen       uint32
	saved     []gthread // snapshots, back to back
	snapStart []int     // by handle: where its threads start in saved
}

// Grammar returns a Matcher for the words of p. Sub-Matchers that are Snapshotters make Trie.Mask fast;
// others are cloned for each snapshot. It fails when p is malformed (a Repeat with min < 1 or max < min,
// an empty Alt).
func Grammar(p *Pattern) (Matcher, error) {
	m := &grammarMatcher{}
	m.final = m.add(gnode{kind: pSeq})
	start, err := m.compile(p, m.final)
	if err != nil {
		return nil, err
	}
	m.mark = make([]uint32, len(m.nodes))
	m.gen = 1
	m.addThread(&m.cur, start)
	return m, nil
}

func (m *grammarMatcher) add(n gnode) int32 {
	m.nodes = append(m.nodes, n)
	return int32(len(m.nodes) - 1)
}

// compile adds the nodes of p ahead of next and returns p's start.
func (m *grammarMatcher) compile(p *Pattern, next int32) (int32, error) {
	switch p.kind {
	case pLit:
		for i := len(p.lit) - 1; i >= 0; i-- {
			next = m.add(gnode{kind: pLit, b: p.lit[i], next: next})
		}
		return next, nil
	case pSub:
		return m.add(gnode{kind: pSub, sub: p.sub, next: next}), nil
	case pSeq:
		for i := len(p.parts) - 1; i >= 0; i-- {
			var err error
			if next, err = m.compile(p.parts[i], next); err != nil {
				return 0, err
			}
		}
		return next, nil
	case pAlt:
		if len(p.parts) == 0 {
			return 0, errors.New("constraint: grammar: an alternation of nothing")
		}
		split := m.add(gnode{kind: pAlt})
		for _, q := range p.parts {
			s, err := m.compile(q, next)
			if err != nil {
				return 0, err
			}
			m.nodes[split].alts = append(m.nodes[split].alts, s)
		}
		return split, nil
	}
	return m.repeat(p, next)
}

// repeat compiles a Repeat: its optional copies from the end (a loop when unbounded), then its min ones.
func (m *grammarMatcher) repeat(p *Pattern, next int32) (int32, error) {
	if p.min < 1 || p.max >= 0 && p.max < p.min {
		return 0, errors.New("constraint: grammar: a repetition needs 1 <= min <= max (or max < 0)")
	}
	item, more := p.parts[0], Seq(p.sep, p.parts[0])
	if p.sep == nil {
		more = item
	}
	cur := next
	if p.max < 0 {
		loop := m.add(gnode{kind: pAlt})
		s, err := m.compile(more, loop)
		if err != nil {
			return 0, err
		}
		m.nodes[loop].alts = []int32{s, next}
		cur = loop
	}
	for range max(p.max-p.min, 0) {
		s, err := m.compile(more, cur)
		if err != nil {
			return 0, err
		}
		cur = m.add(gnode{kind: pAlt, alts: []int32{s, next}})
	}
	for i := p.min - 1; i >= 0; i-- {
		q := more
		if i == 0 {
			q = item
		}
		var err error
		if cur, err = m.compile(q, cur); err != nil {
			return 0, err
		}
	}
	return cur, nil
}

// addThread adds the threads that wait at node and at what its epsilon edges reach; a sub edge starts a
// fresh clone of its Matcher (and, should it accept the empty word, continues past it too).
func (m *grammarMatcher) addThread(list *[]gthread, node int32) {
	n := &m.nodes[node]
	switch n.kind {
	case pAlt:
		if m.mark[node] == m.gen {
			return
		}
		m.mark[node] = m.gen
		for _, a := range n.alts {
			m.addThread(list, a)
		}
	case pSub:
		sub := n.sub.Clone()
		*list = append(*list, gthread{node: node, sub: sub})
		if sub.Accepting() {
			m.addThread(list, n.next)
		}
	default:
		if m.mark[node] == m.gen {
			return
		}
		m.mark[node] = m.gen
		*list = append(*list, gthread{node: node})
	}
}

// Advance moves every thread over b; threads that cannot take it end.
func (m *grammarMatcher) Advance(b byte) bool {
	if m.gen++; m.gen == 0 { // wrapped: old marks would look current
		clear(m.mark)
		m.gen = 1
	}
	next := m.tmp[:0]
	for _, t := range m.cur {
		n := &m.nodes[t.node]
		switch {
		case t.sub != nil:
			if !t.sub.Advance(b) {
				continue
			}
			if !t.sub.Done() {
				next = append(next, gthread{node: t.node, sub: t.sub})
			}
			if t.sub.Accepting() {
				m.addThread(&next, n.next)
			}
		case n.kind == pLit && n.b == b:
			m.addThread(&next, n.next)
		}
	}
	m.cur, m.tmp = next, m.cur
	return len(m.cur) > 0
}

// free is Trie.Mask's free run (slice.go) of a grammar with one thread inside a JSON sub-Matcher whose run
// cannot finish the sub (jsonMatcher.freeInside): then no thread is added or ended along the run, and the
// grammar's state is the sub's, so the sub's promises are the grammar's. Tool calls spend most of their
// tokens in such states (inside their arguments' strings).
func (m *grammarMatcher) free() (freeRun, bool) {
	if len(m.cur) != 1 {
		return freeRun{}, false
	}
	if j, ok := m.cur[0].sub.(*jsonMatcher); ok {
		return j.freeInside()
	}
	return freeRun{}, false
}

// Accepting reports whether some thread has reached the end.
func (m *grammarMatcher) Accepting() bool {
	for _, t := range m.cur {
		if t.sub == nil && t.node == m.final {
			return true
		}
	}
	return false
}

// Done reports whether every thread has reached the end.
func (m *grammarMatcher) Done() bool {
	for _, t := range m.cur {
		if t.sub != nil || t.node != m.final {
			return false
		}
	}
	return len(m.cur) > 0
}

// Clone copies the threads, each sub-Matcher cloned; snapshots are not copied.
func (m *grammarMatcher) Clone() Matcher {
	c := &grammarMatcher{nodes: m.nodes, final: m.final, mark: make([]uint32, len(m.nodes)), gen: 1,
		cur: make([]gthread, len(m.cur))}
	for i, t := range m.cur {
		c.cur[i] = gthread{node: t.node}
		if t.sub != nil {
			c.cur[i].sub = t.sub.Clone()
		}
	}
	return c
}

// Snapshot saves the threads and, through their own snapshots (or clones), their sub-Matchers' states.
func (m *grammarMatcher) Snapshot() int {
	m.snapStart = append(m.snapStart, len(m.saved))
	for _, t := range m.cur {
		switch s := t.sub.(type) {
		case nil:
		case Snapshotter:
			t.h = s.Snapshot()
		default:
			t.sub = s.Clone()
		}
		m.saved = append(m.saved, t)
	}
	return len(m.snapStart) - 1
}

// Restore brings back the threads of snapshot h and their sub-Matchers' states.
func (m *grammarMatcher) Restore(h int) {
	start := m.snapStart[h]
	end := len(m.saved)
	if h+1 < len(m.snapStart) {
		end = m.snapStart[h+1]
	}
	m.cur = m.cur[:0]
	for _, t := range m.saved[start:end] {
		if s, ok := t.sub.(Snapshotter); ok {
			s.Restore(t.h)
		}
		m.cur = append(m.cur, gthread{node: t.node, sub: t.sub})
	}
	// A non-Snapshotter sub was saved as a clone, now in use: a later Restore to h is impossible (h is
	// forgotten), so nothing else refers to it.
	m.saved = m.saved[:start]
	m.snapStart = m.snapStart[:h]
}
