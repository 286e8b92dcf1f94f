package constraint

import "unicode/utf8"

// Multibyte characters in a charClass: every one (charClass.multi), or some (charClass.some, an mbRanges),
// as GBNF classes like [一-鿿] hold; so a grammar of such classes offers Trie.Mask a free run too.

// mbRanges is a set of multibyte characters: sorted, disjoint, non-adjacent ranges of code points from
// 0x80 on, surrogates left out, 8 bytes each (lo and hi, little-endian). A string, so that a charClass
// stays comparable (a slice cache key) and equal sets are equal strings.
type mbRanges string

// surrogates are the code points no UTF-8 encodes.
const surLo, surHi = 0xD800, 0xDFFF

// allMulti is the mbRanges of every multibyte character; a set equal to it is charClass.multi instead.
var allMulti = newMBRanges([]crange{{utf8.RuneSelf, utf8.MaxRune}})

// newMBRanges is the mbRanges of the multibyte characters of rs (sorted, disjoint).
func newMBRanges(rs []crange) mbRanges {
	var b []byte
	var last rune = -2 // the hi of the last range put
	put := func(lo, hi rune) {
		if lo > hi {
			return
		}
		if lo == last+1 { // adjacent: extend the last
			lo = mbRanges(b).at(len(b)/8 - 1).lo
			b = b[:len(b)-8]
		}
		for _, v := range [2]rune{lo, hi} {
			b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
		}
		last = hi
	}
	for _, r := range rs {
		lo, hi := max(r.lo, utf8.RuneSelf), min(r.hi, utf8.MaxRune)
		if lo <= surHi && hi >= surLo {
			put(lo, surLo-1)
			put(surHi+1, hi)
			continue
		}
		put(lo, hi)
	}
	return mbRanges(b)
}

// n is the number of ranges.
func (s mbRanges) n() int { return len(s) / 8 }

// at is range i.
func (s mbRanges) at(i int) crange {
	j := 8 * i
	return crange{
		rune(uint32(s[j]) | uint32(s[j+1])<<8 | uint32(s[j+2])<<16 | uint32(s[j+3])<<24),
		rune(uint32(s[j+4]) | uint32(s[j+5])<<8 | uint32(s[j+6])<<16 | uint32(s[j+7])<<24),
	}
}

// ranges are the set's ranges.
func (s mbRanges) ranges() []crange {
	rs := make([]crange, s.n())
	for i := range rs {
		rs[i] = s.at(i)
	}
	return rs
}

// overlaps reports whether the set holds a code point in [lo, hi].
func (s mbRanges) overlaps(lo, hi rune) bool {
	i, j := 0, s.n()
	for i < j {
		h := int(uint(i+j) >> 1)
		if s.at(h).hi < lo {
			i = h + 1
		} else {
			j = h
		}
	}
	return i < s.n() && s.at(i).lo <= hi
}

// leads reports whether b is the first byte of a character of the set.
func (s mbRanges) leads(b byte) bool {
	for i := range s.n() {
		if r := s.at(i); leadByte(r.lo) <= b && b <= leadByte(r.hi) {
			return true
		}
	}
	return false
}

// and is the intersection of s and o.
func (s mbRanges) and(o mbRanges) mbRanges {
	switch {
	case s == allMulti:
		return o
	case o == allMulti:
		return s
	}
	var out []crange
	for i, j := 0, 0; i < s.n() && j < o.n(); {
		a, b := s.at(i), o.at(j)
		if lo, hi := max(a.lo, b.lo), min(a.hi, b.hi); lo <= hi {
			out = append(out, crange{lo, hi})
		}
		if a.hi < b.hi {
			i++
		} else {
			j++
		}
	}
	return newMBRanges(out)
}

// multiPart is the multibyte characters of c as ranges ("" none): allMulti where c.multi.
func (c *charClass) multiPart() mbRanges {
	if c.multi {
		return allMulti
	}
	return c.some
}

// setMulti makes the multibyte characters of c those of s, as multi where s holds them all.
func (c *charClass) setMulti(s mbRanges) {
	c.multi = s == allMulti
	c.some = s
	if c.multi {
		c.some = ""
	}
}

// holdsMulti reports whether c holds the multibyte character that the UTF-8 bytes p start with (a whole
// one, or one cut short by the end of p, which then is the start of a character of c). size is its length
// in p; ok false when c holds none that p starts with, or p starts with no valid UTF-8.
func (c *charClass) holdsMulti(p []byte) (size int, ok bool) {
	if !c.multi && c.some == "" {
		return 0, false
	}
	if !utf8.FullRune(p) { // a valid start, cut short: the code points it may still be
		var u utf8State
		for _, b := range p {
			u.advance(b)
		}
		return len(p), c.multi || c.some.overlaps(u.lo, u.hi)
	}
	r, size := utf8.DecodeRune(p)
	if r == utf8.RuneError && size == 1 {
		return 0, false
	}
	return size, c.multi || c.some.overlaps(r, r)
}
