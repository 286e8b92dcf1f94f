package meter

import "fmt"

// costWidth is the width of the padded LEB128 cost in the meter sequence, patched once it is known.
const costWidth = 5

// code instruments every function body.
func (m *module) code(b []byte) ([]byte, error) {
	r := &reader{b: b}
	n := r.count()
	out := appendU32(make([]byte, 0, len(b)+len(b)/4), n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		body := r.bytes(uint64(r.u32()))
		if r.err != nil {
			break
		}
		body, err := m.body(body)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", m.impFuncs+i, err)
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	if r.err == nil && r.off != len(b) {
		r.fail("%d bytes after the last function", len(b)-r.off)
	}
	return out, r.err
}

// body instruments one function body: a meter sequence at its entry and at every loop header, each
// charged the instructions it governs (those of the body or loop, nested blocks included, nested loops
// excluded), and function indices renumbered.
func (m *module) body(b []byte) ([]byte, error) {
	w := m.writer(b)
	for n := w.count(); n > 0 && w.err == nil; n-- { // local declarations: count, type
		w.u32()
		w.byte()
	}
	var (
		costs  []int64 // of each meter point, in order
		costAt []int   // where each point's cost goes in w.out
		open   []int   // for each open block, the point charged for its instructions
	)
	point := func(at int) {
		w.upTo(at)
		var c int
		w.out, c = m.meter(w.out)
		costAt = append(costAt, c)
		open = append(open, len(costs))
		costs = append(costs, 0)
	}
	point(w.off)
	var in instr
	for len(open) > 0 && w.err == nil {
		in = w.decode()
		costs[open[len(open)-1]]++
		switch in.op {
		case opBlock, opIf:
			open = append(open, open[len(open)-1])
		case opLoop:
			point(in.next)
		case opEnd:
			open = open[:len(open)-1]
		case opCall, opRefFunc:
			w.fn(in.immAt, in.next, in.fn)
		}
	}
	if w.err == nil && w.off != len(b) {
		w.fail("%d bytes after the end", len(b)-w.off)
	}
	if w.err != nil {
		return nil, fmt.Errorf("offset %d: %w", in.start, w.err)
	}
	w.upTo(len(b))
	for i, at := range costAt {
		putCost(w.out[at:at+costWidth], costs[i])
	}
	return w.out, nil
}

// meter appends the meter sequence with room for its cost, and returns where the cost goes:
//
//	global.get $fuel  i64.const cost  i64.sub  global.set $fuel
//	global.get $fuel  i64.const 0  i64.lt_s
//	if  i64.const Interval  global.set $fuel  call $tick  end
func (m *module) meter(b []byte) ([]byte, int) {
	b = appendU32(append(b, opGlobGet), m.fuel)
	b = append(b, opI64)
	at := len(b)
	b = append(b, make([]byte, costWidth)...)
	b = appendU32(append(b, opI64Sub, opGlobSet), m.fuel)
	b = appendU32(append(b, opGlobGet), m.fuel)
	b = append(b, opI64, 0, opI64LtS, opIf, blockVoid, opI64)
	b = appendS64(b, Interval)
	b = appendU32(append(b, opGlobSet), m.fuel)
	b = appendU32(append(b, opCall), m.impFuncs)
	return append(b, opEnd), at
}

// putCost writes v, 0 <= v < 2^34, as a signed LEB128 of exactly costWidth bytes.
func putCost(dst []byte, v int64) {
	for i := range costWidth - 1 {
		dst[i] = byte(v>>(7*i))&0x7f | 0x80
	}
	dst[costWidth-1] = byte(v>>(7*(costWidth-1))) & 0x3f
}
