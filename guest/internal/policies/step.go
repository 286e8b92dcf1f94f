package policies

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/wasmoe/wasmoe/guest/sdk"
)

// What consuming a step's tokens ended with.
const (
	evNone = iota
	evEOG  // an end-of-generation token
	evStop // a stop string completed
)

// rawKeep is the raw text a sequence keeps to see a thinking tag complete.
const rawKeep = len(thinkCloseText) - 1

// Step consumes the tokens the step reports and chooses the next action.
func (p *Policy) Step(id int32, ids []int32) sdk.Action {
	s, ok := p.seqs[id]
	if !ok {
		return sdk.Fail(fmt.Errorf("policy: sequence %d is not open: %w", id, sdk.ErrBadInput))
	}
	if s.stopping { // ids spell the text before the stop string: stream them and end
		return sdk.Stop()
	}
	if !s.prompted {
		s.prompted = true
		p.prompt(s, ids)
		a, _ := p.next(s) // the prompt is never streamed: nothing is held
		return a
	}
	var a sdk.Action
	switch ev, at, err := p.consume(s, ids); {
	case err != nil:
		return sdk.Fail(err)
	case ev == evEOG:
		a = sdk.Stop()
	case ev == evStop:
		a = p.stop(s, ids, at)
	default:
		var hold bool
		if a, hold = p.next(s); hold { // the host holds the step's tokens back
			s.held = append(s.held, ids...)
			return a
		}
	}
	s.held = s.held[:0] // streamed after them, or dropped with them
	return a
}

// tags returns where the last thinking tags that end past the first old bytes of buf end (-1: none).
func tags(buf []byte, old int) (openEnd, closeEnd int) {
	openEnd, closeEnd = -1, -1
	if i := bytes.LastIndex(buf, []byte(thinkOpenText)); i >= 0 && i+len(thinkOpenText) > old {
		openEnd = i + len(thinkOpenText)
	}
	if i := bytes.LastIndex(buf, []byte(thinkCloseText)); i >= 0 && i+len(thinkCloseText) > old {
		closeEnd = i + len(thinkCloseText)
	}
	return openEnd, closeEnd
}

// prompt looks for a thinking block the prompt leaves open (think_budget only).
func (p *Policy) prompt(s *seq, ids []int32) {
	if s.req.budget < 0 {
		return
	}
	var raw []byte
	inside := false
	for _, id := range ids {
		old := len(raw)
		raw = append(raw, p.v.rawBytes(id)...)
		openEnd, closeEnd := tags(raw, old)
		switch {
		case id == p.v.info.ThinkOpen || openEnd > closeEnd:
			inside = true
		case id == p.v.info.ThinkClose || closeEnd > openEnd:
			inside = false
		}
		raw = appendTail(raw, nil, rawKeep)
	}
	if inside {
		s.think = thinkInside
	}
}

// consume feeds a step's tokens (one sampled token, or a splice) to the sequence's state. It returns what
// they ended with and the index of the token that ended it (evEOG, evStop).
func (p *Policy) consume(s *seq, ids []int32) (int, int, error) {
	r := s.req
	for at, id := range ids {
		s.generated++
		ours := s.pending > 0
		if ours {
			s.pending--
		} else if p.v.isEOG(id) {
			return evEOG, at, nil
		}
		txt := p.v.textBytes(id)
		fed := s.m != nil && s.think != thinkInside && !ours
		if r.budget >= 0 {
			old := len(s.raw)
			s.raw = append(s.raw, p.v.rawBytes(id)...)
			openEnd, closeEnd := tags(s.raw, old)
			s.raw = appendTail(s.raw, nil, rawKeep)
			switch {
			case ours:
			case s.think == thinkBefore && (id == p.v.info.ThinkOpen || openEnd >= 0):
				s.think, s.thought, fed = thinkInside, 0, false
			case s.think == thinkInside && (id == p.v.info.ThinkClose || closeEnd >= 0):
				p.closeThinking(s)
			case s.think == thinkInside:
				s.thought++
			}
		}
		if fed {
			in := txt
			if in == nil && slices.Contains(r.specials, id) {
				in = p.v.raw[id] // the constraint reads it as its text; the streamed text has none
			}
			if err := s.feed(in); err != nil {
				return evNone, at, fmt.Errorf("policy: token %d %q: %w", id, txt, err)
			}
		}
		old := len(s.text)
		s.text = append(s.text, txt...)
		if r.stopAt(s.text, old) {
			return evStop, at, nil
		}
		s.text = appendTail(s.text, nil, r.keep)
	}
	return evNone, len(ids), nil
}

// closeThinking ends the thinking block: the constraint starts afresh, after whitespace-only tokens.
func (p *Policy) closeThinking(s *seq) {
	s.think, s.skipWS, s.wsLeft = thinkAfter, true, maxSkipWS
	if s.req.proto != nil {
		s.m, s.fed, s.mFed = s.req.proto.Clone(), s.fed[:0], 0
	}
}

// maxSkipWS is how many bytes of whitespace-only tokens may follow </think> before the constraint.
const maxSkipWS = 8

// feed advances the matcher over a token's text; right after </think> a whitespace-only token is skipped
// instead, and any other token ends the skipping.
func (s *seq) feed(txt []byte) error {
	if s.skipWS && len(txt) > 0 {
		if len(bytes.Trim(txt, wsBytes)) == 0 {
			s.wsLeft -= len(txt)
			return nil
		}
		s.skipWS = false
	}
	if s.req.hostMask != nil {
		s.fed = append(s.fed, txt...) // checked where masked: by the host, or by catchUp
		return nil
	}
	for _, c := range txt {
		if !s.m.Advance(c) {
			return fmt.Errorf("the constraint cannot take byte %q: %w", c, sdk.ErrInternal)
		}
	}
	return nil
}

// catchUp feeds the matcher the text it has not taken: where the host computes the masks (a grammar, a
// schema) it steps only when the guest masks itself.
func (s *seq) catchUp() error {
	for ; s.mFed < len(s.fed); s.mFed++ {
		if c := s.fed[s.mFed]; !s.m.Advance(c) {
			return fmt.Errorf("policy: the constraint cannot take byte %q: %w", c, sdk.ErrInternal)
		}
	}
	return nil
}

// next chooses the action after the sequence's state is up to date: the think-close splice when the
// budget is spent, else a sample (masked for a constraint or banned words), holding the step's tokens
// (hold) while the text ends in part of a stop string.
func (p *Policy) next(s *seq) (a sdk.Action, hold bool) {
	if s.think == thinkInside && s.thought >= s.req.budget {
		p.closeThinking(s)
		s.pending = len(s.req.closeToks)
		a = sdk.Splice(0, s.req.closeToks...)
	} else {
		var ok bool
		if a, ok = p.sample(s); !ok {
			return a, false
		}
	}
	if s.req.holding(s.text) {
		return a.Hold(), true
	}
	return a, false
}

// sample builds the sampling action; false when it is final (a stop or a failure).
func (p *Policy) sample(s *seq) (sdk.Action, bool) {
	r, v, mask := s.req, p.v, p.mask
	// Inside a thinking block a constraint only keeps the end tokens out: the answer is still to come.
	thinking := s.m != nil && s.think == thinkInside
	if !s.constrained() && !thinking && len(r.ban) == 0 {
		return sdk.Sample(), true
	}
	if s.constrained() {
		st, err := p.constraintMask(s, mask[:v.words])
		if err != nil {
			return sdk.Fail(err), false
		}
		if st.Done {
			if len(v.eog) == 0 {
				return sdk.Stop(), false
			}
			clear(mask)
			for _, id := range v.eog {
				sdk.Allow(mask, id)
			}
			return sdk.Sample().Mask(mask), true
		}
		clear(mask[v.words:])
		for _, id := range r.specials {
			if accepts(s.m, v.raw[id]) {
				sdk.Allow(mask, id)
			}
		}
		if st.Accepting {
			for _, id := range v.eog {
				sdk.Allow(mask, id)
			}
		}
		if s.skipWS {
			for _, id := range v.wsOnly {
				if len(v.text[id]) <= s.wsLeft {
					sdk.Allow(mask, id)
				}
			}
		}
		if s.think == thinkBefore && r.budget >= 0 && s.generated == 0 && v.info.ThinkOpen >= 0 {
			sdk.Allow(mask, v.info.ThinkOpen)
		}
	} else {
		sdk.AllowFirst(mask, len(v.text))
		if thinking {
			for _, id := range v.eog {
				sdk.Disallow(mask, id)
			}
		}
	}
	p.ban(s, mask)
	for _, w := range mask {
		if w != 0 {
			return sdk.Sample().Mask(mask), true
		}
	}
	return sdk.Fail(fmt.Errorf("policy: no token can follow (constraint and banned words leave none): %w", sdk.ErrInternal)), false
}

// constraintMask sets mask to the streamed tokens the constraint takes next and says whether its text is
// complete and whether anything may follow (then the mask is not set). A grammar's or a JSON schema's
// mask comes from the host (gbnf_mask, json_schema_mask) where it offers one: native code, where Go's
// wasm walks the trie 15–20 times slower; the guest's matcher then never steps (it catches up if the
// guest masks itself after all).
func (p *Policy) constraintMask(s *seq, mask []uint32) (sdk.GrammarState, error) {
	if s.req.hostMask != nil && !s.guestMasks {
		st, err := s.req.hostMask(s.fed, mask)
		if !errors.Is(err, sdk.ErrNotReady) {
			if err != nil {
				err = fmt.Errorf("policy: the host's constraint mask: %w", err)
			}
			return st, err
		}
		s.guestMasks = true // the host offers none for this constraint
	}
	if err := s.catchUp(); err != nil {
		return sdk.GrammarState{}, err
	}
	if s.m.Done() {
		return sdk.GrammarState{Accepting: true, Done: true}, nil
	}
	p.v.trie.Mask(s.m, mask)
	return sdk.GrammarState{Accepting: s.m.Accepting()}, nil
}

// ban clears the tokens that would complete a banned word after the sequence's text.
func (p *Policy) ban(s *seq, mask []uint32) {
	for _, id := range s.req.banned {
		sdk.Disallow(mask, id)
	}
	for _, w := range s.req.ban {
		for i := 1; i < len(w); i++ {
			if bytes.HasSuffix(s.text, w[:i]) {
				p.v.withPrefix(w[i:], func(id int32) { sdk.Disallow(mask, id) })
			}
		}
	}
}
