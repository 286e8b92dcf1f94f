// Package greedy spells text with a vocabulary's tokens by greedy longest match, without a tokenizer: at
// each position the longest token whose bytes come next. Guests use it for text they splice (the chain
// example's open text, the built-in policy's text before a stop string).
package greedy

import (
	"fmt"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

// Encoder is a greedy longest-match encoder over some of a vocabulary's tokens.
type Encoder struct {
	ids     map[string]int32 // token bytes → id
	longest int              // bytes of the longest token
}

// New indexes the tokens of t whose type is one of types (a token past t.Types counts as
// abi.TokenNormal) and that have at least one byte. Where several have the same bytes, a normal token
// wins, else the lowest id.
func New(t *sdk.TokenTable, types ...int32) *Encoder {
	typ := func(id int) int32 {
		if id < len(t.Types) {
			return int32(t.Types[id])
		}
		return abi.TokenNormal
	}
	allowed := func(ty int32) bool {
		for _, a := range types {
			if a == ty {
				return true
			}
		}
		return false
	}
	e := &Encoder{ids: make(map[string]int32, len(t.Tokens))}
	for id, b := range t.Tokens {
		ty := typ(id)
		if len(b) == 0 || !allowed(ty) {
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

// Encode spells text with the indexed tokens, taking at each position the longest one that matches
// there. It fails with sdk.ErrBadInput when some byte starts no indexed token.
func (e *Encoder) Encode(text []byte) ([]int32, error) {
	var out []int32
	for i := 0; i < len(text); {
		n := min(e.longest, len(text)-i)
		for ; n > 0; n-- {
			if id, ok := e.ids[string(text[i:i+n])]; ok {
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
