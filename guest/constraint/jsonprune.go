package constraint

// Pruning makes the matcher unable to dead-end: once everything is compiled (recursion included), each
// node learns the nesting of its shallowest finite value, alternatives with none are dropped, and
// properties and items that cannot be finished are no longer allowed. At run time a value is only
// started where it can be finished within maxNesting (see start), which also bounds recursion.

// prune computes heights and drops what cannot finish; false when v itself cannot.
func prune(v *value) bool {
	var nodes []*tnode
	var values []*value
	seen := map[*value]bool{}
	var visit func(v *value)
	visit = func(v *value) {
		if v == nil || seen[v] {
			return
		}
		seen[v] = true
		values = append(values, v)
		for _, n := range v.alts {
			nodes = append(nodes, n)
			visit(n.items)
			visit(n.addl)
			for _, p := range n.props {
				visit(p)
			}
		}
	}
	visit(v)
	const none = maxNesting + 1
	for _, n := range nodes {
		n.h = none
		switch n.kind {
		case kString, kNumber, kInteger:
			n.h = 0
		case kLiteral:
			if len(n.lits) > 0 {
				n.h = 0
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, n := range nodes {
			h := none
			switch n.kind {
			case kArray:
				h = 1
				if n.minItems > 0 {
					h = 1 + height(n.items)
				}
			case kObject:
				h = 1
				for i, p := range n.props {
					if n.req&(1<<i) == 0 {
						continue
					}
					if n.allow&(1<<i) == 0 {
						h = none
					} else {
						h = max(h, 1+height(p))
					}
				}
			default:
				continue
			}
			if h = min(h, none); h < n.h {
				n.h, changed = h, true
			}
		}
	}
	for _, n := range nodes {
		switch n.kind {
		case kArray:
			if height(n.items) >= none {
				n.maxItems = 0
			}
		case kObject:
			for i, p := range n.props {
				if height(p) >= none {
					n.allow &^= 1 << i
				}
			}
			n.addlMax = -1
			if n.addl != nil {
				n.addlMax = maxNesting - height(n.addl)
			}
			n.unfit = make([]uint64, maxNesting+2)
			for d := range n.unfit {
				for i, p := range n.props {
					if n.allow&^n.req&(1<<i) != 0 && d+height(p) > maxNesting {
						n.unfit[d] |= 1 << i
					}
				}
			}
		}
	}
	// Heights are read above before any alternative goes: drop them last.
	for _, v := range values {
		kept := v.alts[:0]
		for _, n := range v.alts {
			if n.h < none {
				kept = append(kept, n)
			}
		}
		v.alts = kept
	}
	return height(v) <= maxNesting
}

// height is the least height of v's alternatives.
func height(v *value) int {
	h := maxNesting + 1
	for _, n := range v.alts {
		h = min(h, n.h)
	}
	return h
}
