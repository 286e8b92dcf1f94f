package constraint

import (
	"bytes"
	"sort"
)

// Trie holds a vocabulary's token byte strings, sharing prefixes, for computing token masks.
// It is immutable once built and safe for concurrent use.
type Trie struct {
	nodes []trieNode
	ids   []int32 // token ids ending at each node, in ranges trieNode.idLo..idHi
}

// trieNode is one prefix; its children are nodes[first:first+n], ordered by edge byte.
type trieNode struct {
	first, n   int32
	idLo, idHi int32
	b          byte // the byte on the edge from the parent
}

// NewTrie builds the trie of tokens, where the index is the token id. Empty tokens (control tokens)
// are left out, so Mask never allows them.
func NewTrie(tokens [][]byte) *Trie {
	order := make([]int32, 0, len(tokens))
	for id, tok := range tokens {
		if len(tok) > 0 {
			order = append(order, int32(id))
		}
	}
	sort.Slice(order, func(i, j int) bool {
		if c := bytes.Compare(tokens[order[i]], tokens[order[j]]); c != 0 {
			return c < 0
		}
		return order[i] < order[j]
	})
	t := &Trie{nodes: []trieNode{{}}, ids: make([]int32, 0, len(order))}
	type span struct{ node, lo, hi, depth int32 }
	queue := []span{{0, 0, int32(len(order)), 0}}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		lo := s.lo
		nd := &t.nodes[s.node]
		nd.idLo = int32(len(t.ids))
		for lo < s.hi && int32(len(tokens[order[lo]])) == s.depth {
			t.ids = append(t.ids, order[lo])
			lo++
		}
		nd.idHi = int32(len(t.ids))
		nd.first = int32(len(t.nodes))
		for lo < s.hi {
			b := tokens[order[lo]][s.depth]
			hi := lo + 1
			for hi < s.hi && tokens[order[hi]][s.depth] == b {
				hi++
			}
			t.nodes = append(t.nodes, trieNode{b: b})
			queue = append(queue, span{int32(len(t.nodes) - 1), lo, hi, s.depth + 1})
			lo = hi
		}
		t.nodes[s.node].n = int32(len(t.nodes)) - t.nodes[s.node].first
	}
	return t
}

// Mask sets in mask (bit i%32 of word i/32 = token i) every token whose bytes m can consume entirely and
// clears every other bit; tokens past the mask's end are left out. m is left in its state on entry.
// The walk is depth-first over the trie, so tokens sharing a prefix share its matching work.
func (t *Trie) Mask(m Matcher, mask []uint32) {
	clear(mask)
	switch mm := m.(type) {
	case *regexMatcher:
		t.maskDFA(mm.d, mm.s, 0, mask)
	case *jsonMatcher:
		if len(mm.cur) == 1 {
			t.maskJSON(mm, mm.cur[0], 0, mask)
		} else {
			t.maskSnap(mm, 0, mask)
		}
	case Snapshotter:
		t.maskSnap(mm, 0, mask)
	default:
		t.maskClone(m, 0, mask)
	}
}

// allow sets the bits of the tokens ending at node n.
func (t *Trie) allow(n *trieNode, mask []uint32) {
	for _, id := range t.ids[n.idLo:n.idHi] {
		if w := int(id >> 5); w < len(mask) {
			mask[w] |= 1 << (id & 31)
		}
	}
}

func (t *Trie) maskDFA(d *dfa, s int32, node int32, mask []uint32) {
	nd := t.nodes[node]
	for c := nd.first; c < nd.first+nd.n; c++ {
		ch := &t.nodes[c]
		ns := d.next(s, ch.b)
		if ns == deadState {
			continue
		}
		t.allow(ch, mask)
		if ch.n > 0 {
			t.maskDFA(d, ns, c, mask)
		}
	}
}

func (t *Trie) maskSnap(m Snapshotter, node int32, mask []uint32) {
	nd := t.nodes[node]
	for c := nd.first; c < nd.first+nd.n; c++ {
		ch := &t.nodes[c]
		h := m.Snapshot()
		if m.Advance(ch.b) {
			t.allow(ch, mask)
			if ch.n > 0 {
				t.maskSnap(m, c, mask)
			}
		}
		m.Restore(h)
	}
}

// maskClone serves Matchers without snapshots: one Clone per trie node that has children.
func (t *Trie) maskClone(m Matcher, node int32, mask []uint32) {
	nd := t.nodes[node]
	for c := nd.first; c < nd.first+nd.n; c++ {
		ch := &t.nodes[c]
		mc := m.Clone()
		if mc.Advance(ch.b) {
			t.allow(ch, mask)
			if ch.n > 0 {
				t.maskClone(mc, c, mask)
			}
		}
	}
}
