package engine

import "slices"

// Prompt lookup's n-gram lengths: the longest suffix of the context, from ngramMax tokens down to
// ngramMin, that occurred earlier is the match (vLLM's prompt_lookup_max and prompt_lookup_min).
const (
	ngramMax = 4
	ngramMin = 2
)

// ngramDrafter drafts by prompt lookup (Saxena's prompt lookup decoding, vLLM's ngram proposer): the
// tokens that followed the latest earlier occurrence of the context's last n tokens, prompt and output
// alike. It keeps nothing between steps.
type ngramDrafter struct{}

// propose looks each sequence's context up for its draft.
func (ngramDrafter) propose(seqs []*sequence) {
	for _, s := range seqs {
		s.draft = lookup(s.draft[:0], s.tokens, s.spec.want)
	}
}

// forget has nothing to drop: prompt lookup keeps no state.
func (ngramDrafter) forget(*sequence) {}

// lookup appends to dst up to k tokens that followed the latest earlier occurrence of the longest suffix
// of ctx (ngramMax down to ngramMin tokens) that occurred before, and returns it; dst is unchanged if no
// suffix recurs. A match that runs into the suffix (a loop of period p) goes on repeating the loop.
func lookup(dst, ctx []int32, k int) []int32 {
	L, start := len(ctx), len(dst)
	for n := min(ngramMax, L-1); n >= ngramMin; n-- {
		suffix := ctx[L-n:]
		for i := L - n - 1; i >= 0; i-- { // the occurrence ctx[i:i+n] starts before the suffix
			if ctx[i] != suffix[0] || !slices.Equal(ctx[i:i+n], suffix) {
				continue
			}
			period := L - n - i
			for j := range k {
				if at := i + n + j; at < L {
					dst = append(dst, ctx[at])
				} else {
					dst = append(dst, dst[start+j-period])
				}
			}
			return dst
		}
	}
	return dst
}
