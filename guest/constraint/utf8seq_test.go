package constraint

import (
	"math/rand"
	"testing"
	"unicode/utf8"
)

// seqsMatch reports whether some sequence matches b exactly.
func seqsMatch(seqs [][]byteRange, b []byte) bool {
	for _, s := range seqs {
		if len(s) != len(b) {
			continue
		}
		ok := true
		for i, r := range s {
			if b[i] < r.lo || b[i] > r.hi {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// TestUTF8Sequences checks the sequences against utf8.DecodeRune on random ranges and byte strings.
func TestUTF8Sequences(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	edges := []rune{0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xD800, 0xDFFF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF}
	pick := func() rune {
		if rng.Intn(2) == 0 {
			return edges[rng.Intn(len(edges))] + rune(rng.Intn(3)) - 1
		}
		return rune(rng.Intn(0x110000))
	}
	for iter := 0; iter < 300; iter++ {
		lo, hi := pick(), pick()
		if lo > hi {
			lo, hi = hi, lo
		}
		if lo < 0 {
			lo = 0
		}
		var seqs [][]byteRange
		utf8Sequences(lo, hi, func(s []byteRange) { seqs = append(seqs, append([]byteRange(nil), s...)) })
		for j := 0; j < 300; j++ {
			var b []byte
			if j%2 == 0 {
				b = utf8.AppendRune(nil, lo+rune(rng.Int63n(int64(hi-lo)+1)))
			} else {
				b = make([]byte, 1+rng.Intn(4))
				rng.Read(b)
			}
			r, n := utf8.DecodeRune(b)
			want := n == len(b) && !(r == utf8.RuneError && n == 1) && r >= lo && r <= hi
			if got := seqsMatch(seqs, b); got != want {
				t.Fatalf("[%#x,%#x] %x: got %v want %v", lo, hi, b, got, want)
			}
		}
	}
}
