package main

import (
	"github.com/wasmoe/wasmoe/guest/abi"
	longest "github.com/wasmoe/wasmoe/guest/internal/greedy"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

// encoder is a greedy longest-match encoder over a vocabulary's token bytes (guest/internal/greedy).
type encoder struct{ g *longest.Encoder }

// newEncoder indexes the tokens of t that text may be spelled with: normal, control, user-defined and
// byte tokens with at least one byte. Where several have the same bytes, a normal token wins, else the
// lowest id.
func newEncoder(t *sdk.TokenTable) *encoder {
	return &encoder{longest.New(t, abi.TokenNormal, abi.TokenControl, abi.TokenUserDefined, abi.TokenByte)}
}

// encode spells text with tokens, taking at each position the longest token that matches there.
func (e *encoder) encode(text string) ([]int32, error) { return e.g.Encode([]byte(text)) }
