package constraint

import "unicode/utf8"

// byteRange is an inclusive range of byte values.
type byteRange struct{ lo, hi byte }

// utf8Sequences calls emit once for each sequence of byte ranges that together match exactly the UTF-8
// encodings of the runes in [lo, hi]; surrogates (never valid UTF-8) are left out.
func utf8Sequences(lo, hi rune, emit func([]byteRange)) {
	if hi > utf8.MaxRune {
		hi = utf8.MaxRune
	}
	if lo > hi || lo < 0 {
		return
	}
	const surLo, surHi = 0xD800, 0xDFFF
	if lo <= surHi && hi >= surLo {
		if lo < surLo {
			utf8Sequences(lo, surLo-1, emit)
		}
		if hi > surHi {
			utf8Sequences(surHi+1, hi, emit)
		}
		return
	}
	type span struct{ lo, hi rune }
	stack := []span{{lo, hi}}
	var seq [utf8.UTFMax]byteRange
next:
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		// Split where the encoding length changes.
		for _, max := range [...]rune{0x7F, 0x7FF, 0xFFFF} {
			if s.lo <= max && max < s.hi {
				stack = append(stack, span{max + 1, s.hi}, span{s.lo, max})
				continue next
			}
		}
		if s.hi <= 0x7F {
			seq[0] = byteRange{byte(s.lo), byte(s.hi)}
			emit(seq[:1])
			continue
		}
		// Split until every byte position is an independent range.
		for i := uint(1); i < utf8.UTFMax; i++ {
			m := rune(1)<<(6*i) - 1
			if s.lo&^m != s.hi&^m {
				if s.lo&m != 0 {
					stack = append(stack, span{(s.lo | m) + 1, s.hi}, span{s.lo, s.lo | m})
					continue next
				}
				if s.hi&m != m {
					stack = append(stack, span{s.hi &^ m, s.hi}, span{s.lo, s.hi&^m - 1})
					continue next
				}
			}
		}
		var a, b [utf8.UTFMax]byte
		n := utf8.EncodeRune(a[:], s.lo)
		utf8.EncodeRune(b[:], s.hi)
		for i := 0; i < n; i++ {
			seq[i] = byteRange{a[i], b[i]}
		}
		emit(seq[:n])
	}
}
