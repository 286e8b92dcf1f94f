package constraint

import (
	"math"
	"unicode/utf8"
)

// Slicing, Trie.Mask's fast path. Inside a JSON string, a number or a regex's character class, the matcher
// takes a whole class of characters freely: every text of those characters (up to some count) is taken,
// and the state after it depends only on how many characters it had. The matcher says so with a freeRun.
// Mask then splits the tokens below the trie node it has reached by the class (a sliceSet, built once
// per node and class and cached in the Trie):
//   - tokens made only of the class's characters ("whole") are allowed in bulk, by count of characters;
//   - a token with l leading free characters and then others is walked from the state after l
//     characters (got by feeding l copies of one character of the class), over what follows them only;
//     tokens with the same l share one small trie of those tails;
//   - children of the node whose byte starts no character of the class are walked as usual.
//
// Every token lands in exactly one of these, and each answer is the matcher's own, so the mask is the one
// the plain walk gives (trie_test.go checks this against feeding every token byte by byte).

// sliceDepth is how many leading free characters a sliceSet tells apart; tokens with more share one trie
// of what follows their first sliceDepth characters.
const sliceDepth = 16

// sliceMinTokens is the fewest tokens below a trie node for Mask to slice there; smaller subtrees are
// cheaper to walk.
const sliceMinTokens = 32

// freeRun is what a matcher's state offers Mask: every text of at most max characters of cls (any
// number when max < 0) is taken, and the state after k of them depends only on min(k, loop). When
// 0 ≤ max < sliceDepth the run is tight: after max characters no byte that starts one of cls is taken.
type freeRun struct {
	cls  charClass
	max  int
	loop int
}

// slicer is implemented by Matchers whose states can offer Mask a freeRun (regexes, JSON schemas).
type slicer interface {
	// free returns the current state's run; false if it has none.
	free() (freeRun, bool)
}

// charClass is a set of characters: ASCII ones one by one, and every valid UTF-8 character of two or
// more bytes as a whole (JSON strings and most regex classes take all of them or none).
type charClass struct {
	ascii [2]uint64
	multi bool
}

// anyChar holds every character.
var anyChar = charClass{ascii: [2]uint64{math.MaxUint64, math.MaxUint64}, multi: true}

func (c *charClass) has(b byte) bool { return c.ascii[b>>6]&(1<<(b&63)) != 0 }
func (c *charClass) add(b byte)      { c.ascii[b>>6] |= 1 << (b & 63) }
func (c charClass) empty() bool      { return c.ascii == [2]uint64{} && !c.multi }

// and is the intersection of c and o.
func (c charClass) and(o charClass) charClass {
	return charClass{ascii: [2]uint64{c.ascii[0] & o.ascii[0], c.ascii[1] & o.ascii[1]}, multi: c.multi && o.multi}
}

// starts reports whether byte b can start a character of c.
func (c *charClass) starts(b byte) bool {
	if b < utf8.RuneSelf {
		return c.has(b)
	}
	return c.multi && b >= 0xC2 && b <= 0xF4
}

// rep is one character of c (c not empty): its lowest ASCII one, else é.
func (c *charClass) rep() []byte {
	for b := byte(0); b < utf8.RuneSelf; b++ {
		if c.has(b) {
			return asciiBytes[b : b+1]
		}
	}
	return multiRep
}

// multiRep is the character rep gives for a class without ASCII ones.
var multiRep = []byte("é")

// asciiBytes holds every ASCII byte, so rep needs no allocation.
var asciiBytes = func() (a [utf8.RuneSelf]byte) {
	for i := range a {
		a[i] = byte(i)
	}
	return
}()

// scan counts the characters of c that s starts with, at most limit: chars of them, n bytes long. whole
// reports that they are all of s, counting a valid start of a multibyte character cut short by the end
// of s as one more character when c holds multibyte characters.
func (c *charClass) scan(s []byte, limit int) (chars, n int, whole bool) {
	for n < len(s) && chars < limit {
		b, size := s[n], 1
		if b >= utf8.RuneSelf {
			if !c.multi {
				break
			}
			if !utf8.FullRune(s[n:]) {
				return chars + 1, len(s), true
			}
			if r, sz := utf8.DecodeRune(s[n:]); r == utf8.RuneError && sz == 1 {
				break
			} else {
				size = sz
			}
		} else if !c.has(b) {
			break
		}
		chars++
		n += size
	}
	return chars, n, n == len(s)
}

// sliceKey names a sliceSet: the trie node and the class its tokens are split by.
type sliceKey struct {
	node int32
	cls  charClass
}

// sliceSet splits the tokens below a trie node by their free characters: the characters of a class they
// start with (a token's text here is what follows the node). Tokens below a child whose byte starts no
// free character are not in it: Mask walks those children as usual.
type sliceSet struct {
	whole []int32                  // tokens made only of free characters, by count of them: bucket c ...
	ends  [sliceDepth + 3]int32    // ... is whole[ends[c]:ends[c+1]], the last bucket more than sliceDepth
	bits  [sliceDepth + 2][]uint32 // built on first use: the bits of whole[:ends[c+1]]; the last all of whole
	tails []tailRef                // the other tokens, by the first byte after their free characters, then count
	heads []tailHead               // one per first byte
	tries map[[2]int32]*Trie       // built on first use: the trie of what follows the free characters of tails[lo:hi]
	rest  *Trie                    // built on first use: what follows the first sliceDepth characters of tokens with more
}

// tailRef is a token that is not whole: trie position k (ids[k]) and what follows its free characters,
// text[from:toff[k+1]].
type tailRef struct{ k, from, chars int32 }

// tailHead is the tails whose text starts with b: those with c free characters (c < sliceDepth; more
// share the last bucket) are tails[at[c]:at[c+1]].
type tailHead struct {
	b  byte
	at [sliceDepth + 2]int32
}

// maxSliceMem bounds the bytes cached slices hold; past it the cache starts afresh.
const maxSliceMem = 64 << 20

// sliceSet returns the sliceSet of node by cls, building it on first use; nil when it would not pay.
func (t *Trie) sliceSet(node int32, cls charClass) *sliceSet {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := sliceKey{node, cls}
	s, ok := t.slices[key]
	if !ok {
		s = t.buildSlice(node, cls)
		if t.slices == nil || t.sliceMem > maxSliceMem {
			t.slices, t.sliceMem = map[sliceKey]*sliceSet{}, 0
		}
		t.slices[key] = s
		if s != nil {
			t.sliceMem += 4*len(s.whole) + 12*len(s.tails) + 4*(sliceDepth+3)*len(s.heads)
		}
	}
	return s
}

// bucket is the whole-token bucket of a count of characters.
func bucket(chars int) int { return min(chars, sliceDepth+1) }

// buildSlice scans the tokens below node once and sorts them by counting. It does not pay when no token
// is whole.
func (t *Trie) buildSlice(node int32, cls charClass) *sliceSet {
	nd := &t.nodes[node]
	depth := int32(nd.depth)
	type wholeRef struct{ id, chars int32 }
	var whole []wholeRef
	var tails []tailRef
	for ch := node + 1; ch < node+nd.span; ch += t.nodes[ch].span {
		cn := &t.nodes[ch]
		if !cls.starts(cn.b) {
			continue
		}
		for k := cn.idLo; k < cn.idLo+cn.size; k++ {
			from := t.toff[k] + depth
			chars, n, all := cls.scan(t.text[from:t.toff[k+1]], math.MaxInt32)
			if all {
				whole = append(whole, wholeRef{t.ids[k], int32(chars)})
			} else {
				tails = append(tails, tailRef{k, from + int32(n), int32(chars)})
			}
		}
	}
	if len(whole) == 0 {
		return nil
	}
	s := &sliceSet{whole: make([]int32, len(whole)), tails: make([]tailRef, len(tails))}
	for _, w := range whole {
		s.ends[bucket(int(w.chars))+1]++
	}
	for c := 1; c < len(s.ends); c++ {
		s.ends[c] += s.ends[c-1]
	}
	next := s.ends
	for _, w := range whole {
		b := bucket(int(w.chars))
		s.whole[next[b]] = w.id
		next[b]++
	}
	// Tails by first byte, then count of free characters, by counting: key = byte*(sliceDepth+1) + count.
	const per = sliceDepth + 1
	var at [256 * per]int32
	key := func(r tailRef) int { return int(t.text[r.from])*per + min(int(r.chars), sliceDepth) }
	for _, r := range tails {
		at[key(r)]++
	}
	sum := int32(0)
	for i, n := range at {
		at[i] = sum
		sum += n
	}
	for b := 0; b < 256; b++ {
		lo, hi := at[b*per], sum
		if b < 255 {
			hi = at[(b+1)*per]
		}
		if lo == hi {
			continue
		}
		h := tailHead{b: byte(b)}
		copy(h.at[:per], at[b*per:(b+1)*per])
		h.at[per] = hi
		s.heads = append(s.heads, h)
	}
	for _, r := range tails {
		i := key(r)
		s.tails[at[i]] = r
		at[i]++
	}
	return s
}

// walkSliced is walk's fast path at node: false (nothing done) when the state offers no free run or the
// run's sliceSet would not pay.
func (t *Trie) walkSliced(c cursor, node int32, mask []uint32) bool {
	run, ok := c.free()
	if !ok {
		return false
	}
	s := t.sliceSet(node, run.cls)
	if s == nil {
		return false
	}
	t.walkChildren(c, node, &run.cls, mask)
	rep := run.cls.rep()
	pushed := 0
	to := func(chars int) { // the state after chars free characters
		for ; pushed < chars*len(rep); pushed++ {
			if !c.push(rep[pushed%len(rep)]) {
				panic("constraint: a matcher refused a character of the free run it offered")
			}
		}
	}
	switch {
	case run.max < 0 && run.loop < sliceDepth: // the state stays once loop characters are in
		t.allowWhole(s, sliceDepth+1, mask)
		for l := 0; l < run.loop; l++ {
			to(l)
			t.walkTails(c, s, l, l+1, mask)
		}
		to(run.loop)
		t.walkTails(c, s, run.loop, sliceDepth+1, mask)
	case run.max < 0 || run.max >= sliceDepth:
		t.allowWhole(s, sliceDepth, mask)
		for l := 0; l < sliceDepth; l++ {
			to(l)
			t.walkTails(c, s, l, l+1, mask)
		}
		to(sliceDepth)
		t.restTrie(s, node, run.cls).walk(c, 0, mask)
	default: // tight: no token with more than max free characters is taken
		t.allowWhole(s, run.max, mask)
		for l := 0; l <= run.max; l++ {
			to(l)
			t.walkTails(c, s, l, l+1, mask)
		}
	}
	for ; pushed > 0; pushed-- {
		c.pop()
	}
	return true
}

// walkTails walks the tails with from ≤ free characters < to (buckets), by first byte: a byte the state
// refuses skips its tails at once.
func (t *Trie) walkTails(c cursor, s *sliceSet, from, to int, mask []uint32) {
	for i := range s.heads {
		h := &s.heads[i]
		lo, hi := h.at[from], h.at[to]
		if lo == hi || !c.push(h.b) {
			continue
		}
		c.pop()
		t.tailTrie(s, lo, hi).walk(c, 0, mask)
	}
}

// tailTrie returns the trie of what follows the free characters of tails[lo:hi], building it on first use.
func (t *Trie) tailTrie(s *sliceSet, lo, hi int32) *Trie {
	t.mu.Lock()
	defer t.mu.Unlock()
	tr := s.tries[[2]int32{lo, hi}]
	if tr == nil {
		texts, ids := make([][]byte, hi-lo), make([]int32, hi-lo)
		for i, r := range s.tails[lo:hi] {
			texts[i], ids[i] = t.text[r.from:t.toff[r.k+1]], t.ids[r.k]
		}
		tr = buildTrie(texts, ids)
		if s.tries == nil {
			s.tries = map[[2]int32]*Trie{}
		}
		s.tries[[2]int32{lo, hi}] = tr
		t.sliceMem += len(tr.text) + 24*len(tr.nodes)
	}
	return tr
}

// restTrie returns the trie of what follows the first sliceDepth free characters of the tokens below node
// that have more, building it on first use.
func (t *Trie) restTrie(s *sliceSet, node int32, cls charClass) *Trie {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.rest == nil {
		depth := int32(t.nodes[node].depth)
		var texts [][]byte
		var ids []int32
		add := func(k int32) {
			from := t.toff[k] + depth
			_, n, _ := cls.scan(t.text[from:t.toff[k+1]], sliceDepth)
			texts, ids = append(texts, t.text[from+int32(n):t.toff[k+1]]), append(ids, t.ids[k])
		}
		for _, h := range s.heads {
			for _, r := range s.tails[h.at[sliceDepth]:h.at[sliceDepth+1]] {
				add(r.k)
			}
		}
		// Whole tokens with more than sliceDepth characters: find them by id below node.
		long := map[int32]bool{}
		for _, id := range s.whole[s.ends[sliceDepth+1]:] {
			long[id] = true
		}
		nd := &t.nodes[node]
		for k := nd.idLo; k < nd.idLo+nd.size && len(long) > 0; k++ {
			if long[t.ids[k]] {
				add(k)
			}
		}
		s.rest = buildTrie(texts, ids)
	}
	return s.rest
}

// allowWhole sets the bits of the whole tokens with at most chars characters (all when chars > sliceDepth).
func (t *Trie) allowWhole(s *sliceSet, chars int, mask []uint32) {
	ids := s.whole[:s.ends[bucket(chars)+1]]
	if len(ids) < 1024 {
		allow(ids, mask)
		return
	}
	t.mu.Lock()
	bits := s.bits[bucket(chars)]
	if bits == nil {
		for _, id := range ids {
			w := int(id >> 5)
			if w >= len(bits) {
				bits = append(bits, make([]uint32, w+1-len(bits))...)
			}
			bits[w] |= 1 << (id & 31)
		}
		s.bits[bucket(chars)] = bits
		t.sliceMem += 4 * len(bits)
	}
	t.mu.Unlock()
	for i, w := range bits[:min(len(bits), len(mask))] {
		mask[i] |= w
	}
}
