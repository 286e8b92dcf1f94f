package constraint

import (
	"slices"
	"unicode/utf8"
)

// The GBNF matcher's cursor for Mask's walk: a lazy DFA over the states the walk meets. A walk visits many
// trie nodes but few distinct states (a JSON string's or an identifier's characters all lead back to one),
// and stepping a set of parse stacks costs far more than looking a step up, above all in the guest. So
// the cursor names each state it reaches by a small integer, keeps each step it took (state, byte → state)
// in a table, and steps the matcher only for a pair it has not met in this walk. The arena's links are
// kept for the whole walk (a snapshot at the start, restored by close), so equal stacks are equal pairs
// of integers and a state's stacks, sorted, are its name.

// gbnfCursor is the cursor of a gbnfMatcher (cursorOf); close restores the matcher.
type gbnfCursor struct {
	m      *gbnfMatcher
	h      int          // the matcher's snapshot from before the walk
	open   bool         // between cursor and close
	links0 int          // the arena's length before the walk
	path   []int32      // a state per byte pushed, the walk's first state first
	states []gbnfDState // by id
	stacks []gstack     // the states' stacks, sorted where shared: states[i]'s are stacks[lo:hi]
	names  []gbnfSlot   // open addressing over the shared states, by hash
	steps  stepTable    // the steps taken: (state, byte) → state
	held   stepTable    // the state a step that continues a set of a state's stacks leads to (holders)
	gen    uint32       // the walk: slots of other walks are empty
	sorted []gstack     // scratch
	parts  []int32      // uniformStep's scratch: a state per block, then per span
}

// gbnfDState is one state the walk has reached.
type gbnfDState struct {
	lo, hi    int32
	acc       bool
	u         utf8State // zero between characters: what the last character was does not matter
	whole     bool      // inside a character, every stack's class holds every code point it may become
	hash      uint32
	run       freeRun
	runOK     bool
	runKnown  bool
	next      byteSet
	nextKnown bool
}

// gbnfSlot is a slot of the cursor's names table, in use in walk gen: to is a state's id.
type gbnfSlot struct {
	gen uint32
	to  int32
}

// stepTable maps a state and a key (a byte, or a set of the state's stacks) to the state a step leads to
// (-1: refused), by open addressing; a slot is in use when its gen is the walk's.
type stepTable struct {
	slots []stepSlot
	n     int // slots in use
}

// stepSlot is a slot of a stepTable, in use in walk gen.
type stepSlot struct {
	gen, from uint32
	to        int32
	key       uint64
}

// find returns what from and key lead to, or where to put it (ok false).
func (t *stepTable) find(gen uint32, from int32, key uint64) (to int32, at uint32, ok bool) {
	mask := uint32(len(t.slots) - 1)
	h := (uint64(from) ^ key*0x9E3779B97F4A7C15) * 0xBF58476D1CE4E5B9
	i := uint32(h>>32) & mask
	for ; t.slots[i].gen == gen; i = (i + 1) & mask {
		if sl := &t.slots[i]; sl.from == uint32(from) && sl.key == key {
			return sl.to, i, true
		}
	}
	return -1, i, false
}

// put fills slot at (from find) and grows the table when half full.
func (t *stepTable) put(gen uint32, at uint32, from int32, key uint64, to int32) {
	t.slots[at] = stepSlot{gen: gen, from: uint32(from), key: key, to: to}
	if t.n++; 2*t.n > len(t.slots) {
		old := t.slots
		t.slots, t.n = make([]stepSlot, 2*len(old)), 0
		for _, sl := range old {
			if sl.gen == gen {
				_, i, _ := t.find(gen, int32(sl.from), sl.key)
				t.slots[i] = sl
				t.n++
			}
		}
	}
}

// cursorBudget is the most stacks a cursor keeps, links a walk adds to the arena and steps it keeps,
// before it gives up (cursorFull) on naming a state past the first: a hostile grammar's states may be
// many and large, and a walk keeps them all.
var cursorBudget = 1 << 15

// keptSlots is the most slots a cursor's tables keep between walks (4 times as many stacks): a matcher
// keeps its cursor, and a grammar may have many matchers alive; a walk that needed more allocates them
// again.
const keptSlots = 1 << 12

// cursorFull is what a cursor panics with past its budget; Trie.Mask then walks the plain way, whose
// memory is bounded by a token's length.
type cursorFull struct{}

// cursor returns m's cursor at its current state, reusing the last one's memory.
func (m *gbnfMatcher) cursor() *gbnfCursor {
	c := m.dcur
	if c == nil || c.open { // a second cursor while one walks (a slicer's free asked by a generic walk) gets its own
		c = &gbnfCursor{m: m}
		c.reset()
		if m.dcur == nil {
			m.dcur = c
		}
	}
	c.open = true
	c.h, c.links0 = m.Snapshot(), len(m.links)
	c.states, c.stacks, c.path, c.steps.n, c.held.n = c.states[:0], c.stacks[:0], c.path[:0], 0, 0
	if c.gen++; c.gen == 0 { // wrapped: every slot may look current
		clear(c.names)
		clear(c.steps.slots)
		clear(c.held.slots)
		c.gen = 1
	}
	c.path = append(c.path, c.name())
	return c
}

// close drops what the walk added to the matcher's arena and leaves it in its state from before the walk.
func (c *gbnfCursor) close() {
	c.m.Restore(c.h)
	c.open = false
	if len(c.steps.slots) > keptSlots || len(c.names) > keptSlots || len(c.held.slots) > keptSlots ||
		cap(c.stacks) > 4*keptSlots {
		c.reset()
	}
}

// reset gives c small empty tables and no scratch.
func (c *gbnfCursor) reset() {
	*c = gbnfCursor{m: c.m, names: make([]gbnfSlot, 64), steps: stepTable{slots: make([]stepSlot, 256)},
		held: stepTable{slots: make([]stepSlot, 64)}}
}

// name returns the id of the matcher's current state, naming it if it is new. Inside a character that
// every stack holds whole, the bits so far are left out: all such states lead to the same ones. A state
// with as many stacks as a matcher may hold is never shared: which stacks a full matcher drops depends on
// their order.
func (c *gbnfCursor) name() int32 {
	m := c.m
	if len(c.states) > 0 && (len(c.stacks)+len(m.cur) > cursorBudget || len(m.links)-c.links0 > cursorBudget ||
		c.steps.n > cursorBudget) {
		panic(cursorFull{})
	}
	st := gbnfDState{acc: m.acc}
	if m.u.need != 0 {
		st.u, st.whole = m.u, m.heldWhole()
	}
	c.sorted = append(c.sorted[:0], m.cur...)
	sortStacks(c.sorted)
	st.hash = hashDState(&st, c.sorted)
	share := len(m.cur) < maxGBNFStacks
	mask := uint32(len(c.names) - 1)
	i := st.hash & mask
	if share {
		for ; c.names[i].gen == c.gen; i = (i + 1) & mask {
			id := c.names[i].to
			if o := &c.states[id]; o.hash == st.hash && sameChar(o, &st) && slices.Equal(c.stacks[o.lo:o.hi], c.sorted) {
				return id
			}
		}
	}
	id := int32(len(c.states))
	st.lo = int32(len(c.stacks))
	if share {
		c.stacks = append(c.stacks, c.sorted...)
	} else {
		c.stacks = append(c.stacks, m.cur...)
	}
	st.hi = int32(len(c.stacks))
	c.states = append(c.states, st)
	if share {
		c.names[i] = gbnfSlot{gen: c.gen, to: id}
		if 2*len(c.states) > len(c.names) {
			c.renameAll(2 * len(c.names))
		}
	}
	return id
}

// sameChar reports whether two states are as far into the same character (or both between characters).
func sameChar(a, b *gbnfDState) bool {
	if a.acc != b.acc || a.whole != b.whole || a.u.need != b.u.need || a.u.nlo != b.u.nlo || a.u.nhi != b.u.nhi {
		return false
	}
	return a.whole || a.u.v == b.u.v && a.u.lo == b.u.lo && a.u.hi == b.u.hi
}

// renameAll rebuilds the names table at size n.
func (c *gbnfCursor) renameAll(n int) {
	c.names = make([]gbnfSlot, n)
	mask := uint32(n - 1)
	for id := range c.states {
		st := &c.states[id]
		if st.hi-st.lo >= maxGBNFStacks {
			continue
		}
		i := st.hash & mask
		for c.names[i].gen == c.gen {
			i = (i + 1) & mask
		}
		c.names[i] = gbnfSlot{gen: c.gen, to: int32(id)}
	}
}

// hashDState hashes what sameChar compares and a state's sorted stacks.
func hashDState(st *gbnfDState, stacks []gstack) uint32 {
	h := uint64(0x9E3779B97F4A7C15)
	mix := func(x uint64) { h = (h ^ x) * 0xBF58476D1CE4E5B9 }
	if st.acc {
		mix(1)
	}
	mix(uint64(st.u.need) | uint64(st.u.nlo)<<8 | uint64(st.u.nhi)<<16)
	if !st.whole {
		mix(uint64(uint32(st.u.v)) | uint64(uint32(st.u.lo))<<32)
	}
	for _, s := range stacks {
		mix(uint64(uint32(s.top))<<32 | uint64(uint32(s.rest)))
	}
	return uint32(h >> 32)
}

// load puts the matcher in state id.
func (c *gbnfCursor) load(id int32) {
	st := &c.states[id]
	c.m.cur = append(c.m.cur[:0], c.stacks[st.lo:st.hi]...)
	c.m.acc, c.m.u = st.acc, st.u
}

func (c *gbnfCursor) push(b byte) bool {
	to := c.step(c.path[len(c.path)-1], b)
	if to < 0 {
		return false
	}
	c.path = append(c.path, to)
	return true
}

// step returns the state that byte b leads to from state from, -1 if b is refused: from the table, else
// from the step of another byte that continues the same stacks (holders), else by stepping the matcher;
// the answer is kept.
func (c *gbnfCursor) step(from int32, b byte) int32 {
	if !c.nextOf(from).has(b) {
		return -1
	}
	to, at, ok := c.steps.find(c.gen, from, uint64(b))
	if ok {
		return to
	}
	set, held := c.holders(from, b)
	var hat uint32
	if held {
		to, hat, ok = c.held.find(c.gen, from, set)
	}
	if !ok {
		c.load(from)
		if c.m.Advance(b) {
			to = c.name()
		}
		if held {
			c.held.put(c.gen, hat, from, set, to)
		}
	}
	c.steps.put(c.gen, at, from, uint64(b), to)
	return to
}

// holders returns, where it alone decides the state that byte b (one of the state's next bytes) leads
// to, the set of the state's stacks that b continues: those whose class holds an ASCII b, or the character
// b completes (a step continues exactly those, whatever the character); inside a character every stack
// holds whole, all of them, since then the state after b is the same for every b.
func (c *gbnfCursor) holders(from int32, b byte) (set uint64, ok bool) {
	st := &c.states[from]
	if st.hi-st.lo > 64 {
		return 0, false
	}
	g := c.m.g
	switch {
	case st.u.need == 0 && b < utf8.RuneSelf:
		for i, s := range c.stacks[st.lo:st.hi] {
			if g.classes[g.elems[s.top].arg].ascii[b>>6]&(1<<(b&63)) != 0 {
				set |= 1 << i
			}
		}
		return set, true
	case st.u.need == 1:
		r := st.u.v<<6 | rune(b&0x3F)
		for i, s := range c.stacks[st.lo:st.hi] {
			if g.classes[g.elems[s.top].arg].contains(r) {
				set |= 1 << i
			}
		}
		return set, true
	case st.whole:
		return ^uint64(0), true
	}
	return 0, false
}

func (c *gbnfCursor) pop() { c.path = c.path[:len(c.path)-1] }

// free keeps the run by the state where it holds for any tokens (findFree's exact).
func (c *gbnfCursor) free(t *Trie, node int32) (freeRun, bool) {
	id := c.path[len(c.path)-1]
	if st := &c.states[id]; st.runKnown {
		return st.run, st.runOK
	}
	run, ok, exact := c.findFree(id, t, node)
	if exact {
		st := &c.states[id]
		st.run, st.runOK, st.runKnown = run, ok, true
	}
	return run, ok
}

func (c *gbnfCursor) next() (byteSet, bool) { return *c.nextOf(c.path[len(c.path)-1]), true }

// nextOf is state id's nextBytes, found on first use.
func (c *gbnfCursor) nextOf(id int32) *byteSet {
	st := &c.states[id]
	if !st.nextKnown {
		c.load(id)
		st.next, st.nextKnown = c.m.nextBytes(), true
	}
	return &st.next
}
