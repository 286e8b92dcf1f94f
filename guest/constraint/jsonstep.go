package constraint

// Byte steps of the frames that need no stack: keys, strings, numbers and literals.

// Number states (RFC 8259 grammar).
const (
	nStart = iota
	nMinus
	nZero  // complete
	nInt   // complete
	nDot   //
	nFrac  // complete
	nExp   //
	nExpSg //
	nExpD  // complete
)

// keyStep advances an object frame inside a key over b.
func keyStep(f *frame, n *tnode, b byte) bool {
	switch lx, _ := lex(&f.ls, b, lexKey); lx {
	case lxMore:
		f.a = n.keys.child(f.a, b, false)
		return f.cnt != 0 || f.a >= 0 && n.keys.nodes[f.a].sub&n.allow&^f.seen != 0
	case lxEnd:
		p := int8(-1)
		if f.a >= 0 {
			p = n.keys.nodes[f.a].end
		}
		switch {
		case p >= 0 && n.allow&^f.seen&(1<<p) != 0:
			f.seen |= 1 << p
		case p < 0 && f.cnt != 0:
		default:
			return false
		}
		f.st, f.b, f.ws = oColon, int32(p), 0
		return true
	}
	return false
}

// stringStep advances a string frame over b; end reports the closing quote.
func stringStep(f *frame, n *tnode, b byte) (ok, end bool) {
	if f.ls == lsNorm {
		if b == '"' {
			return int(f.cnt) >= n.minLen && (n.pat == nil || n.pat.accepting(f.a)), true
		}
		if n.maxLen >= 0 && int(f.cnt) >= n.maxLen {
			return false, false
		}
		f.cnt++ // a character starts
	}
	if n.pat == nil {
		lx, _ := lex(&f.ls, b, lexFull)
		return lx == lxMore, false
	}
	lx, dec := lex(&f.ls, b, lexPattern)
	if lx != lxMore {
		return false, false
	}
	if dec < 0 { // a backslash: some escape must be able to follow
		for _, e := range [...]byte{'"', '\\', '/', '\b', '\f', '\n', '\r', '\t'} {
			if n.pat.next(f.a, e) != deadState {
				return true, false
			}
		}
		return false, false
	}
	f.a = n.pat.next(f.a, byte(dec))
	return f.a != deadState, false
}

// numberStep advances a number frame over b: on the number's DFA when it has bounds, else on the RFC
// 8259 grammar.
func numberStep(f *frame, n *tnode, b byte) bool {
	if n.num != nil {
		s := n.num.next(f.a, b)
		if s == deadState {
			return false
		}
		f.a = s
		return true
	}
	digit := b >= '0' && b <= '9'
	real := n.kind == kNumber
	switch f.st {
	case nStart:
		switch {
		case b == '-':
			f.st = nMinus
		case b == '0':
			f.st = nZero
		case digit:
			f.st = nInt
		default:
			return false
		}
	case nMinus:
		switch {
		case b == '0':
			f.st = nZero
		case digit:
			f.st = nInt
		default:
			return false
		}
	case nZero, nInt:
		switch {
		case digit && f.st == nInt:
		case b == '.' && real:
			f.st = nDot
		case (b == 'e' || b == 'E') && real:
			f.st = nExp
		default:
			return false
		}
	case nDot, nFrac:
		switch {
		case digit:
			f.st = nFrac
		case (b == 'e' || b == 'E') && f.st == nFrac:
			f.st = nExp
		default:
			return false
		}
	case nExp:
		switch {
		case b == '+' || b == '-':
			f.st = nExpSg
		case digit:
			f.st = nExpD
		default:
			return false
		}
	case nExpSg, nExpD:
		if !digit {
			return false
		}
		f.st = nExpD
	}
	return true
}

// literalStep narrows a literal frame's range of texts [a, b) to those with b at position cnt.
func literalStep(f *frame, n *tnode, c byte) bool {
	lits := n.lits
	pos := int(f.cnt)
	lo, hi := int(f.a), int(f.b)
	for lo < hi && len(lits[lo]) <= pos {
		lo++
	}
	// lits[lo:hi] share a prefix of length pos and all go on: sorted by the byte at pos.
	i, j := lo, hi
	for i < j {
		h := int(uint(i+j) >> 1)
		if lits[h][pos] < c {
			i = h + 1
		} else {
			j = h
		}
	}
	k := i
	for k < hi && lits[k][pos] == c {
		k++
	}
	if i == k {
		return false
	}
	f.a, f.b, f.cnt = int32(i), int32(k), int32(pos+1)
	return true
}
