package bpe

import "unicode"

// newline matches `[\r\n]`.
func newline(t *text, p, end int) int {
	if isCRLF(t.r[p]) {
		return p + 1
	}
	return -1
}

// runeClass is a character class of a regex.
type runeClass func(r rune, cls uint8) bool

// runOf matches `in+`.
func runOf(in runeClass) matcher {
	return func(t *text, p, end int) int {
		e := p
		for e < end && in(t.r[e], t.cls[e]) {
			e++
		}
		if e == p {
			return -1
		}
		return e
	}
}

// spaceThen matches `\s?in+`.
func spaceThen(in runeClass) matcher {
	run := runOf(in)
	return func(t *text, p, end int) int {
		if t.cls[p]&clsWS != 0 && p+1 < end && in(t.r[p+1], t.cls[p+1]) {
			return run(t, p+1, end)
		}
		return run(t, p, end)
	}
}

// trailingSpace is the step of `\s+$`: it cuts off the whitespace that ends a piece.
func trailingSpace(t *text, a, b int, out []int32) []int32 {
	e := b
	for e > a && t.cls[e-1]&clsWS != 0 {
		e--
	}
	if e > a && e < b {
		out = append(out, int32(e))
	}
	return append(out, int32(b))
}

func letter(_ rune, c uint8) bool      { return c&clsL != 0 }
func punctuation(_ rune, c uint8) bool { return c&clsP != 0 }

// deepseekLetter is deepseek-llm's letter class (deepseekLetters).
func deepseekLetter(r rune, _ uint8) bool {
	if r < 0x80 {
		return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z'
	}
	return unicode.Is(deepseekLetters, r)
}

// deepseekPunct is `[!-/:-~！-／：-～‘-‟　-。]`; note that :-~ includes the ASCII letters. Like every
// class spelled with literal non-ASCII characters, it leaves out non-ASCII whitespace (here U+3000): llama.cpp
// matches such regexes against a copy of the text where that whitespace is U+000B.
func deepseekPunct(r rune, _ uint8) bool {
	return r >= '!' && r <= '/' || r >= ':' && r <= '~' || r >= 0xFF01 && r <= 0xFF0F ||
		r >= 0xFF1A && r <= 0xFF5E || r >= 0x2018 && r <= 0x201F || r >= 0x3001 && r <= 0x3002
}

// deepseekCJK is `[一-龥ࠀ-一가-퟿]`: U+4E00–U+9FA5, U+0800–U+4E00 (sic) and U+AC00–U+D7FF, less the
// whitespace in those ranges (see deepseekPunct).
func deepseekCJK(r rune, c uint8) bool {
	return (r >= 0x800 && r <= 0x9FA5 || r >= 0xAC00 && r <= 0xD7FF) && c&clsWS == 0
}

// kanjiKana is DeepSeek-V3's `[一-龥぀-ゟ゠-ヿ]`: U+4E00–U+9FA5, hiragana and katakana.
func kanjiKana(r rune, _ uint8) bool {
	return r >= 0x4E00 && r <= 0x9FA5 || r >= 0x3040 && r <= 0x30FF
}

func isASCIILetter(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }

// isASCIIPunct is `[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]`: every printable ASCII rune that is not a letter,
// a digit or a space.
func isASCIIPunct(r rune) bool {
	return r >= '!' && r <= '/' || r >= ':' && r <= '@' || r >= '[' && r <= '`' || r >= '{' && r <= '~'
}

// deepseekV3Words matches DeepSeek-V3's third regex:
//
//	[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Runes that are none of letter, mark, punctuation, symbol or space (digits, controls, unassigned code
// points) match only in front of a letter or mark.
func deepseekV3Words(t *text, p, end int) int {
	r, c := t.r[p], t.cls[p]
	if isASCIIPunct(r) && p+1 < end && isASCIILetter(t.r[p+1]) {
		e := p + 2
		for e < end && isASCIILetter(t.r[e]) {
			e++
		}
		return e
	}
	const word = clsL | clsM
	if c&word != 0 {
		return t.run(p+1, end, word)
	}
	if !isCRLF(r) && c&(clsP|clsS) == 0 && t.has(p+1, end, word) {
		return t.run(p+2, end, word)
	}
	q := p
	if r == ' ' && t.has(p+1, end, clsP|clsS) {
		q = p + 1
	}
	if t.cls[q]&(clsP|clsS) != 0 {
		e := t.run(q+1, end, clsP|clsS)
		for e < end && isCRLF(t.r[e]) {
			e++
		}
		return e
	}
	if c&clsWS != 0 {
		return t.spaces(p, end)
	}
	return -1
}
