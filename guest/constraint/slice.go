package constraint

import (
	"math"
	"unicode/utf8"
	"unsafe"
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
// the plain walk gives (slice_test.go checks this against feeding every token byte by byte, on many
// reachable states of regexes and JSON schemas, with a synthetic and a real vocabulary).
//
// The freeRun's promises are what make this exact: a whole token is a text of free characters, so it is
// taken if its count is within max (a character cut short at the token's end is the start of one that
// would be); a token's tail is walked from a state equal to the one its own free characters lead to,
// since that depends only on their count; and where the run is tight, the tokens with more free
// characters than max are refused, which is why they are neither allowed nor walked. A loop is the run
// whose state stops changing after loop characters, so all tails past it are walked from one state.
//
// A matcher of another file offers runs by implementing slicer (and, for speed, Snapshotter): Mask finds
// it through the generic cursor. checkFreeRun in slice_test.go tests a matcher's promises.

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

// charClass is a set of characters: ASCII ones one by one; valid UTF-8 characters of two or more bytes,
// every one (multi: JSON strings and most regex classes take all of them or none) or some (a GBNF class
// like [一-鿿], multiclass.go); and escapes, a backslash and an ASCII letter, for JSON strings and keys.
type charClass struct {
	ascii [2]uint64
	esc   [2]uint64 // the letters that may follow a backslash
	multi bool
	some  mbRanges // where !multi: the multibyte characters it holds
}

// anyChar holds every character but escapes.
var anyChar = charClass{ascii: [2]uint64{math.MaxUint64, math.MaxUint64}, multi: true}

func (c *charClass) has(b byte) bool { return c.ascii[b>>6]&(1<<(b&63)) != 0 }
func (c *charClass) add(b byte)      { c.ascii[b>>6] |= 1 << (b & 63) }
func (c *charClass) escapes() bool   { return c.esc != [2]uint64{} }
func (c charClass) empty() bool {
	return c.ascii == [2]uint64{} && !c.escapes() && !c.multi && c.some == ""
}

// and is the intersection of c and o.
func (c charClass) and(o charClass) charClass {
	x := charClass{ascii: [2]uint64{c.ascii[0] & o.ascii[0], c.ascii[1] & o.ascii[1]},
		esc: [2]uint64{c.esc[0] & o.esc[0], c.esc[1] & o.esc[1]}}
	x.setMulti(c.multiPart().and(o.multiPart()))
	return x
}

// starts reports whether byte b can start a character of c.
func (c *charClass) starts(b byte) bool {
	if b < utf8.RuneSelf {
		return c.has(b) || b == '\\' && c.escapes()
	}
	return c.multi && b >= 0xC2 && b <= 0xF4 || c.some.leads(b)
}

// startBytes is the set of bytes that start a character of c.
func (c *charClass) startBytes() byteSet {
	set := byteSet{c.ascii[0], c.ascii[1]}
	if c.escapes() {
		set.add('\\')
	}
	if c.multi {
		set.addRange(0xC2, 0xF4)
	}
	for i := range c.some.n() {
		r := c.some.at(i)
		set.addRange(leadByte(r.lo), leadByte(r.hi))
	}
	return set
}

// rep is one character of c (c not empty): its lowest ASCII one, else é, else its lowest multibyte one.
func (c *charClass) rep() []byte {
	for b := byte(0); b < utf8.RuneSelf; b++ {
		if c.has(b) {
			return asciiBytes[b : b+1]
		}
	}
	if c.some != "" {
		return utf8.AppendRune(nil, c.some.at(0).lo)
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
// reports that they are all of s, counting the start of a character of c cut short by the end of s (a
// multibyte one or an escape) as one more.
func (c *charClass) scan(s []byte, limit int) (chars, n int, whole bool) {
	for n < len(s) && chars < limit {
		b, size := s[n], 1
		switch {
		case b == '\\' && c.escapes():
			if n+1 == len(s) {
				return chars + 1, len(s), true
			}
			if e := s[n+1]; e >= utf8.RuneSelf || c.esc[e>>6]&(1<<(e&63)) == 0 {
				return chars, n, false
			}
			size = 2
		case b >= utf8.RuneSelf:
			sz, ok := c.holdsMulti(s[n:])
			if !ok {
				return chars, n, false
			}
			size = sz
		case !c.has(b):
			return chars, n, false
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
	whole []int32               // tokens made only of free characters, by count of them: bucket c ...
	ends  [sliceDepth + 3]int32 // ... is whole[ends[c]:ends[c+1]], the last bucket more than sliceDepth
	bits  [sliceDepth + 2]words // built on first use: the bits of whole[:ends[c+1]]; the last all of whole
	tails []tailRef             // the other tokens, by the first byte after their free characters, then count
	heads []tailHead            // one per first byte
	tries map[[2]int32]*Trie    // built on first use: the trie of what follows the free characters of tails[lo:hi]
	long  []int32               // the whole tokens with more than sliceDepth characters, by k
	most  int32                 // the most free characters a token has (sliceDepth+1: more than sliceDepth)
	rest  *Trie                 // built on first use: what follows the first sliceDepth characters of tokens with more
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
//
// What the walks build (slices here, tail and rest tries, bitmaps) is built outside the Trie's lock, from
// the Trie's tokens, which never change, and kept under it: a Trie shared by many policies (the host's)
// must not hold every other walk and cached mask up for the milliseconds a build takes. Two walks that
// need the same thing at once may both build it; the first one kept is used.
func (t *Trie) sliceSet(node int32, cls charClass) *sliceSet {
	key := sliceKey{node, cls}
	t.mu.Lock()
	s, ok := t.slices[key]
	t.mu.Unlock()
	if ok {
		return s
	}
	built := t.buildSlice(node, cls)
	t.built("slice")
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.slices[key]; ok {
		return s
	}
	if t.slices == nil || t.sliceMem > maxSliceMem {
		t.slices, t.sliceMem = map[sliceKey]*sliceSet{}, 0
	}
	t.slices[key] = built
	if built != nil {
		t.sliceMem += 4*len(built.whole) + 12*len(built.tails) + 4*(sliceDepth+3)*len(built.heads)
	}
	return built
}

// testHookBuilt, when set, is called after each build of sliceSet ("slice"), tailTrie ("tails"), restTrie
// ("rest") and allowWhole ("bits"), before what was built is kept.
var testHookBuilt func(t *Trie, what string)

// built calls testHookBuilt.
func (t *Trie) built(what string) {
	if testHookBuilt != nil {
		testHookBuilt(t, what)
	}
}

// bucket is the whole-token bucket of a count of characters.
func bucket(chars int) int { return min(chars, sliceDepth+1) }

// buildSlice reads the tokens below node once (at the root, their signatures mostly) and sorts them by
// counting. It does not pay when no token is whole.
func (t *Trie) buildSlice(node int32, cls charClass) *sliceSet {
	nd := &t.nodes[node]
	depth := int32(nd.depth)
	s := &sliceSet{}
	buckets := make([]uint8, nd.size) // by k - nd.idLo: the whole token's bucket, or 0
	for ch := node + 1; ch < node+nd.span; ch += t.nodes[ch].span {
		cn := &t.nodes[ch]
		if !cls.starts(cn.b) {
			continue
		}
		for k := cn.idLo; k < cn.idLo+cn.size; k++ {
			from := t.toff[k] + depth
			chars, all := int(t.sigs[k].chars), depth == 0 && t.sigs[k].within(&cls)
			if !all {
				var n int
				chars, n, all = cls.scan(t.text[from:t.toff[k+1]], math.MaxInt32)
				from += int32(n)
			}
			s.most = max(s.most, int32(bucket(chars)))
			if all {
				b := bucket(chars)
				buckets[k-nd.idLo] = uint8(b)
				s.ends[b+1]++
				if b > sliceDepth {
					s.long = append(s.long, k)
				}
			} else {
				s.tails = append(s.tails, tailRef{k, from, int32(chars)})
			}
		}
	}
	for c := 1; c < len(s.ends); c++ {
		s.ends[c] += s.ends[c-1]
	}
	if s.ends[len(s.ends)-1] == 0 {
		return nil
	}
	s.whole = make([]int32, s.ends[len(s.ends)-1])
	next := s.ends
	for i, b := range buckets {
		if b > 0 {
			s.whole[next[b]] = t.ids[nd.idLo+int32(i)]
			next[b]++
		}
	}
	// Tails by first byte, then count of free characters, by counting: key = byte*(sliceDepth+1) + count.
	const per = sliceDepth + 1
	var at [256 * per]int32
	key := func(r tailRef) int { return int(t.text[r.from])*per + min(int(r.chars), sliceDepth) }
	tails := s.tails
	s.tails = make([]tailRef, len(tails))
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
// run's sliceSet would not pay. fresh means mask is still to be cleared (Mask's first call).
func (t *Trie) walkSliced(c cursor, node int32, mask []uint32, fresh bool) bool {
	run, ok := c.free(t, node)
	if !ok {
		return false
	}
	s := t.sliceSet(node, run.cls)
	if s == nil {
		return false
	}
	// The tails of tokens with fewer than exact free characters are walked one count at a time, from the
	// state after that many; those with more (more: as tails, for a loop, or from rest) from the state
	// after exact. The whole tokens with at most bulk characters are allowed at once.
	exact, bulk, more := run.max+1, run.max, 0 // a tight run: no token with more is taken
	switch {
	case run.max < 0 && run.loop < sliceDepth: // the state stays once loop characters are in
		exact, bulk, more = run.loop, sliceDepth+1, moreTails
	case run.max < 0 || run.max >= sliceDepth:
		exact, bulk, more = sliceDepth, sliceDepth, moreRest
	}
	t.allowWhole(s, bulk, mask, fresh)
	skip := run.cls.startBytes()
	t.walkChildren(c, node, &skip, mask)
	rep := run.cls.rep()
	pushed := 0
	for l := 0; l < exact; l++ {
		if l > 0 {
			pushed += pushChar(c, rep)
		}
		t.walkTails(c, s, l, l+1, mask)
	}
	if more != 0 && exact > 0 {
		pushed += pushChar(c, rep)
	}
	switch more {
	case moreTails:
		t.walkTails(c, s, exact, sliceDepth+1, mask)
	case moreRest:
		t.restTrie(s, node, run.cls).walk(c, 0, mask)
	}
	for ; pushed > 0; pushed-- {
		c.pop()
	}
	return true
}

// Where walkSliced finds the tokens with more free characters than it walks one count at a time.
const (
	moreTails = 1 + iota // the tails, as for fewer: the state no longer changes
	moreRest             // the rest trie
)

// pushChar pushes the bytes of a free character and returns how many. A refused one breaks the
// matcher's promise, a bug that would make masks wrong, so it panics.
func pushChar(c cursor, char []byte) int {
	for _, b := range char {
		if !c.push(b) {
			panic("constraint: a matcher refused a character of the free run it offered")
		}
	}
	return len(char)
}

// walkTails walks the tails with from ≤ free characters < to (buckets), by first byte: a byte the state
// refuses skips its tails at once.
func (t *Trie) walkTails(c cursor, s *sliceSet, from, to int, mask []uint32) {
	next, filter := c.next()
	for i := range s.heads {
		h := &s.heads[i]
		lo, hi := h.at[from], h.at[to]
		if lo == hi || filter && !next.has(h.b) || !c.push(h.b) {
			continue
		}
		c.pop()
		t.tailTrie(s, lo, hi).walk(c, 0, mask)
	}
}

// tailTrie returns the trie of what follows the free characters of tails[lo:hi], building it on first use.
func (t *Trie) tailTrie(s *sliceSet, lo, hi int32) *Trie {
	key := [2]int32{lo, hi}
	t.mu.Lock()
	tr := s.tries[key]
	t.mu.Unlock()
	if tr != nil {
		return tr
	}
	texts, ids := make([][]byte, hi-lo), make([]int32, hi-lo)
	for i, r := range s.tails[lo:hi] {
		texts[i], ids[i] = t.text[r.from:t.toff[r.k+1]], t.ids[r.k]
	}
	built := buildTrie(texts, ids)
	t.built("tails")
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr := s.tries[key]; tr != nil {
		return tr
	}
	if s.tries == nil {
		s.tries = map[[2]int32]*Trie{}
	}
	s.tries[key] = built
	t.sliceMem += len(built.text) + 24*len(built.nodes)
	return built
}

// restTrie returns the trie of what follows the first sliceDepth free characters of the tokens below node
// that have more, building it on first use.
func (t *Trie) restTrie(s *sliceSet, node int32, cls charClass) *Trie {
	t.mu.Lock()
	rest := s.rest
	t.mu.Unlock()
	if rest != nil {
		return rest
	}
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
	for _, k := range s.long {
		add(k)
	}
	built := buildTrie(texts, ids)
	t.built("rest")
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.rest == nil {
		s.rest = built
	}
	return s.rest
}

// allowWhole sets the bits of the whole tokens with at most chars characters (all when chars > sliceDepth);
// fresh: and clears the others.
func (t *Trie) allowWhole(s *sliceSet, chars int, mask []uint32, fresh bool) {
	ids := s.whole[:s.ends[bucket(chars)+1]]
	if len(ids) < 256 {
		if fresh {
			clear(mask)
		}
		allow(ids, mask)
		return
	}
	t.mu.Lock()
	bits := s.bits[bucket(chars)]
	t.mu.Unlock()
	if bits.w == nil {
		built := newWords(ids)
		t.built("bits")
		t.mu.Lock()
		if kept := &s.bits[bucket(chars)]; kept.w == nil {
			*kept = built
			t.sliceMem += 4 * len(built.w)
		}
		bits = s.bits[bucket(chars)]
		t.mu.Unlock()
	}
	if fresh {
		clear(mask[:min(bits.lo, len(mask))])
		if bits.lo < len(mask) {
			clear(mask[bits.lo+copy(mask[bits.lo:], bits.w):])
		}
		return
	}
	if bits.lo < len(mask) {
		or(mask[bits.lo:], bits.w)
	}
}

// words is a run of mask words: mask[lo:lo+len(w)].
type words struct {
	lo int
	w  []uint32
}

// newWords is the words holding ids' bits, from the first word with one to the last.
func newWords(ids []int32) words {
	lo, hi := int(ids[0]>>5), int(ids[0]>>5)
	for _, id := range ids {
		lo, hi = min(lo, int(id>>5)), max(hi, int(id>>5))
	}
	lo &^= 1 // even, so that or can pair words
	b := words{lo: lo, w: make([]uint32, hi+1-lo)}
	for _, id := range ids {
		b.w[int(id>>5)-lo] |= 1 << (id & 31)
	}
	return b
}

// or sets in a the bits set in b. Where both are 8-byte aligned (as Go allocates them, and newWords
// starts on an even word) it works on word pairs: the loop dominates in wasm, and this halves it.
func or(a, b []uint32) {
	n := min(len(a), len(b))
	i := 0
	if n >= 16 && uintptr(unsafe.Pointer(&a[0]))%8 == 0 && uintptr(unsafe.Pointer(&b[0]))%8 == 0 {
		x := unsafe.Slice((*uint64)(unsafe.Pointer(&a[0])), n/2)
		y := unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), n/2)
		j := 0
		for ; j+8 <= len(x); j += 8 {
			p, q := (*[8]uint64)(x[j:j+8]), (*[8]uint64)(y[j:j+8])
			p[0] |= q[0]
			p[1] |= q[1]
			p[2] |= q[2]
			p[3] |= q[3]
			p[4] |= q[4]
			p[5] |= q[5]
			p[6] |= q[6]
			p[7] |= q[7]
		}
		for ; j < len(x); j++ {
			x[j] |= y[j]
		}
		i = 2 * len(x)
	}
	for ; i < n; i++ {
		a[i] |= b[i]
	}
}
