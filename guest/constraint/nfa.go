package constraint

import (
	"errors"
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// maxNFA bounds the byte-level program a pattern may compile to.
const maxNFA = 1 << 18

// nOp is the kind of a byte-level NFA instruction.
type nOp uint8

const (
	opFail  nOp = iota // no way on
	opByte             // consume one byte in [lo, hi], then out
	opSplit            // out and out1
	opNop              // out
	opEmpty            // out where the empty-width assertion empty holds
	opMatch            // the component's program matches
)

// nInst is one instruction of the byte-level NFA.
type nInst struct {
	op     nOp
	lo, hi byte
	comp   uint8 // the component (program) the instruction belongs to
	empty  syntax.EmptyOp
	out    int32
	out1   int32
}

// nfa is a byte-level NFA made of one or more components (programs) that must all match: the language
// is the intersection of theirs. Component c owns the instructions from starts[c].
type nfa struct {
	insts  []nInst
	starts []int32
	empty  syntax.EmptyOp // every empty-width assertion used
}

// parseRegexp parses pattern with the flags of regexp.Compile.
func parseRegexp(pattern string) (*syntax.Regexp, error) {
	return syntax.Parse(pattern, syntax.Perl)
}

// addRegexp compiles re into a new component of n.
func (n *nfa) addRegexp(re *syntax.Regexp) error {
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return err
	}
	if len(n.starts) >= 255 {
		return errors.New("too many components")
	}
	comp := uint8(len(n.starts))
	base := int32(len(n.insts))
	// Each program instruction keeps its index (plus base); rune instructions jump to a byte fragment
	// appended after the program.
	for range prog.Inst {
		n.insts = append(n.insts, nInst{comp: comp})
	}
	for pc := range prog.Inst {
		in := &prog.Inst[pc]
		out := base + int32(in.Out)
		var ni nInst
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			ni = nInst{op: opSplit, out: out, out1: base + int32(in.Arg)}
		case syntax.InstCapture, syntax.InstNop:
			ni = nInst{op: opNop, out: out}
		case syntax.InstEmptyWidth:
			ni = nInst{op: opEmpty, empty: syntax.EmptyOp(in.Arg), out: out}
			n.empty |= ni.empty
		case syntax.InstMatch:
			ni = nInst{op: opMatch}
		case syntax.InstFail:
			ni = nInst{op: opFail}
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			entry := n.runeFragment(instRanges(in), out, comp)
			ni = nInst{op: opNop, out: entry}
			if entry < 0 {
				ni = nInst{op: opFail}
			}
		default:
			return errors.New("unknown instruction")
		}
		if len(n.insts) > maxNFA {
			return errors.New("pattern too large")
		}
		ni.comp = comp
		n.insts[base+int32(pc)] = ni
	}
	n.starts = append(n.starts, base+int32(prog.Start))
	return nil
}

// instRanges returns the rune ranges (lo, hi pairs) a rune instruction matches.
func instRanges(in *syntax.Inst) []rune {
	switch in.Op {
	case syntax.InstRuneAny:
		return []rune{0, utf8.MaxRune}
	case syntax.InstRuneAnyNotNL:
		return []rune{0, '\n' - 1, '\n' + 1, utf8.MaxRune}
	case syntax.InstRune1:
		return []rune{in.Rune[0], in.Rune[0]}
	}
	if len(in.Rune) == 1 {
		r0 := in.Rune[0]
		rs := []rune{r0, r0}
		if syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
			for r := unicode.SimpleFold(r0); r != r0; r = unicode.SimpleFold(r) {
				rs = append(rs, r, r)
			}
		}
		return rs
	}
	return in.Rune
}

// runeFragment appends instructions matching the UTF-8 encoding of any rune in ranges, then going to
// out, and returns the fragment's entry (-1: it matches nothing). Sequences sharing leading byte
// ranges share instructions, which keeps DFA states small for large classes.
func (n *nfa) runeFragment(ranges []rune, out int32, comp uint8) int32 {
	type tnode struct {
		r    byteRange
		kids []int
	}
	nodes := []tnode{{}}
	for i := 0; i+1 < len(ranges); i += 2 {
		utf8Sequences(ranges[i], ranges[i+1], func(seq []byteRange) {
			cur := 0
		level:
			for _, r := range seq {
				for _, k := range nodes[cur].kids {
					if nodes[k].r == r {
						cur = k
						continue level
					}
				}
				nodes = append(nodes, tnode{r: r})
				nodes[cur].kids = append(nodes[cur].kids, len(nodes)-1)
				cur = len(nodes) - 1
			}
		})
	}
	if len(nodes) > maxNFA {
		return -1
	}
	// emit returns the entry of the instructions for node i's children.
	var emit func(i int) int32
	emit = func(i int) int32 {
		entry := int32(-1)
		for j := len(nodes[i].kids) - 1; j >= 0; j-- {
			k := nodes[i].kids[j]
			next := out
			if len(nodes[k].kids) > 0 {
				next = emit(k)
			}
			n.insts = append(n.insts, nInst{op: opByte, lo: nodes[k].r.lo, hi: nodes[k].r.hi, comp: comp, out: next})
			next = int32(len(n.insts) - 1)
			if entry >= 0 {
				n.insts = append(n.insts, nInst{op: opSplit, comp: comp, out: next, out1: entry})
				next = int32(len(n.insts) - 1)
			}
			entry = next
		}
		return entry
	}
	return emit(0)
}
