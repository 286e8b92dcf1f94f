package bpe

// GPT-2's byte-level alphabet: bytes 33–126, 161–172 and 174–255 stand for the code point of the same
// number; the other 68 bytes, in increasing order, for U+0100, U+0101, … U+0143. Vocabulary and merge
// strings are written in this alphabet, so every byte sequence has a printable, whitespace-free spelling.
var (
	byteRune [256]rune    // byte → its character
	runeByte [0x144]int16 // character → its byte, -1 for characters outside the alphabet
)

func init() {
	for i := range runeByte {
		runeByte[i] = -1
	}
	n := rune(0)
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !(b >= 33 && b <= 126 || b >= 161 && b <= 172 || b >= 174) {
			r = 256 + n
			n++
		}
		byteRune[b] = r
		runeByte[r] = int16(b)
	}
}

// decodeByteLevel appends the bytes that the byte-level text s spells to dst. A character outside the
// alphabet (possible only in a malformed vocabulary) is copied as its UTF-8 encoding.
func decodeByteLevel(dst []byte, s string) []byte {
	for _, r := range s {
		if r < rune(len(runeByte)) && runeByte[r] >= 0 {
			dst = append(dst, byte(runeByte[r]))
		} else {
			dst = append(dst, string(r)...)
		}
	}
	return dst
}
