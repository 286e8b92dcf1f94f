package constraint

// The string lexer checks the text between a JSON string's quotes one byte at a time: escapes, UTF-8
// validity and the absence of raw control characters. Its state fits a byte.

// Lexer states.
const (
	lsNorm = iota // between characters
	lsEsc         // after a backslash
	lsU1          // after \u: first hex digit
	lsU2D         // second hex digit after \ud: 0-7 (no surrogates)
	lsU2          // second hex digit
	lsU3          // third hex digit
	lsU4          // fourth hex digit
	lsC1          // one continuation byte 80-BF left
	lsC2          // two left, the next 80-BF
	lsC2E0        // two left, the next A0-BF
	lsC2ED        // two left, the next 80-9F
	lsC3          // three left, the next 80-BF
	lsC3F0        // three left, the next 90-BF
	lsC3F4        // three left, the next 80-8F
)

// Lexer modes: which escapes are allowed.
const (
	lexKey     = iota // \" \\ \b \f \n \r \t
	lexPattern        // and \/
	lexFull           // and \u (no surrogates)
)

// Lexer results.
const (
	lxBad  = iota // b cannot come here
	lxEnd         // the closing quote
	lxMore        // consumed
)

// escDecoded maps an escape letter to the byte it stands for.
var escDecoded = [256]int16{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func isHex(b byte) bool { return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' }

// lex moves the lexer state ls over b. dec is the decoded byte b stands for (-1: none yet); raw bytes
// stand for themselves, an escape letter for its character.
func lex(ls *uint8, b byte, mode int) (res int, dec int) {
	switch *ls {
	case lsNorm:
		switch {
		case b == '"':
			return lxEnd, -1
		case b == '\\':
			*ls = lsEsc
			return lxMore, -1
		case b < 0x20:
			return lxBad, -1
		case b < 0x80:
		case b >= 0xC2 && b <= 0xDF:
			*ls = lsC1
		case b == 0xE0:
			*ls = lsC2E0
		case b == 0xED:
			*ls = lsC2ED
		case b >= 0xE1 && b <= 0xEF:
			*ls = lsC2
		case b == 0xF0:
			*ls = lsC3F0
		case b >= 0xF1 && b <= 0xF3:
			*ls = lsC3
		case b == 0xF4:
			*ls = lsC3F4
		default:
			return lxBad, -1
		}
		return lxMore, int(b)
	case lsEsc:
		if b == 'u' && mode == lexFull {
			*ls = lsU1
			return lxMore, -1
		}
		if escDecoded[b] == 0 || b == '/' && mode == lexKey {
			return lxBad, -1
		}
		*ls = lsNorm
		return lxMore, int(escDecoded[b])
	case lsU1:
		if !isHex(b) {
			return lxBad, -1
		}
		*ls = lsU2
		if b == 'd' || b == 'D' {
			*ls = lsU2D
		}
		return lxMore, -1
	case lsU2D:
		if b < '0' || b > '7' {
			return lxBad, -1
		}
		*ls = lsU3
		return lxMore, -1
	case lsU2, lsU3, lsU4:
		if !isHex(b) {
			return lxBad, -1
		}
		*ls++
		if *ls > lsU4 {
			*ls = lsNorm
		}
		return lxMore, -1
	}
	lo, hi, next := byte(0x80), byte(0xBF), uint8(lsNorm)
	switch *ls {
	case lsC2:
		next = lsC1
	case lsC2E0:
		lo, next = 0xA0, lsC1
	case lsC2ED:
		hi, next = 0x9F, lsC1
	case lsC3:
		next = lsC2
	case lsC3F0:
		lo, next = 0x90, lsC2
	case lsC3F4:
		hi, next = 0x8F, lsC2
	}
	if b < lo || b > hi {
		return lxBad, -1
	}
	*ls = next
	return lxMore, int(b)
}
