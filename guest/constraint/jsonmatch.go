package constraint

// A JSON matcher is a set of configurations (more than one only while union alternatives that start
// alike are both alive). A configuration is a stack of frames: the top frame is held by value and
// changed in place; the frames under it form an immutable linked list shared between configurations
// and snapshots, so most bytes cost no allocation and a snapshot is a copy of the configurations.

// frame is the state of one value being matched. Each frame saved under a child is already in the
// state its value is in once the child is complete. Frames hold no pointers, so copying them is cheap.
type frame struct {
	n    int32  // node id
	st   uint8  // state of the kind's machine
	ls   uint8  // string lexer state (strings and object keys)
	ws   uint8  // objects and arrays: whitespace since the last token (see wsStep)
	dep  uint8  // objects and arrays enclosing the value
	cnt  int32  // array items, string characters, literal position; objects: 1 if other properties may appear
	a    int32  // key trie node (-1: no listed key), pattern or number DFA state, literal range start
	b    int32  // property of the current key (-1: additional), literal range end
	seen uint64 // object properties present
}

// link is a frame under the top of a stack; next is the link under it (-1: none).
type link struct {
	f    frame
	next int32
}

// config is one stack: its top frame and the links under it.
type config struct {
	top  frame
	rest int32
}

// Root states.
const (
	rValue = iota // expecting the value
	rEnd          // the value is complete
)

// Object states.
const (
	oOpen  = iota // after '{'
	oKey          // inside a key
	oColon        // after a key
	oValue        // after ':'
	oAfter        // after a member
	oComma        // after ','
)

// Array states.
const (
	aOpen  = iota // after '['
	aAfter        // after an item
	aComma        // after ','
)

// Generation limits: objects and arrays nested, and spaces and tabs after a newline between tokens.
const (
	maxNesting = 32
	maxIndent  = 32
)

// jsonMatcher matches JSON text against a compiled schema.
type jsonMatcher struct {
	nodes    []*tnode // by id, shared between clones
	links    []link   // append-only arena of the configurations' links
	cur, tmp []config
	saved    []config   // snapshots, back to back
	marks    []snapMark // one per snapshot
	deadlineClock
}

// snapMark locates a snapshot: its configurations in saved, and the links that existed.
type snapMark struct{ saved, links int }

func newJSONMatcher(v *value) *jsonMatcher {
	m := &jsonMatcher{}
	root := &tnode{kind: kRoot, items: v}
	seen := map[*value]bool{}
	var number func(v *value)
	number = func(v *value) {
		if v == nil || seen[v] {
			return
		}
		seen[v] = true
		for _, n := range v.alts {
			n.id = int32(len(m.nodes))
			m.nodes = append(m.nodes, n)
			number(n.items)
			number(n.addl)
			for _, p := range n.props {
				number(p)
			}
		}
	}
	root.id = 0
	m.nodes = append(m.nodes, root)
	number(v)
	m.cur = []config{{top: frame{n: 0}, rest: -1}}
	return m
}

// Clone copies the configurations with only the links they reach.
func (m *jsonMatcher) Clone() Matcher {
	c := &jsonMatcher{nodes: m.nodes, cur: make([]config, len(m.cur))}
	var moved map[int32]int32 // links shared between configurations are copied once
	if len(m.cur) > 1 {
		moved = map[int32]int32{}
	}
	var move func(i int32) int32
	move = func(i int32) int32 {
		if i < 0 {
			return -1
		}
		if j, ok := moved[i]; ok {
			return j
		}
		next := move(m.links[i].next)
		c.links = append(c.links, link{f: m.links[i].f, next: next})
		j := int32(len(c.links) - 1)
		if moved != nil {
			moved[i] = j
		}
		return j
	}
	for i, cf := range m.cur {
		c.cur[i] = config{top: cf.top, rest: move(cf.rest)}
	}
	return c
}

func (m *jsonMatcher) Snapshot() int {
	m.marks = append(m.marks, snapMark{len(m.saved), len(m.links)})
	m.saved = append(m.saved, m.cur...)
	return len(m.marks) - 1
}

// Restore also drops the links made since the snapshot: only later states refer to them.
func (m *jsonMatcher) Restore(h int) {
	mk := m.marks[h]
	end := len(m.saved)
	if h+1 < len(m.marks) {
		end = m.marks[h+1].saved
	}
	m.cur = append(m.cur[:0], m.saved[mk.saved:end]...)
	m.saved = m.saved[:mk.saved]
	m.links = m.links[:mk.links]
	m.marks = m.marks[:h]
}

func (m *jsonMatcher) Advance(b byte) bool {
	m.checkDeadline()
	m.tmp = m.tmp[:0]
	for _, c := range m.cur {
		m.step(c, b)
	}
	m.cur, m.tmp = m.tmp, m.cur
	m.cur = dedupe(m.cur)
	return len(m.cur) > 0
}

// dedupe drops repeated configurations from cs in place.
func dedupe(cs []config) []config {
	out := cs[:0]
next:
	for _, c := range cs {
		for _, o := range out {
			if o == c {
				continue next
			}
		}
		out = append(out, c)
	}
	return out
}

func (m *jsonMatcher) Accepting() bool {
	for _, c := range m.cur {
		if c.top.n == 0 && c.top.st == rEnd {
			return true
		}
		if c.rest >= 0 && m.links[c.rest].next < 0 && m.complete(&c.top) {
			return true
		}
	}
	return false
}

func (m *jsonMatcher) Done() bool {
	if !m.Accepting() {
		return false
	}
	for b := 0; b < 256; b++ {
		h := m.Snapshot()
		ok := m.Advance(byte(b))
		m.Restore(h)
		if ok {
			return false
		}
	}
	return true
}

// complete reports whether a number or literal frame may end here.
func (m *jsonMatcher) complete(f *frame) bool {
	switch n := m.nodes[f.n]; n.kind {
	case kNumber, kInteger:
		if n.num != nil {
			return n.num.accepting(f.a)
		}
		return f.st == nZero || f.st == nInt || f.st == nFrac || f.st == nExpD
	case kLiteral:
		return len(n.lits[f.a]) == int(f.cnt)
	}
	return false
}

// emit adds a configuration for the next byte.
func (m *jsonMatcher) emit(c config) { m.tmp = append(m.tmp, c) }

// pop completes the top frame's value.
func (m *jsonMatcher) pop(c *config) {
	l := &m.links[c.rest]
	c.top, c.rest = l.f, l.next
}

// step advances one configuration over b, emitting what follows (none, one, or several).
func (m *jsonMatcher) step(c config, b byte) {
	for {
		f := &c.top
		n := m.nodes[f.n]
		switch n.kind {
		case kRoot:
			if f.st == rValue {
				m.start(c, n.items, b, frame{n: f.n, st: rEnd}, 0)
			}
			return
		case kObject:
			m.object(c, b)
			return
		case kArray:
			m.array(c, b)
			return
		case kString:
			if ok, end := stringStep(f, n, b); ok {
				if end {
					m.pop(&c)
				}
				m.emit(c)
			}
			return
		case kNumber, kInteger:
			if numberStep(f, n, b) {
				m.emit(c)
				return
			}
		case kLiteral:
			if literalStep(f, n, b) {
				m.emit(c)
				return
			}
		}
		// A number or literal that cannot take b ends before it, if it may.
		if !m.complete(f) {
			return
		}
		m.pop(&c)
	}
}

// start begins a value of v with its first byte b at nesting depth d (the objects and arrays around
// it); cont is the parent frame once the value is done. Alternatives that cannot finish within
// maxNesting from there are not started.
func (m *jsonMatcher) start(c config, v *value, b byte, cont frame, d uint8) {
	l := int32(-1)
	for _, n := range v.alts {
		if int(d)+n.h > maxNesting {
			continue
		}
		f := frame{n: n.id, dep: d}
		switch n.kind {
		case kObject:
			if b != '{' {
				continue
			}
			if n.unfit != nil {
				f.seen = n.unfit[d+1]
			}
			if n.addl != nil && int(d)+1 <= n.addlMax {
				f.cnt = 1
			}
		case kArray:
			if b != '[' {
				continue
			}
		case kString:
			if b != '"' {
				continue
			}
			if n.pat != nil {
				f.a = n.pat.start
			}
		case kNumber, kInteger:
			if n.num != nil {
				f.a = n.num.start
			}
			if !numberStep(&f, n, b) {
				continue
			}
		case kLiteral:
			f.b = int32(len(n.lits))
			if !literalStep(&f, n, b) {
				continue
			}
		}
		if l < 0 {
			m.links = append(m.links, link{f: cont, next: c.rest})
			l = int32(len(m.links) - 1)
		}
		m.emit(config{top: f, rest: l})
	}
}

// wsStep takes b as whitespace between tokens if it may come here: a gap is empty, one space, or a
// newline followed by at most maxIndent spaces and tabs. f.ws is 0 (nothing yet), 1 (a space) or 2
// plus the spaces and tabs after the newline.
func wsStep(f *frame, b byte) bool {
	switch {
	case b > ' ':
		return false
	case b == ' ' && f.ws == 0:
		f.ws = 1
	case b == '\n' && f.ws == 0:
		f.ws = 2
	case (b == ' ' || b == '\t') && f.ws >= 2 && f.ws < 2+maxIndent:
		f.ws++
	default:
		return false
	}
	return true
}

// moreKeys reports whether another member may follow.
func moreKeys(f *frame, n *tnode) bool { return f.cnt != 0 || n.allow&^f.seen != 0 }

// objectSyntax are the bytes an object can take outside its keys and before a value starts.
var objectSyntax = [256]bool{'"': true, ':': true, ',': true, '}': true, ' ': true, '\n': true, '\t': true}

// object advances an object frame over b.
func (m *jsonMatcher) object(c config, b byte) {
	f := &c.top
	if f.st != oKey && f.st != oValue && !objectSyntax[b] {
		return
	}
	n := m.nodes[f.n]
	switch f.st {
	case oOpen, oComma:
		switch {
		case b == '"' && moreKeys(f, n):
			f.st, f.ls, f.a, f.ws = oKey, lsNorm, 0, 0
		case b == '}' && f.st == oOpen && n.req == 0:
			m.pop(&c)
		case wsStep(f, b):
		default:
			return
		}
	case oKey:
		if !keyStep(f, n, b) {
			return
		}
	case oColon:
		switch {
		case b == ':':
			f.st, f.ws = oValue, 0
		case wsStep(f, b):
		default:
			return
		}
	case oValue:
		if wsStep(f, b) {
			break
		}
		v := n.addl
		if f.b >= 0 {
			v = n.props[f.b]
		}
		cont := *f
		cont.st, cont.ws = oAfter, 0
		m.start(c, v, b, cont, f.dep+1)
		return
	case oAfter:
		switch {
		case b == ',' && moreKeys(f, n):
			f.st, f.ws = oComma, 0
		case b == '}' && n.req&^f.seen == 0:
			m.pop(&c)
		case wsStep(f, b):
		default:
			return
		}
	}
	m.emit(c)
}

// array advances an array frame over b.
func (m *jsonMatcher) array(c config, b byte) {
	f := &c.top
	n := m.nodes[f.n]
	switch {
	case f.st == aOpen && b == ']' && n.minItems == 0,
		f.st == aAfter && b == ']' && int(f.cnt) >= n.minItems:
		m.pop(&c)
	case f.st == aAfter && b == ',':
		if n.maxItems >= 0 && int(f.cnt) >= n.maxItems {
			return
		}
		f.st, f.ws = aComma, 0
	case wsStep(f, b):
	case f.st == aAfter:
		return
	default: // an item starts
		if f.st == aOpen && n.maxItems == 0 {
			return
		}
		cont := *f
		cont.st, cont.cnt, cont.ws = aAfter, f.cnt+1, 0
		m.start(c, n.items, b, cont, f.dep+1)
		return
	}
	m.emit(c)
}
