package constraint

import (
	"bytes"
	"math"
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

	mu       sync.Mutex
	slices   map[sliceKey]*sliceSet // nil entries: slicing that node by that class does not pay
	sliceMem int                    // bytes the cached slices hold, about
}

// trieNode is one prefix of the tokens.
type trieNode struct {
	span  int32  // nodes in the subtree, this one included: the next sibling is span nodes on
	idLo  int32  // the subtree's first token in ids
	own   int32  // tokens that are this prefix exactly: ids[idLo:idLo+own]
	size  int32  // tokens in the subtree
	depth uint16 // the prefix's length
	b     byte   // its last byte (the edge from the parent)
	wide  bool   // it has more than wideKids children
}

// wideKids is the most children for which Mask's walk tries each child's byte without asking the cursor
// first which bytes its state may take.
const wideKids = 4

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
		t.nodes = append(t.nodes, trieNode{idLo: int32(len(t.ids)), size: int32(hi - lo), depth: uint16(depth), b: b})
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
		t.nodes[i].wide = kids > wideKids
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
func (t *Trie) Mask(m Matcher, mask []uint32) {
	c := cursorOf(m)
	if t.nodes[0].size < sliceMinTokens || !t.walkSliced(c, 0, mask, true) {
		clear(mask)
		t.walkChildren(c, 0, nil, mask)
	}
}

// walk allows the tokens below node (its own excluded) that the cursor's state can take.
func (t *Trie) walk(c cursor, node int32, mask []uint32) {
	if t.nodes[node].size >= sliceMinTokens && t.walkSliced(c, node, mask, false) {
		return
	}
	t.walkChildren(c, node, nil, mask)
}

// walkChildren walks the children of node, except those whose edge byte starts a character of skip.
func (t *Trie) walkChildren(c cursor, node int32, skip *charClass, mask []uint32) {
	nd := &t.nodes[node]
	var next byteSet
	filter := false
	if nd.wide {
		next, filter = c.next()
	}
	end := node + nd.span
	for ch := node + 1; ch < end; ch += t.nodes[ch].span {
		tn := &t.nodes[ch]
		if filter && !next.has(tn.b) || skip != nil && skip.starts(tn.b) || !c.push(tn.b) {
			continue
		}
		allow(t.ids[tn.idLo:tn.idLo+tn.own], mask)
		if tn.span > 1 {
			t.walk(c, ch, mask)
		}
		c.pop()
	}
}

// allow sets the bits of ids.
func allow(ids []int32, mask []uint32) {
	for _, id := range ids {
		if w := int(id >> 5); w < len(mask) {
			mask[w] |= 1 << (id & 31)
		}
	}
}
