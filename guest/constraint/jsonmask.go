package constraint

// The JSON matcher's Mask walk: while one configuration is alive it is carried by value down the trie,
// so a trie node costs one step and no snapshot; where a byte splits it into several, the walk falls
// back to snapshots for that subtree.

// Results of advance1.
const (
	adv1None = iota
	adv1One
	adv1Many // m.tmp holds the configurations
)

// advance1 advances the single configuration c over b.
func (m *jsonMatcher) advance1(c *config, b byte) int {
	f := &c.top
	switch n := m.nodes[f.n]; {
	case n.kind == kString:
		ok, end := stringStep(f, n, b)
		if !ok {
			return adv1None
		}
		if end {
			m.pop(c)
		}
		return adv1One
	case n.kind == kObject && f.st == oKey:
		if !keyStep(f, n, b) {
			return adv1None
		}
		return adv1One
	}
	m.tmp = m.tmp[:0]
	m.step(*c, b)
	switch len(m.tmp) {
	case 0:
		return adv1None
	case 1:
		*c = m.tmp[0]
		return adv1One
	}
	return adv1Many
}

// maskJSON is Mask for a JSON matcher in configuration c (m.cur is left as it is).
func (t *Trie) maskJSON(m *jsonMatcher, c config, node int32, mask []uint32) {
	nd := t.nodes[node]
	links := len(m.links)
	for ch := nd.first; ch < nd.first+nd.n; ch++ {
		tn := &t.nodes[ch]
		cc := c
		switch m.advance1(&cc, tn.b) {
		case adv1One:
			t.allow(tn, mask)
			if tn.n > 0 {
				t.maskJSON(m, cc, ch, mask)
			}
		case adv1Many:
			t.allow(tn, mask)
			if tn.n > 0 {
				saved := append([]config(nil), m.cur...)
				m.cur, m.tmp = m.tmp, m.cur[:0]
				m.dedupe()
				t.maskSnap(m, ch, mask)
				m.cur = append(m.cur[:0], saved...)
			}
		}
		m.links = m.links[:links]
	}
}
