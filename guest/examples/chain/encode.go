package main

import (
	"fmt"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

// encoder is a greedy longest-match encoder over a vocabulary's token bytes.
type encoder struct {
	ids     map[string]int32 // token bytes → id
	longest int              // bytes of the longest token
}

// newEncoder indexes the tokens of t that text may be spelled with: normal, control, user-defined and
// byte tokens with at least one byte. Where several have the same bytes, a normal token wins, else the
// lowest id.
func newEncoder(t *sdk.TokenTable) *encoder {
	typ := func(id int) int32 {
		if id < len(t.Types) {
			return int32(t.Types[id])
		}
		return abi.TokenNormal
	}
	e := &encoder{ids: make(map[string]int32, len(t.Tokens))}
	for id, b := range t.Tokens {
		ty := typ(id)
		switch ty {
		case abi.TokenNormal, abi.TokenControl, abi.TokenUserDefined, abi.TokenByte:
		default:
			continue
		}
		if len(b) == 0 {
			continue
		}
		k := string(b)
		if old, dup := e.ids[k]; dup && (typ(int(old)) == abi.TokenNormal || ty != abi.TokenNormal) {
			continue
		}
		e.ids[k] = int32(id)
		e.longest = max(e.longest, len(b))
	}
	return e
}

// encode spells text with tokens, taking at each position the longest token that matches there.
func (e *encoder) encode(text string) ([]int32, error) {
	var out []int32
	for i := 0; i < len(text); {
		n := min(e.longest, len(text)-i)
		for ; n > 0; n-- {
			if id, ok := e.ids[text[i:i+n]]; ok {
				out = append(out, id)
				break
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("byte %d (%#x) of %q starts no token of the vocabulary: %w", i, text[i], text, sdk.ErrBadInput)
		}
		i += n
	}
	return out, nil
}
