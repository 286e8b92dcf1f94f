package constraint

import (
	"bytes"
	"math"
	"math/bits"
	"sort"
	"sync"
)

// Trie holds a vocabulary's token byte strings, sharing prefixes, for computing token masks.
// Its tokens are fixed once built; what Mask builds on first use (slice.go) is cached under a lock, so a
// Trie is safe for concurrent use.
type Trie struct {
	nodes []trieNode // depth first: node i's subtree is nodes[i:i+span], its first child nodes[i+1]
	ids   []int32    // token ids in the nodes' order: node i's subtree holds ids[idLo:idLo+size], its own first
	text  []byte     // the tokens' bytes in the same order: ids[k]'s are text[toff[k]:toff[k+1]]
	toff  []int32
	sigs  []tokenSig // by k, like toff
	wide  []kidTable // the children of nodes with many, by byte
	kids  []int32    // kidTable's node indices

	mu       sync.Mutex
	slices   map[sliceKey]*sliceSet // nil entries: slicing that node by that class does not pay
	sliceMem int                    // bytes the cached slices hold, about
	masks    maskCache              // the masks of recent states (maskcache.go)
}

// trieNode is one prefix of the tokens.
type trieNode struct {
	span  int32  // nodes in the subtree, this one included: the next sibling is span nodes on
	idLo  int32  // the subtree's first token in ids
	own   int32  // tokens that are this prefix exactly: ids[idLo:idLo+own]
	size  int32  // tokens in the subtree
	depth uint16 // the prefix's length
	b     byte   // its last byte (the edge from the parent)
	wide  int32  // with more than wideKids children: its kidTable in Trie.wide; else -1
}

// wideKids is the most children for which Mask's walk tries each child's byte; past it the walk asks the
// cursor which bytes its state may take and visits only the children with those, through a kidTable.
const wideKids = 4

// kidTable indexes a node's children by byte: the child with byte b is kids[at+r], r being the number of
// bytes below b in bytes.
type kidTable struct {
	bytes byteSet
	at    int32
}

// NewTrie builds the trie of tokens, where the index is the token id. Empty tokens (control tokens)
// are left out, so Mask never allows them.
func NewTrie(tokens [][]byte) *Trie {
	texts := make([][]byte, 0, len(tokens))
	ids := make([]int32, 0, len(tokens))
	for id, tok := range tokens {
		if len(tok) > 0 {
			texts = append(texts, tok)
			ids = append(ids, int32(id))
		}
	}
	return buildTrie(texts, ids)
}

// buildTrie builds the trie of the non-empty texts, texts[i] being token ids[i]'s.
func buildTrie(texts [][]byte, ids []int32) *Trie {
	order := make([]int32, len(texts))
	size := 0
	for i := range order {
		order[i] = int32(i)
		size += len(texts[i])
	}
	sort.Slice(order, func(i, j int) bool {
		if c := bytes.Compare(texts[order[i]], texts[order[j]]); c != 0 {
			return c < 0
		}
		return ids[order[i]] < ids[order[j]]
	})
	t := &Trie{ids: make([]int32, 0, len(order)), text: make([]byte, 0, size), toff: make([]int32, 1, len(order)+1)}
	// add appends the node of the prefix of length depth shared by the texts order[lo:hi], then its subtree.
	var add func(lo, hi, depth int, b byte)
	add = func(lo, hi, depth int, b byte) {
		i := len(t.nodes)
		t.nodes = append(t.nodes, trieNode{idLo: int32(len(t.ids)), size: int32(hi - lo), depth: uint16(depth), b: b, wide: -1})
		for ; lo < hi && len(texts[order[lo]]) == depth; lo++ { // the texts that end here sort first
			t.ids = append(t.ids, ids[order[lo]])
			t.text = append(t.text, texts[order[lo]]...)
			t.toff = append(t.toff, int32(len(t.text)))
			t.nodes[i].own++
		}
		kids := 0
		for ; lo < hi; kids++ {
			c := texts[order[lo]][depth]
			j := lo + 1
			for j < hi && texts[order[j]][depth] == c {
				j++
			}
			add(lo, j, depth+1, c)
			lo = j
		}
		t.nodes[i].span = int32(len(t.nodes) - i)
		if kids > wideKids {
			tb := kidTable{at: int32(len(t.kids))}
			for ch := i + 1; ch < len(t.nodes); ch += int(t.nodes[ch].span) {
				tb.bytes.add(t.nodes[ch].b)
				t.kids = append(t.kids, int32(ch))
			}
			t.nodes[i].wide = int32(len(t.wide))
			t.wide = append(t.wide, tb)
		}
	}
	add(0, len(order), 0, 0)
	t.sigs = make([]tokenSig, len(t.ids))
	for k := range t.sigs {
		t.sigs[k] = sign(t.text[t.toff[k]:t.toff[k+1]])
	}
	return t
}

// tokenSig sums up a token's text for slicing at the root without reading it (slice.go): which ASCII
// bytes it holds, and whether it is valid UTF-8 (a character cut short at the end allowed) of chars
// characters, and whether some of them are multibyte.
type tokenSig struct {
	ascii charClass
	chars int32
	utf8  bool
}

func sign(text []byte) tokenSig {
	var sg tokenSig
	for _, b := range text {
		if b < 0x80 {
			sg.ascii.add(b)
		} else {
			sg.ascii.multi = true
		}
	}
	chars, _, valid := anyChar.scan(text, math.MaxInt32)
	sg.chars, sg.utf8 = int32(chars), valid
	return sg
}

// within reports whether a token signed sg is made only of characters of c.
func (sg *tokenSig) within(c *charClass) bool {
	return sg.utf8 && sg.ascii.ascii[0]&^c.ascii[0] == 0 && sg.ascii.ascii[1]&^c.ascii[1] == 0 && (!sg.ascii.multi || c.multi)
}

// Mask sets in mask (bit i%32 of word i/32 = token i) every token whose bytes m can consume entirely and
// clears every other bit; tokens past the mask's end are left out. m is left in its state on entry.
//
// The walk is depth-first over the trie, so tokens sharing a prefix share its matching work; where the
// matcher's state lets a class of characters through freely (inside a string, a number, a regex's
// character class), the tokens made of those characters are allowed in bulk (slice.go).
//
// A matcher whose states have a canonical key (stateKeyer, maskcache.go) gets a state's mask from the
// cache when the Trie masked that state recently.
func (t *Trie) Mask(m Matcher, mask []uint32) {
	var key []byte
	if k, ok := m.(stateKeyer); ok {
		if key = k.stateKey(nil); t.cachedMask(key, mask) {
			return
		}
	}
	if !t.walkAll(cursorOf(m), mask) {
		t.walkAll(&snapCursor{m: m.(Snapshotter)}, mask)
	}
	if key != nil {
		t.cacheMask(key, mask)
	}
}

// walkAll sets mask from the root, clearing it first; false (the matcher left as it was) when a GBNF
// cursor ran past its budget.
func (t *Trie) walkAll(c cursor, mask []uint32) (done bool) {
	defer closeCursor(c)
	defer func() {
		if r := recover(); r != nil {
			if _, full := r.(cursorFull); !full {
				panic(r)
			}
			done = false
		}
	}()
	if t.nodes[0].size < sliceMinTokens || !t.walkSliced(c, 0, mask, true) {
		clear(mask)
		t.walkChildren(c, 0, nil, mask)
	}
	return true
}

// walk allows the tokens below node (its own excluded) that the cursor's state can take.
func (t *Trie) walk(c cursor, node int32, mask []uint32) {
	if t.nodes[node].size >= sliceMinTokens && t.walkSliced(c, node, mask, false) {
		return
	}
	t.walkChildren(c, node, nil, mask)
}

// walkChildren walks the children of node, except those whose byte is in skip (nil: none).
func (t *Trie) walkChildren(c cursor, node int32, skip *byteSet, mask []uint32) {
	if g, ok := c.(*gbnfCursor); ok {
		t.walkFlat(g, node, skip, mask)
		return
	}
	nd := &t.nodes[node]
	if nd.wide < 0 {
		for ch := node + 1; ch < node+nd.span; ch += t.nodes[ch].span {
			if skip == nil || !skip.has(t.nodes[ch].b) {
				t.walkChild(c, ch, mask)
			}
		}
		return
	}
	tb := &t.wide[nd.wide]
	want := tb.bytes
	if next, ok := c.next(); ok {
		want.and(&next)
	}
	if skip != nil {
		want.andNot(skip)
	}
	for w, x := range want {
		for ; x != 0; x &= x - 1 {
			t.walkChild(c, t.kid(tb, w<<6|bits.TrailingZeros64(x)), mask)
		}
	}
}

// walkFlat is walkChildren for a GBNF grammar's cursor, whose steps are mostly look-ups in its table: a
// node with few children walks its subtree in one loop over the trie's depth-first nodes instead of a call
// per node, skipping the subtree of a byte the state refuses; one with many visits only the children
// whose byte the state may take. A node with enough tokens below whose state offers a free run is walked
// by walkSliced.
func (t *Trie) walkFlat(c *gbnfCursor, node int32, skip *byteSet, mask []uint32) {
	nd := &t.nodes[node]
	if nd.wide >= 0 {
		tb := &t.wide[nd.wide]
		want := tb.bytes
		want.and(c.nextOf(c.path[len(c.path)-1]))
		if skip != nil {
			want.andNot(skip)
		}
		for w, x := range want {
			for ; x != 0; x &= x - 1 {
				t.flatChild(c, t.kid(tb, w<<6|bits.TrailingZeros64(x)), mask)
			}
		}
		return
	}
	top := len(c.path)
	base := top - 1 - int(nd.depth) // c.path[base+d] is the state at depth d
	for i, end := node+1, node+nd.span; i < end; {
		tn := &t.nodes[i]
		c.path = c.path[:base+int(tn.depth)]
		if skip != nil && tn.depth == nd.depth+1 && skip.has(tn.b) {
			i += tn.span
			continue
		}
		to := c.step(c.path[len(c.path)-1], tn.b)
		if to < 0 {
			i += tn.span
			continue
		}
		allow(t.ids[tn.idLo:tn.idLo+tn.own], mask)
		if tn.span == 1 {
			i++
			continue
		}
		c.path = append(c.path, to)
		switch {
		case tn.size >= sliceMinTokens && t.walkSliced(c, i, mask, false):
		case tn.wide >= 0:
			t.walkFlat(c, i, nil, mask)
		default:
			i++
			continue
		}
		i += tn.span
	}
	c.path = c.path[:top]
}

// flatChild is walkChild for walkFlat.
func (t *Trie) flatChild(c *gbnfCursor, ch int32, mask []uint32) {
	tn := &t.nodes[ch]
	to := c.step(c.path[len(c.path)-1], tn.b)
	if to < 0 {
		return
	}
	allow(t.ids[tn.idLo:tn.idLo+tn.own], mask)
	if tn.span == 1 {
		return
	}
	c.path = append(c.path, to)
	if tn.size < sliceMinTokens || !t.walkSliced(c, ch, mask, false) {
		t.walkFlat(c, ch, nil, mask)
	}
	c.path = c.path[:len(c.path)-1]
}

// kid is the child of a node with kidTable tb whose byte is b.
func (t *Trie) kid(tb *kidTable, b int) int32 {
	w := b >> 6
	r := bits.OnesCount64(tb.bytes[w] & (1<<(b&63) - 1))
	for _, y := range tb.bytes[:w] {
		r += bits.OnesCount64(y)
	}
	return t.kids[int(tb.at)+r]
}

// walkChild walks node ch, a child of the cursor's state's node.
func (t *Trie) walkChild(c cursor, ch int32, mask []uint32) {
	tn := &t.nodes[ch]
	if !c.push(tn.b) {
		return
	}
	allow(t.ids[tn.idLo:tn.idLo+tn.own], mask)
	if tn.span > 1 {
		t.walk(c, ch, mask)
	}
	c.pop()
}

// allow sets the bits of ids.
func allow(ids []int32, mask []uint32) {
	for _, id := range ids {
		if w := int(id >> 5); w < len(mask) {
			mask[w] |= 1 << (id & 31)
		}
	}
}
