package meter

import (
	"fmt"
	"math"
)

// writer copies its input to out with edits in between: what is not edited is copied unchanged.
type writer struct {
	reader
	m    *module
	out  []byte
	mark int // input before this offset is in out
}

func (m *module) writer(b []byte) *writer { return &writer{reader: reader{b: b}, m: m} }

// upTo copies the input up to offset at.
func (w *writer) upTo(at int) {
	w.out = append(w.out, w.b[w.mark:at]...)
	w.mark = at
}

// fn replaces the function index x encoded in the input at [at, end) with its new index.
func (w *writer) fn(at, end int, x uint32) {
	if w.err != nil {
		return
	}
	if x == math.MaxUint32 {
		w.fail("function index %d out of range", x)
		return
	}
	if x >= w.m.impFuncs {
		x++
	}
	w.upTo(at)
	w.out = appendU32(w.out, x)
	w.mark = end
}

// funcIdx reads and rewrites one function index.
func (w *writer) funcIdx() {
	at := w.off
	x := w.u32()
	w.fn(at, w.off, x)
}

// expr rewrites a constant expression up to and including its end.
func (w *writer) expr() {
	for depth := 1; depth > 0 && w.err == nil; {
		in := w.decode()
		switch in.op {
		case opBlock, opLoop, opIf:
			depth++
		case opEnd:
			depth--
		case opCall, opRefFunc:
			w.fn(in.immAt, in.next, in.fn)
		}
	}
}

// result checks that the input is used up and returns the output.
func (w *writer) result() ([]byte, error) {
	if w.err == nil && w.off != len(w.b) {
		w.fail("%d bytes after the last entry", len(w.b)-w.off)
	}
	if w.err != nil {
		return nil, w.err
	}
	w.upTo(len(w.b))
	return w.out, nil
}

// extend is result for a vector of count entries read first (ending at countEnd), with one more entry
// appended.
func (w *writer) extend(countEnd int, count uint32, entry []byte) ([]byte, error) {
	out, err := w.result()
	if err != nil {
		return nil, err
	}
	if count == math.MaxUint32 {
		return nil, fmt.Errorf("too many entries")
	}
	b := appendU32(make([]byte, 0, len(out)+len(entry)+5), count+1)
	b = append(b, out[countEnd:]...)
	return append(b, entry...), nil
}

// types finds the () -> () type, adding it if missing.
func (m *module) types(b []byte) ([]byte, error) {
	w := m.writer(b)
	n := w.count()
	countEnd := w.off
	m.voidType = math.MaxUint32
	for i := uint32(0); i < n && w.err == nil; i++ {
		if form := w.byte(); form != 0x60 && w.err == nil {
			w.fail("type %d: form %#02x is not a function type", i, form)
		}
		params := w.count()
		w.bytes(uint64(params))
		results := w.count()
		w.bytes(uint64(results))
		if params == 0 && results == 0 && m.voidType == math.MaxUint32 {
			m.voidType = i
		}
	}
	if m.voidType != math.MaxUint32 {
		return w.result()
	}
	m.voidType = n
	return w.extend(countEnd, n, []byte{0x60, 0, 0})
}

// imports counts the imported functions and globals and appends the tick import.
func (m *module) imports(b []byte) ([]byte, error) {
	w := m.writer(b)
	n := w.count()
	countEnd := w.off
	for i := uint32(0); i < n && w.err == nil; i++ {
		w.name()
		w.name()
		switch kind := w.byte(); kind {
		case 0: // function: type index
			w.u32()
			m.impFuncs++
		case 1: // table: reference type, limits
			w.byte()
			w.limits()
		case 2: // memory: limits
			w.limits()
		case 3: // global: value type, mutability
			w.byte()
			w.byte()
			m.impGlobals++
		default:
			w.fail("import %d: unsupported kind %#02x", i, kind)
		}
	}
	tick := appendName(nil, ImportModule)
	tick = appendName(tick, ImportName)
	tick = appendU32(append(tick, 0), m.voidType)
	return w.extend(countEnd, n, tick)
}

// limits skips table or memory limits: flags, minimum, and a maximum when flag bit 0 is set.
func (r *reader) limits() {
	flags := r.byte()
	r.leb(64, false)
	if flags&1 != 0 {
		r.leb(64, false)
	}
}

// globals rewrites the initializers and appends the fuel global, which starts with Interval.
func (m *module) globals(b []byte) ([]byte, error) {
	w := m.writer(b)
	n := w.count()
	countEnd := w.off
	for i := uint32(0); i < n && w.err == nil; i++ {
		w.byte() // value type
		w.byte() // mutability
		w.expr()
	}
	m.fuel = m.impGlobals + n
	fuel := appendS64([]byte{0x7e, 1, opI64}, Interval) // mutable i64 = Interval
	return w.extend(countEnd, n, append(fuel, opEnd))
}

// exports renumbers exported functions.
func (m *module) exports(b []byte) ([]byte, error) {
	w := m.writer(b)
	n := w.count()
	for i := uint32(0); i < n && w.err == nil; i++ {
		w.name()
		switch kind := w.byte(); kind {
		case 0:
			w.funcIdx()
		case 1, 2, 3:
			w.u32()
		default:
			w.fail("export %d: unsupported kind %#02x", i, kind)
		}
	}
	return w.result()
}

// start renumbers the start function.
func (m *module) start(b []byte) ([]byte, error) {
	w := m.writer(b)
	w.funcIdx()
	return w.result()
}

// elements renumbers the functions of element segments, in all eight forms: flag bit 0 passive or
// declarative, bit 1 an explicit table (active) or declarative (passive), bit 2 expressions instead of
// function indices.
func (m *module) elements(b []byte) ([]byte, error) {
	w := m.writer(b)
	n := w.count()
	for i := uint32(0); i < n && w.err == nil; i++ {
		flags := w.u32()
		if flags > 7 {
			w.fail("element segment %d: unsupported flags %d", i, flags)
			break
		}
		if flags&1 == 0 { // active
			if flags&2 != 0 {
				w.u32() // table
			}
			w.expr() // offset
		}
		if flags&3 != 0 {
			w.byte() // element kind (0x00 = funcref) or reference type
		}
		for k := w.count(); k > 0 && w.err == nil; k-- {
			if flags&4 != 0 {
				w.expr()
			} else {
				w.funcIdx()
			}
		}
	}
	return w.result()
}

// names renumbers the function, local and label names of a name section's content, and names the tick
// import. It returns nil when the content is malformed.
func (m *module) names(b []byte) []byte {
	r := &reader{b: b}
	var out []byte
	for !r.done() {
		id := r.byte()
		sub := r.bytes(uint64(r.u32()))
		if r.err != nil {
			return nil
		}
		switch id {
		case 1: // function names: a name map
			sub = m.funcNames(sub)
		case 2, 3: // local and label names: indirect name maps keyed by function
			sub = m.indirectNames(sub)
		}
		if sub == nil {
			return nil
		}
		out = append(out, id)
		out = appendU32(out, uint32(len(sub)))
		out = append(out, sub...)
	}
	if r.err != nil {
		return nil
	}
	return out
}

// funcNames renumbers a function name map and names the tick import, in index order.
func (m *module) funcNames(b []byte) []byte {
	r := &reader{b: b}
	n := r.count()
	out := appendU32(nil, n+1)
	named := false // the tick's entry is in out
	tick := func() {
		out = appendName(appendU32(out, m.impFuncs), ImportModule+"."+ImportName)
		named = true
	}
	for i := uint32(0); i < n && r.err == nil; i++ {
		x, name := r.u32(), r.name()
		if x >= m.impFuncs {
			if !named {
				tick()
			}
			x++
		}
		out = appendName(appendU32(out, x), name)
	}
	if !named {
		tick()
	}
	if r.err != nil || r.off != len(b) {
		return nil
	}
	return out
}

// indirectNames renumbers the functions of an indirect name map.
func (m *module) indirectNames(b []byte) []byte {
	w := m.writer(b)
	n := w.count()
	for i := uint32(0); i < n && w.err == nil; i++ {
		w.funcIdx()
		for k := w.count(); k > 0 && w.err == nil; k-- {
			w.u32()
			w.name()
		}
	}
	out, err := w.result()
	if err != nil {
		return nil
	}
	return out
}
