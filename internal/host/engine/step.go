package engine

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// step advances one sequence by one action on its fresh logits: without a policy, a sampled token.
func (g *generation) step(s *sequence) error {
	if g.policy == nil {
		return g.sample(s, nil, s.logits)
	}
	generatedReport := len(s.reported) > 0 && len(s.tokens) > s.prompt // the prompt is never streamed
	st, err := g.policyStep(s, s.reported)
	if err != nil {
		return err
	}
	reported := s.reported
	s.reported = nil
	if generatedReport {
		if err := g.stream(s, reported, st.Flags); err != nil {
			return err
		}
	}
	switch st.Kind {
	case abi.ActStop:
		return g.end(s, FinishStop)
	case abi.ActFork:
		return g.fork(s, st.Count)
	case abi.ActSplice:
		return g.splice(s, st.Arg, st.Splice)
	}
	raw := s.logits
	if g.req.Logprobs { // logprobs are the model's, before the policy's masks and biases
		g.raw = append(g.raw[:0], s.logits...)
		raw = g.raw
	}
	if err := st.Apply(s.logits); err != nil {
		return err
	}
	return g.sample(s, &st, raw)
}

// policyStep reports ids to the policy for s and returns its action, timing the step for
// Request.PolicyStepTimer when the request has one.
func (g *generation) policyStep(s *sequence, ids []int32) (wasm.Step, error) {
	if g.req.PolicyStepTimer == nil {
		return g.policy.Step(s.index, ids)
	}
	start := time.Now()
	st, err := g.policy.Step(s.index, ids)
	g.req.PolicyStepTimer(time.Since(start))
	return st, err
}

// sample picks the next token of s (with the policy's pick when it asks), then appends it, with its
// Logprobs from raw (the model's logits) when the request asks for them.
func (g *generation) sample(s *sequence, st *wasm.Step, raw []float32) error {
	var tok int32
	if st != nil && st.Flags&abi.FlagPick != 0 {
		g.cands = wasm.TopCandidates(s.logits, st.Arg, g.cands)
		if len(g.cands) == 0 {
			return fmt.Errorf("engine: the policy masked every token")
		}
		i, err := g.policy.Pick(s.index, g.cands)
		if err != nil {
			return err
		}
		tok = g.cands[i].ID
	} else {
		if err := g.syncSampler(s); err != nil {
			return err
		}
		var err error
		if tok, err = g.smp.Sample(s.logits); err != nil {
			return err
		}
	}
	if g.e.eog[tok] && !g.req.IgnoreEOS {
		return g.end(s, FinishStop)
	}
	if err := g.smp.Accept(tok); err != nil {
		return err
	}
	var lp *Logprobs
	if g.req.Logprobs {
		var err error
		if lp, err = g.lp.compute(g.ctx, raw, tok, g.req.TopLogprobs, g.e.tok.Piece); err != nil {
			return err
		}
	}
	return g.appendTokens(s, []int32{tok}, lp)
}

// syncSampler rebuilds the sampler's history and random stream for s when the request has several
// sequences or s took tokens back: the sampler guest keeps one history. The seed then depends on the
// sequence and its length, so each sequence draws its own reproducible stream.
func (g *generation) syncSampler(s *sequence) error {
	if len(g.seqs) == 1 && !s.resync {
		return nil
	}
	p := g.params
	p.Seed = p.Seed ^ (uint64(s.index)+1)*0x9e3779b97f4a7c15 ^ uint64(len(s.tokens))*0xbf58476d1ce4e5b9
	if err := g.smp.Configure(p); err != nil {
		return err
	}
	s.resync = false
	return g.smp.Accept(s.tokens...)
}

// appendTokens adds generated tokens to s: to the policy's next report or, without a policy, straight to
// the stream. The scheduler computes them next; their logits become the next step's. lp is the first
// token's Logprobs when it was sampled (nil for spliced tokens).
func (g *generation) appendTokens(s *sequence, toks []int32, lp *Logprobs) error {
	room := g.req.MaxTokens - s.generated
	if g.req.MaxTokens <= 0 {
		room = len(toks)
	}
	room = min(room, g.e.context-len(s.tokens))
	if len(toks) > room {
		toks = toks[:max(room, 0)]
	}
	s.tokens = append(s.tokens, toks...)
	if g.req.Logprobs {
		for i := range toks {
			if i > 0 {
				lp = nil
			}
			s.logprobs = append(s.logprobs, lp)
		}
	}
	s.generated += len(toks)
	s.fresh = false
	if g.policy != nil {
		s.reported = append(s.reported, toks...)
	} else if err := g.stream(s, toks, 0); err != nil {
		return err
	}
	if len(toks) == 0 || s.generated == g.req.MaxTokens || len(s.tokens) >= g.e.context {
		return g.end(s, FinishLength)
	}
	return nil
}

// splice takes back the last back generated tokens of s, then appends toks without sampling.
func (g *generation) splice(s *sequence, back int, toks []int32) error {
	if back > s.generated {
		return fmt.Errorf("engine: the policy took back %d tokens, only %d were generated", back, s.generated)
	}
	for _, t := range toks {
		if int(t) >= g.e.model.Vocab {
			return fmt.Errorf("engine: the policy spliced token %d, the vocabulary has %d", t, g.e.model.Vocab)
		}
	}
	if back > 0 {
		s.resync = true
		keep := len(s.tokens) - back
		s.tokens, s.generated = s.tokens[:keep], s.generated-back
		s.logprobs = s.logprobs[:min(len(s.logprobs), keep-s.prompt)]
		s.held = s.held[:max(len(s.held)-back, 0)]
		s.valid = min(s.valid, keep)
		if len(toks) == 0 { // the scheduler recomputes the last token for the logits at the new end
			s.fresh = false
			return nil
		}
	}
	if len(toks) == 0 {
		return nil
	}
	for _, t := range toks {
		if err := g.smp.Accept(t); err != nil {
			return err
		}
	}
	return g.appendTokens(s, toks, nil)
}

// fork turns s into n sequences: n-1 copies that start on its cache blocks (copy-on-write) with its
// logits and state, each opened in the policy. Each copy is a choice of its own, so it first gets the
// text s has streamed so far (one piece, Token -1), and the tokens s has not reported to the policy yet
// (the prompt, when Request.N forks before the first step).
func (g *generation) fork(s *sequence, n int) error {
	limit := MaxChoices
	if g.policy != nil {
		limit = g.req.Policy.Limits().MaxForks
	}
	if len(g.seqs)+n-1 > limit {
		return fmt.Errorf("engine: the policy forked past %d sequences", limit)
	}
	for range n - 1 {
		c := &sequence{req: g.r, index: int32(len(g.seqs)), prompt: s.prompt, generated: s.generated, forkOf: s,
			valid: s.valid, fresh: s.fresh, tokens: append([]int32(nil), s.tokens...), logits: append([]float32(nil), s.logits...),
			held: append([]int32(nil), s.held...), pending: append([]byte(nil), s.pending...), text: append([]byte(nil), s.text...),
			reported: append([]int32(nil), s.reported...), logprobs: append([]*Logprobs(nil), s.logprobs...)}
		g.seqs = append(g.seqs, c)
		if g.policy != nil {
			if err := g.policy.Open(c.index, s.index); err != nil {
				return err
			}
		}
		if len(c.text) > 0 {
			g.r.out.push(Piece{Index: int(c.index), Token: -1, Text: string(c.text)})
		}
	}
	return nil
}

// end finishes s: held tokens are streamed (a hold never resolved keeps its text), the policy is told.
func (g *generation) end(s *sequence, reason string) error {
	s.finish = reason
	if g.policy != nil && len(s.reported) > 0 { // the policy has its last say on the stream
		st, err := g.policyStep(s, s.reported)
		if err != nil {
			return err
		}
		if err := g.stream(s, s.reported, st.Flags); err != nil {
			return err
		}
		s.reported = nil
	}
	if err := g.stream(s, nil, 0); err != nil {
		return err
	}
	if len(s.pending) > 0 { // a character never completed: hand its bytes over as they are
		g.r.out.push(Piece{Index: int(s.index), Token: -1, Text: string(s.pending)})
		s.pending = nil
	}
	if g.policy != nil {
		return g.policy.Close(s.index)
	}
	return nil
}

// stream decides what of toks reaches the client: abi.FlagHide drops them with the held tokens,
// abi.FlagHold holds them back, neither streams the held tokens and then toks. The held tokens and toks
// are the last generated tokens of s, which places each one's Logprobs.
func (g *generation) stream(s *sequence, toks []int32, flags int) error {
	switch {
	case flags&abi.FlagHide != 0:
		s.held = s.held[:0]
		return nil
	case flags&abi.FlagHold != 0:
		s.held = append(s.held, toks...)
		return nil
	}
	first := len(s.tokens) - s.prompt - len(s.held) - len(toks) // generated index of the first token streamed
	for _, list := range [][]int32{s.held, toks} {
		for _, tok := range list {
			var lp *Logprobs
			if first >= 0 && first < len(s.logprobs) {
				lp = s.logprobs[first]
			}
			first++
			piece, err := g.e.tok.Piece(g.ctx, tok, false)
			if err != nil {
				return err
			}
			s.pending = append(s.pending, piece...)
			n := completeUTF8(s.pending)
			g.r.out.push(Piece{Index: int(s.index), Token: tok, Text: string(s.pending[:n]), Logprobs: lp})
			s.text = append(s.text, s.pending[:n]...)
			s.pending = append(s.pending[:0], s.pending[n:]...)
		}
	}
	s.held = s.held[:0]
	return nil
}

// completeUTF8 returns the length of the longest prefix of b that does not end inside a UTF-8 character.
// Invalid bytes count as complete: they will never become valid.
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}
