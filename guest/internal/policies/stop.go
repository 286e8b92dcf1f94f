package policies

import (
	"bytes"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

// stop is the action when a stop string completed at ids[at]. The stop string begins in the tokens the
// client has not received (the held ones, then ids: the text streamed before them ends in no part of a
// stop string). Their text before the first stop string, P, must still reach the client: the step hides
// them all and takes them back, then splices the held and reported tokens whose text lies wholly in P
// and the greedy spelling of the rest of P; the next step, reporting those tokens, stops without hiding
// them. Without text before the stop string, or when P cannot be spliced (a byte no normal or byte token
// spells, the splice or take-back limits), the step stops and hides them, P with them.
func (p *Policy) stop(s *seq, ids []int32, at int) sdk.Action {
	dropped := append(append([]int32(nil), s.held...), ids[:at+1]...)
	var text []byte
	for _, id := range dropped {
		text = append(text, p.v.textBytes(id)...)
	}
	cut := s.req.firstStop(text)
	if cut <= 0 {
		return sdk.Stop().Hide()
	}
	keep, n := 0, 0 // tokens and bytes of the dropped text kept whole
	for _, id := range dropped {
		t := p.v.textBytes(id)
		if n+len(t) > cut {
			break
		}
		keep, n = keep+1, n+len(t)
	}
	rest, err := p.v.spell.Encode(text[n:cut])
	back := len(s.held) + len(ids)
	splice := append(dropped[:keep], rest...)
	if err != nil || len(splice) > p.v.maxSplice || back > abi.MaxArg {
		return sdk.Stop().Hide()
	}
	s.stopping = true
	return sdk.Splice(back, splice...).Hide()
}

// firstStop returns where the first stop string in text begins, -1 if none does.
func (r *request) firstStop(text []byte) int {
	first := -1
	for _, s := range r.stop {
		if i := bytes.Index(text, s); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	return first
}
