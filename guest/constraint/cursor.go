package constraint

// cursor is a Matcher's state as Trie.Mask's walk moves it: a stack of states, one per byte pushed.
type cursor interface {
	// push consumes b on top of the current state; false (and nothing pushed) if b is refused.
	push(b byte) bool
	// pop returns to the state before the last push.
	pop()
	// free is the current state's freeRun; false if it has none.
	free() (freeRun, bool)
}

// cursorOf returns the fastest cursor for m: its own for this package's matchers, else one over
// Snapshot and Restore, else one over Clone.
func cursorOf(m Matcher) cursor {
	switch mm := m.(type) {
	case *regexMatcher:
		return &dfaCursor{d: mm.d, states: []int32{mm.s}}
	case *jsonMatcher:
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

func (c *dfaCursor) pop()                  { c.states = c.states[:len(c.states)-1] }
func (c *dfaCursor) free() (freeRun, bool) { return c.d.free(c.states[len(c.states)-1]) }

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

func (c *snapCursor) free() (freeRun, bool) { return freeOf(c.m) }

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

func (c *cloneCursor) pop()                  { c.stack = c.stack[:len(c.stack)-1] }
func (c *cloneCursor) free() (freeRun, bool) { return freeOf(c.stack[len(c.stack)-1]) }
