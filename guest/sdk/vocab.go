package sdk

import (
	"encoding/binary"
	"fmt"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// TokenTable is the vocab import's answer: every token's raw bytes (byte-level encoding undone; control
// tokens carry their text, e.g. "</think>") and its type (abi.TokenNormal …).
type TokenTable struct {
	Tokens [][]byte // index = token id; each a capacity-limited view of the blob
	Types  []uint8  // one per token
}

// ParseTokenTable decodes a TokenTable blob (layout in guest/abi/v1.go). It checks every count and offset
// against len(b) before allocating and never panics. The tokens alias b.
func ParseTokenTable(b []byte) (*TokenTable, error) {
	if len(b) < 8 || string(b[:4]) != abi.TokenTableMagic {
		return nil, fmt.Errorf("sdk: vocab: not a %s blob", abi.TokenTableMagic)
	}
	n := uint64(binary.LittleEndian.Uint32(b[4:]))
	head := 8 + 4*(n+1) + n // magic, count, offsets, types
	if head > uint64(len(b)) {
		return nil, fmt.Errorf("sdk: vocab: %d tokens do not fit in %d bytes", n, len(b))
	}
	data := b[head:]
	t := &TokenTable{Tokens: make([][]byte, n), Types: b[8+4*(n+1) : head : head]}
	prev := uint32(0)
	for i := range t.Tokens {
		lo := binary.LittleEndian.Uint32(b[8+4*i:])
		hi := binary.LittleEndian.Uint32(b[8+4*(i+1):])
		if lo < prev || hi < lo || uint64(hi) > uint64(len(data)) {
			return nil, fmt.Errorf("sdk: vocab: token %d spans [%d, %d) of %d bytes", i, lo, hi, len(data))
		}
		t.Tokens[i] = data[lo:hi:hi]
		prev = hi
	}
	return t, nil
}
