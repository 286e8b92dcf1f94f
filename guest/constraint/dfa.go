package constraint

import (
	"encoding/binary"
	"regexp/syntax"
	"slices"
)

// deadState is the DFA state with no way on; every DFA has it at index 0.
const deadState int32 = 0

// maxDFACells bounds a DFA's transition table (states × byte classes). Past it the DFA builds no new
// state: a transition that needs one is treated as dead, which only narrows the language.
const maxDFACells = 1 << 22

// Context bits of a DFA state: what the byte before it was, as far as the NFA's assertions care.
const (
	ctxStart = 1 << iota // no byte yet
	ctxNL                // a newline
	ctxWord              // an ASCII word byte [0-9A-Za-z_]
)

// Liveness and cached-answer values.
const (
	unknown = 0
	yes     = 1
	no      = 2
)

// dstate is one DFA state: the NFA leaves (byte, empty-width and match instructions) it stands for and
// its context. Empty-width assertions are kept unexpanded and resolved once the next byte is known.
type dstate struct {
	pcs []int32
	ctx uint8
}

// dfa is a lazily built deterministic automaton over bytes for an nfa. States are built on first use
// and cached; only states from which an accepting state can be reached count as live.
type dfa struct {
	n       *nfa
	class   [256]uint8 // byte → class of bytes the NFA cannot tell apart
	nclass  int
	rep     []byte // a byte of each class
	blocked []bool // classes the DFA never takes
	ctxMask uint8
	states  []dstate
	trans   []int32 // states × classes; -1 = not built yet
	live    []int8
	acc     []int8
	done    []int8
	index   map[string]int32
	start   int32
	frees   []freeRun // by state, with freeOK: the state's free run (dfafree.go)
	freeOK  []int8
	multis  []int32   // by state: multiTarget's answer, or multiUnknown
	nexts   []byteSet // by state, with nextOK: the bytes it takes
	nextOK  []bool

	// scratch
	seen   []uint32
	epoch  uint32
	stack  []int32
	leaves []int32
	outs   []int32
	key    []byte
	mark   []uint32
	markEp uint32
}

// newDFA prepares the DFA of n; allowed, when not nil, lists the only bytes the DFA may take.
func newDFA(n *nfa, allowed *[256]bool) *dfa {
	d := &dfa{n: n, index: map[string]int32{}, seen: make([]uint32, len(n.insts))}
	var bound [257]bool
	bound[0] = true
	for _, in := range n.insts {
		if in.op == opByte {
			bound[in.lo], bound[int(in.hi)+1] = true, true
		}
	}
	if n.empty&(syntax.EmptyBeginText|syntax.EmptyBeginLine) != 0 {
		d.ctxMask |= ctxStart
	}
	if n.empty&(syntax.EmptyBeginLine|syntax.EmptyEndLine) != 0 {
		d.ctxMask |= ctxNL
		bound['\n'], bound['\n'+1] = true, true
	}
	if n.empty&(syntax.EmptyWordBoundary|syntax.EmptyNoWordBoundary) != 0 {
		d.ctxMask |= ctxWord
		for _, r := range [...][2]int{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}} {
			bound[r[0]], bound[r[1]+1] = true, true
		}
	}
	if allowed != nil {
		for b := 1; b < 256; b++ {
			if allowed[b] != allowed[b-1] {
				bound[b] = true
			}
		}
	}
	cls := -1
	for b := 0; b < 256; b++ {
		if bound[b] {
			cls++
			d.rep = append(d.rep, byte(b))
			d.blocked = append(d.blocked, allowed != nil && !allowed[b])
		}
		d.class[b] = uint8(cls)
	}
	d.nclass = cls + 1
	d.addState(nil, 0) // dead
	d.live[deadState], d.acc[deadState], d.done[deadState] = no, no, no
	d.epoch++
	d.leaves = d.leaves[:0]
	for _, pc := range n.starts {
		d.closure(pc, 0, false)
	}
	d.start = d.intern(d.leaves, ctxStart&d.ctxMask)
	return d
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z'
}

// ctxOf is the context after byte b.
func (d *dfa) ctxOf(b byte) uint8 {
	var c uint8
	if b == '\n' {
		c |= ctxNL
	}
	if isWordByte(b) {
		c |= ctxWord
	}
	return c & d.ctxMask
}

// flags are the empty-width assertions that hold between a byte in context ctx and next (-1: the end).
func flags(ctx uint8, next int) syntax.EmptyOp {
	var f syntax.EmptyOp
	if ctx&ctxStart != 0 {
		f |= syntax.EmptyBeginText | syntax.EmptyBeginLine
	}
	if ctx&ctxNL != 0 {
		f |= syntax.EmptyBeginLine
	}
	if next < 0 {
		f |= syntax.EmptyEndText | syntax.EmptyEndLine
	} else if next == '\n' {
		f |= syntax.EmptyEndLine
	}
	if (ctx&ctxWord != 0) != (next >= 0 && isWordByte(byte(next))) {
		f |= syntax.EmptyWordBoundary
	} else {
		f |= syntax.EmptyNoWordBoundary
	}
	return f
}

// closure appends to d.leaves the leaves reachable from pc through splits and nops and, when expand is
// set, the empty-width assertions that hold under f (others are dropped); unexpanded ones are leaves.
func (d *dfa) closure(pc int32, f syntax.EmptyOp, expand bool) {
	d.stack = append(d.stack[:0], pc)
	for len(d.stack) > 0 {
		pc := d.stack[len(d.stack)-1]
		d.stack = d.stack[:len(d.stack)-1]
		if d.seen[pc] == d.epoch {
			continue
		}
		d.seen[pc] = d.epoch
		in := &d.n.insts[pc]
		switch in.op {
		case opSplit:
			d.stack = append(d.stack, in.out1, in.out)
		case opNop:
			d.stack = append(d.stack, in.out)
		case opEmpty:
			if !expand {
				d.leaves = append(d.leaves, pc)
			} else if in.empty&^f == 0 {
				d.stack = append(d.stack, in.out)
			}
		case opByte, opMatch:
			d.leaves = append(d.leaves, pc)
		}
	}
}

func (d *dfa) addState(pcs []int32, ctx uint8) int32 {
	id := int32(len(d.states))
	d.states = append(d.states, dstate{pcs: pcs, ctx: ctx})
	for i := 0; i < d.nclass; i++ {
		d.trans = append(d.trans, -1)
	}
	d.live = append(d.live, unknown)
	d.acc = append(d.acc, unknown)
	d.done = append(d.done, unknown)
	d.frees = append(d.frees, freeRun{})
	d.freeOK = append(d.freeOK, unknown)
	d.multis = append(d.multis, multiUnknown)
	d.nexts = append(d.nexts, byteSet{})
	d.nextOK = append(d.nextOK, false)
	d.mark = append(d.mark, 0)
	return id
}

// intern returns the state for the leaves (reordered in place) and ctx, building it if new. It is the
// dead state if some component has no leaf left or the table is full.
func (d *dfa) intern(leaves []int32, ctx uint8) int32 {
	if len(leaves) == 0 {
		return deadState
	}
	slices.Sort(leaves)
	if len(d.n.starts) > 1 {
		var have [256]bool
		count := 0
		for _, pc := range leaves {
			if c := d.n.insts[pc].comp; !have[c] {
				have[c] = true
				count++
			}
		}
		if count < len(d.n.starts) {
			return deadState
		}
	}
	d.key = append(d.key[:0], ctx)
	for _, pc := range leaves {
		d.key = binary.LittleEndian.AppendUint32(d.key, uint32(pc))
	}
	if id, ok := d.index[string(d.key)]; ok {
		return id
	}
	if (len(d.states)+1)*d.nclass > maxDFACells {
		return deadState
	}
	id := d.addState(slices.Clone(leaves), ctx)
	d.index[string(d.key)] = id
	return id
}

// step returns the state after a byte of class cls from s, live or not.
func (d *dfa) step(s int32, cls int) int32 {
	i := int(s)*d.nclass + cls
	if t := d.trans[i]; t >= 0 {
		return t
	}
	t := deadState
	if !d.blocked[cls] && s != deadState {
		c := d.rep[cls]
		f := flags(d.states[s].ctx, int(c))
		d.epoch++
		d.leaves = d.leaves[:0]
		for _, pc := range d.states[s].pcs {
			d.closure(pc, f, true)
		}
		d.outs = d.outs[:0]
		for _, pc := range d.leaves {
			if in := &d.n.insts[pc]; in.op == opByte && in.lo <= c && c <= in.hi {
				d.outs = append(d.outs, in.out)
			}
		}
		d.epoch++
		d.leaves = d.leaves[:0]
		for _, pc := range d.outs {
			d.closure(pc, 0, false)
		}
		t = d.intern(d.leaves, d.ctxOf(c))
	}
	d.trans[i] = t
	return t
}

// next returns the live state after byte b from s, or the dead state.
func (d *dfa) next(s int32, b byte) int32 {
	i := int(s)*d.nclass + int(d.class[b])
	t := d.trans[i]
	if t > 0 && d.live[t] == yes {
		return t
	}
	if t < 0 {
		t = d.step(s, int(d.class[b]))
	}
	if !d.isLive(t) {
		d.trans[i] = deadState
		return deadState
	}
	return t
}

// accepting reports whether the input may end in s.
func (d *dfa) accepting(s int32) bool {
	if v := d.acc[s]; v != unknown {
		return v == yes
	}
	f := flags(d.states[s].ctx, -1)
	d.epoch++
	d.leaves = d.leaves[:0]
	for _, pc := range d.states[s].pcs {
		d.closure(pc, f, true)
	}
	var have [256]bool
	count := 0
	for _, pc := range d.leaves {
		if in := &d.n.insts[pc]; in.op == opMatch && !have[in.comp] {
			have[in.comp] = true
			count++
		}
	}
	ok := count == len(d.n.starts)
	d.acc[s] = no
	if ok {
		d.acc[s] = yes
	}
	return ok
}

// isDone reports whether s is accepting and no byte leads on from it.
func (d *dfa) isDone(s int32) bool {
	if v := d.done[s]; v != unknown {
		return v == yes
	}
	ok := d.accepting(s)
	for c := 0; ok && c < 256; c++ {
		if d.next(s, byte(c)) != deadState {
			ok = false
		}
	}
	d.done[s] = no
	if ok {
		d.done[s] = yes
	}
	return ok
}

// isLive reports whether an accepting state can be reached from s, searching depth first.
func (d *dfa) isLive(s int32) bool {
	if v := d.live[s]; v != unknown {
		return v == yes
	}
	d.markEp++
	type frame struct {
		s   int32
		cls int
	}
	found := d.accepting(s)
	path := []frame{{s, 0}}
	visited := []int32{s}
	d.mark[s] = d.markEp
	for !found && len(path) > 0 {
		top := &path[len(path)-1]
		if top.cls >= d.nclass {
			path = path[:len(path)-1]
			continue
		}
		cls := top.cls
		top.cls++
		t := d.step(top.s, cls)
		if t == deadState || d.mark[t] == d.markEp || d.live[t] == no {
			continue
		}
		d.mark[t] = d.markEp
		if d.live[t] == yes || d.accepting(t) {
			d.live[t] = yes
			found = true
			break
		}
		visited = append(visited, t)
		path = append(path, frame{t, 0})
	}
	if found {
		for _, f := range path {
			d.live[f.s] = yes
		}
		return true
	}
	for _, v := range visited {
		d.live[v] = no
	}
	return false
}
