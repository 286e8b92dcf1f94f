package bpe

import "unicode"

// Character classes the pre-tokenizer regexes use. \s is Unicode White_Space, as in Hugging Face
// tokenizers (Oniguruma) and llama.cpp, not Go regexp's ASCII \s.
const (
	clsL  uint8 = 1 << iota // \p{L}
	clsN                    // \p{N}
	clsP                    // \p{P}
	clsS                    // \p{S}
	clsM                    // \p{M}
	clsWS                   // \s
)

var classTables = []struct {
	table *unicode.RangeTable
	cls   uint8
}{
	{unicode.L, clsL}, {unicode.N, clsN}, {unicode.P, clsP}, {unicode.S, clsS}, {unicode.M, clsM},
	{unicode.White_Space, clsWS},
}

// bmp holds the classes of U+0000–U+FFFF.
var bmp [0x10000]uint8

func init() {
	for _, t := range classTables {
		for _, r := range t.table.R16 {
			for c := uint32(r.Lo); c <= uint32(r.Hi); c += uint32(r.Stride) {
				bmp[c] |= t.cls
			}
		}
	}
}

// class returns the classes of r; invalid UTF-8 arrives as utf8.RuneError, a symbol.
func class(r rune) uint8 {
	if uint32(r) < uint32(len(bmp)) {
		return bmp[r]
	}
	var c uint8
	for _, t := range classTables {
		if unicode.Is(t.table, r) {
			c |= t.cls
		}
	}
	return c
}
