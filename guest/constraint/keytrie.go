package constraint

// keyTrie holds the canonical key texts of an object's listed properties.
type keyTrie struct{ nodes []keyNode }

// keyNode is a prefix of key texts.
type keyNode struct {
	edges []keyEdge
	end   int8   // the property whose text ends here, or -1
	sub   uint64 // the properties whose texts start with this prefix
}

type keyEdge struct {
	b  byte
	to int32
}

// newKeyTrie builds the trie of texts; the index is the property index (at most 64).
func newKeyTrie(texts []string) *keyTrie {
	t := &keyTrie{nodes: []keyNode{{end: -1}}}
	for i, s := range texts {
		cur := int32(0)
		t.nodes[0].sub |= 1 << i
		for j := 0; j < len(s); j++ {
			cur = t.child(cur, s[j], true)
			t.nodes[cur].sub |= 1 << i
		}
		t.nodes[cur].end = int8(i)
	}
	return t
}

// child follows the edge for b from n (-1: none), adding it when add is set.
func (t *keyTrie) child(n int32, b byte, add bool) int32 {
	if n < 0 {
		return -1
	}
	for _, e := range t.nodes[n].edges {
		if e.b == b {
			return e.to
		}
	}
	if !add {
		return -1
	}
	t.nodes = append(t.nodes, keyNode{end: -1})
	to := int32(len(t.nodes) - 1)
	t.nodes[n].edges = append(t.nodes[n].edges, keyEdge{b, to})
	return to
}
