package meter

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// errTruncated is wrapped by the errors of reads past the end of the input (or of its part being read):
// the module is malformed.
var errTruncated = errors.New("unexpected end of input")

// reader decodes the primitive encodings of the binary format from b. The first error sticks: every read
// after it returns zero, so callers check err once after a run of reads (and in every loop condition).
type reader struct {
	b   []byte
	off int
	err error
}

// fail records the first error.
func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

// done reports whether the input is used up or an error occurred.
func (r *reader) done() bool { return r.err != nil || r.off >= len(r.b) }

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.err = errTruncated
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

// bytes returns the next n bytes (a sub-slice of the input).
func (r *reader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)-r.off) {
		r.err = errTruncated
		return nil
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

// leb reads an LEB128 number of at most bits bits and returns its raw 64-bit pattern (sign-extended when
// signed). Overlong encodings and unused high bits that are not a sign extension are errors.
func (r *reader) leb(bits uint, signed bool) uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			if rest := bits - shift; rest < 7 { // the last byte's bits past the number's width
				unused := c & 0x7f >> rest
				if signed {
					if c&(1<<(rest-1)) != 0 {
						unused ^= 0x7f >> rest // must be all ones instead
					}
				}
				if unused != 0 {
					r.fail("integer too large")
				}
			}
			if signed && shift+7 < 64 && c&0x40 != 0 {
				v |= ^uint64(0) << (shift + 7)
			}
			return v
		}
		if shift+7 >= bits {
			r.fail("integer representation too long")
			return 0
		}
	}
}

func (r *reader) u32() uint32 { return uint32(r.leb(32, false)) }

// count reads a vector length and checks that the rest of the input could hold that many items of at
// least one byte each, so that loops over a bogus count end at once.
func (r *reader) count() uint32 {
	n := r.u32()
	if r.err == nil && uint64(n) > uint64(len(r.b)-r.off) {
		r.fail("%w: a vector of %d entries in %d bytes", errTruncated, n, len(r.b)-r.off)
		return 0
	}
	return n
}

// name reads a UTF-8 name.
func (r *reader) name() string {
	s := r.bytes(uint64(r.u32()))
	if r.err == nil && !utf8.Valid(s) {
		r.fail("name is not valid UTF-8")
	}
	return string(s)
}

// appendU32 appends the unsigned LEB128 encoding of v.
func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendS64 appends the signed LEB128 encoding of v.
func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// appendName appends a name: its length, then its bytes.
func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}
