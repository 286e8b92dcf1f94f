package policies

import (
	"bytes"
	"slices"

	"github.com/wasmoe/wasmoe/guest/constraint"
)

// Thinking states of a sequence.
const (
	thinkBefore = iota // not thinking yet
	thinkInside        // inside the block
	thinkAfter         // the block is closed (by the model or by the splice)
)

// seq is one sequence's state.
type seq struct {
	req        *request
	prompted   bool               // the first step (the prompt) is done
	generated  int                // generated tokens so far (spliced ones included)
	m          constraint.Matcher // the constraint's state; nil = none
	fed        []byte             // where the host masks (req.hostMask), the constrained text so far, which it reads
	mFed       int                // bytes of fed that m has taken (catchUp)
	guestMasks bool               // the host computes no masks for the constraint: they are computed here
	think      int                // thinkBefore …
	thought    int                // tokens generated inside the thinking block
	skipWS     bool               // right after </think>: whitespace-only tokens are skipped, not fed
	wsLeft     int                // bytes of whitespace-only tokens that may still be skipped
	pending    int                // tokens of our own splice still to be reported
	text       []byte             // the streamed text's last req.keep bytes
	held       []int32            // generated tokens the host holds back from the stream (FlagHold)
	stopping   bool               // a stop string completed: the next step reports the text before it, then stops
	raw        []byte             // the raw text's last bytes (thinking tags)
}

func newSeq(r *request) *seq {
	s := &seq{req: r}
	if r.proto != nil {
		s.m = r.proto.Clone()
	}
	return s
}

// fork copies s for a child sequence.
func (s *seq) fork() *seq {
	c := *s
	if s.m != nil {
		c.m = s.m.Clone()
	}
	c.text = bytes.Clone(s.text)
	c.raw = bytes.Clone(s.raw)
	c.held = slices.Clone(s.held)
	c.fed = bytes.Clone(s.fed)
	return &c
}

// constrained reports whether the constraint applies to the next token.
func (s *seq) constrained() bool { return s.m != nil && s.think != thinkInside }

// appendTail appends b to a tail of text and keeps its last keep bytes.
func appendTail(tail, b []byte, keep int) []byte {
	tail = append(tail, b...)
	if n := len(tail) - keep; n > 0 {
		tail = append(tail[:0], tail[n:]...)
	}
	return tail
}
