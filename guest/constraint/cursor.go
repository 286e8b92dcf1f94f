package constraint

// cursor is a Matcher's state as Trie.Mask's walk moves it: a stack of states, one per byte pushed.
type cursor interface {
	// push consumes b on top of the current state; false (and nothing pushed) if b is refused.
	push(b byte) bool
	// pop returns to the state before the last push.
	pop()
	// free is the current state's freeRun for walking the tokens below node of t; false if it has none.
	// A cursor may give a run that holds for those tokens only (a GBNF one's stops where they do).
	free(t *Trie, node int32) (freeRun, bool)
	// next is a set of bytes that holds every byte the current state takes (and maybe more); false if
	// the cursor cannot tell cheaply.
	next() (byteSet, bool)
}

// byteSet is a set of bytes.
type byteSet [4]uint64

func (s *byteSet) has(b byte) bool { return s[b>>6]&(1<<(b&63)) != 0 }
func (s *byteSet) add(b byte)      { s[b>>6] |= 1 << (b & 63) }

// addAll adds the bytes of text.
func (s *byteSet) addAll(text string) {
	for i := 0; i < len(text); i++ {
		s.add(text[i])
	}
}

// and keeps the bytes of o.
func (s *byteSet) and(o *byteSet) {
	for i := range s {
		s[i] &= o[i]
	}
}

// andNot drops the bytes of o.
func (s *byteSet) andNot(o *byteSet) {
	for i := range s {
		s[i] &^= o[i]
	}
}

// or adds the bytes of o.
func (s *byteSet) or(o *byteSet) {
	for i := range s {
		s[i] |= o[i]
	}
}

// addRange adds the bytes lo to hi.
func (s *byteSet) addRange(lo, hi byte) {
	for b := int(lo); b <= int(hi); b++ {
		s.add(byte(b))
	}
}

// closer is implemented by cursors that must tidy their matcher once the walk is over.
type closer interface{ close() }

// closeCursor closes c where it is a closer.
func closeCursor(c cursor) {
	if cl, ok := c.(closer); ok {
		cl.close()
	}
}

// cursorOf returns the fastest cursor for m: its own for this package's matchers, else one over
// Snapshot and Restore, else one over Clone.
func cursorOf(m Matcher) cursor {
	switch mm := m.(type) {
	case *regexMatcher:
		return &dfaCursor{d: mm.d, states: []int32{mm.s}}
	case *jsonMatcher:
		return mm.cursor()
	case *gbnfMatcher:
		return mm.cursor()
	case Snapshotter:
		return &snapCursor{m: mm}
	}
	return &cloneCursor{stack: []Matcher{m}}
}

// freeOf is m's freeRun where m is a slicer.
func freeOf(m Matcher) (freeRun, bool) {
	if s, ok := m.(slicer); ok {
		return s.free()
	}
	return freeRun{}, false
}

// dfaCursor walks a DFA: a state is an integer.
type dfaCursor struct {
	d      *dfa
	states []int32
}

func (c *dfaCursor) push(b byte) bool {
	s := c.d.next(c.states[len(c.states)-1], b)
	if s == deadState {
		return false
	}
	c.states = append(c.states, s)
	return true
}

func (c *dfaCursor) pop()                              { c.states = c.states[:len(c.states)-1] }
func (c *dfaCursor) free(*Trie, int32) (freeRun, bool) { return c.d.free(c.states[len(c.states)-1]) }
func (c *dfaCursor) next() (byteSet, bool)             { return c.d.nextBytes(c.states[len(c.states)-1]), true }

// snapCursor moves a Snapshotter in place.
type snapCursor struct {
	m       Snapshotter
	handles []int
}

func (c *snapCursor) push(b byte) bool {
	h := c.m.Snapshot()
	if !c.m.Advance(b) {
		c.m.Restore(h)
		return false
	}
	c.handles = append(c.handles, h)
	return true
}

func (c *snapCursor) pop() {
	c.m.Restore(c.handles[len(c.handles)-1])
	c.handles = c.handles[:len(c.handles)-1]
}

func (c *snapCursor) free(*Trie, int32) (freeRun, bool) { return freeOf(c.m) }

// next asks the matcher where it is a nexter.
func (c *snapCursor) next() (byteSet, bool) {
	if n, ok := c.m.(nexter); ok {
		return n.nextBytes(), true
	}
	return byteSet{}, false
}

// nexter is implemented by Matchers that can tell cheaply a set of bytes holding every byte their state
// takes (cursor.next).
type nexter interface {
	nextBytes() byteSet
}

// cloneCursor serves Matchers without snapshots: one Clone per byte pushed.
type cloneCursor struct{ stack []Matcher }

func (c *cloneCursor) push(b byte) bool {
	m := c.stack[len(c.stack)-1].Clone()
	if !m.Advance(b) {
		return false
	}
	c.stack = append(c.stack, m)
	return true
}

func (c *cloneCursor) pop()                              { c.stack = c.stack[:len(c.stack)-1] }
func (c *cloneCursor) free(*Trie, int32) (freeRun, bool) { return freeOf(c.stack[len(c.stack)-1]) }
func (c *cloneCursor) next() (byteSet, bool)             { return byteSet{}, false }
