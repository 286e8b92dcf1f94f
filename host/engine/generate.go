package engine

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/host/model"
	"github.com/wasmoe/wasmoe/host/wasm"
)

// Generate runs one request: prefill the prompt, then sample, detokenize and emit one token at a time until
// an end-of-generation token, MaxTokens, the context limit, a cancelled ctx, or an error from emit. With a
// Policy the guest steers each step (policy.go) and may fork the request into several sequences, whose
// pieces carry their Index.
func (e *Engine) Generate(ctx context.Context, req Request, emit func(Piece) error) (Result, error) {
	res := Result{PromptTokens: len(req.Prompt)}
	if len(req.Prompt) == 0 {
		return res, fmt.Errorf("engine: empty prompt")
	}
	if req.N < 0 || req.N > MaxChoices {
		return res, fmt.Errorf("engine: %d choices asked, want 1 to %d", req.N, MaxChoices)
	}
	if len(req.Prompt) >= e.context {
		return res, fmt.Errorf("%w: %d prompt tokens, context is %d", ErrPromptTooLong, len(req.Prompt), e.context)
	}
	for _, t := range req.Prompt {
		if t < 0 || int(t) >= e.model.Vocab {
			return res, fmt.Errorf("engine: prompt token id %d out of range [0, %d)", t, e.model.Vocab)
		}
	}
	release, err := e.admit(ctx)
	if err != nil {
		return res, err
	}
	defer release()

	params := samplerParams(req.Sampling)
	smp, err := e.smp.Acquire(ctx, params)
	if err != nil {
		return res, err
	}
	defer smp.Release()
	if err := smp.Accept(req.Prompt...); err != nil {
		return res, err
	}
	g := &generation{e: e, ctx: ctx, req: req, emit: emit, smp: smp, params: params}
	s := &sequence{state: e.state, tokens: append([]int32(nil), req.Prompt...), prompt: len(req.Prompt)}
	s.state.Reset()
	if s.logits, err = e.model.Forward(e.pool, s.state, req.Prompt, false); err != nil {
		return res, err
	}
	g.seqs = []*sequence{s}
	if req.Policy != nil {
		kern, free := e.requestKernels(ctx, req.Policy.Limits())
		defer free()
		if g.policy, err = req.Policy.Acquire(ctx, req.PolicyConfig, kern); err != nil {
			return res, err
		}
		defer g.policy.Release()
		if err := g.policy.Open(0, -1); err != nil {
			return res, err
		}
		s.reported = s.tokens
	}
	if req.N > 1 {
		if err := g.fork(s, req.N); err != nil {
			return res, err
		}
	}
	if err := g.run(); err != nil {
		return g.result(res), err
	}
	return g.result(res), nil
}

// admit queues the request for the model (one sequence computes at a time) and returns the function that
// lets the next one in.
func (e *Engine) admit(ctx context.Context) (func(), error) {
	select {
	case e.waiting <- struct{}{}:
	default:
		return nil, ErrOverloaded
	}
	fail := func(err error) (func(), error) { <-e.waiting; return nil, err }
	select { // wait for the model
	case <-e.done:
		return fail(ErrClosed)
	default:
	}
	select {
	case e.running <- struct{}{}:
	case <-e.done:
		return fail(ErrClosed)
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	select { // Close may have won the race for the model
	case <-e.done:
		<-e.running
		return fail(ErrClosed)
	default:
	}
	return func() { <-e.running; <-e.waiting }, nil
}

// sequence is one line of generation within a request: the first, or one a policy forked.
type sequence struct {
	index     int32
	state     *model.State
	tokens    []int32   // prompt and generated tokens in the cache
	prompt    int       // how many of tokens are the prompt
	logits    []float32 // next-token logits
	reported  []int32   // tokens the policy has not been told about yet
	held      []int32   // generated tokens held back from the stream (abi.FlagHold)
	pending   []byte    // bytes of a UTF-8 character split across tokens
	text      []byte    // what has been streamed
	generated int       // completion tokens, hidden ones included
	finish    string    // "" while live
	resync    bool      // the sampler's history must be rebuilt before the next sample (backtrack)
}

// generation is one request in progress.
type generation struct {
	e      *Engine
	ctx    context.Context
	req    Request
	emit   func(Piece) error
	smp    *wasm.SamplerSession
	params abi.SamplerParams
	policy *wasm.PolicySession
	seqs   []*sequence
	cands  []wasm.Candidate
}

// run steps every live sequence in turn, one token each, until all have finished.
func (g *generation) run() error {
	for {
		live := false
		for i := 0; i < len(g.seqs); i++ { // forks append to g.seqs
			s := g.seqs[i]
			if s.finish != "" {
				continue
			}
			live = true
			if err := g.ctx.Err(); err != nil {
				return err
			}
			if err := g.step(s); err != nil {
				return err
			}
		}
		if !live {
			return nil
		}
	}
}

// step advances one sequence by one action: without a policy, a sampled token.
func (g *generation) step(s *sequence) error {
	if g.policy == nil {
		return g.sample(s, nil)
	}
	generatedReport := len(s.reported) > 0 && len(s.tokens) > s.prompt // the prompt is never streamed
	st, err := g.policy.Step(s.index, s.reported)
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
	if err := st.Apply(s.logits); err != nil {
		return err
	}
	return g.sample(s, &st)
}

// sample picks the next token of s (with the policy's pick when it asks), then appends it.
func (g *generation) sample(s *sequence, st *wasm.Step) error {
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
	return g.appendTokens(s, []int32{tok})
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

// appendTokens adds generated tokens to s: into the cache (their logits become the next step's), to the
// policy's next report or, without a policy, straight to the stream.
func (g *generation) appendTokens(s *sequence, toks []int32) error {
	room := g.req.MaxTokens - s.generated
	if g.req.MaxTokens <= 0 {
		room = len(toks)
	}
	room = min(room, s.state.MaxPos()-s.state.Pos)
	if len(toks) > room {
		toks = toks[:max(room, 0)]
	}
	s.tokens = append(s.tokens, toks...)
	s.generated += len(toks)
	if g.policy != nil {
		s.reported = append(s.reported, toks...)
	} else if err := g.stream(s, toks, 0); err != nil {
		return err
	}
	if len(toks) == 0 || s.generated == g.req.MaxTokens || s.state.Pos+len(toks) >= s.state.MaxPos() {
		return g.end(s, FinishLength)
	}
	var err error
	s.logits, err = g.e.model.Forward(g.e.pool, s.state, toks, false)
	return err
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
		s.held = s.held[:max(len(s.held)-back, 0)]
		s.state.Truncate(keep)
		if len(toks) == 0 { // the next step needs the logits at the new end: recompute the last token
			last := s.tokens[keep-1]
			s.state.Truncate(keep - 1)
			var err error
			s.logits, err = g.e.model.Forward(g.e.pool, s.state, []int32{last}, false)
			return err
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
	return g.appendTokens(s, toks)
}

// fork turns s into n sequences: n-1 copies of its cache and state, each opened in the policy. Each copy
// is a choice of its own, so it first gets the text s has streamed so far (one piece, Token -1), and the
// tokens s has not reported to the policy yet (the prompt, when Request.N forks before the first step).
func (g *generation) fork(s *sequence, n int) error {
	limit := MaxChoices
	if g.policy != nil {
		limit = g.req.Policy.Limits().MaxForks
	}
	if len(g.seqs)+n-1 > limit {
		return fmt.Errorf("engine: the policy forked past %d sequences", limit)
	}
	for range n - 1 {
		c := &sequence{index: int32(len(g.seqs)), state: g.e.model.Fork(s.state), prompt: s.prompt, generated: s.generated,
			tokens: append([]int32(nil), s.tokens...), logits: append([]float32(nil), s.logits...),
			held: append([]int32(nil), s.held...), pending: append([]byte(nil), s.pending...), text: append([]byte(nil), s.text...),
			reported: append([]int32(nil), s.reported...)}
		g.seqs = append(g.seqs, c)
		if g.policy != nil {
			if err := g.policy.Open(c.index, s.index); err != nil {
				return err
			}
		}
		if len(c.text) > 0 {
			if err := g.emit(Piece{Index: int(c.index), Token: -1, Text: string(c.text)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// end finishes s: held tokens are streamed (a hold never resolved keeps its text), the policy is told.
func (g *generation) end(s *sequence, reason string) error {
	s.finish = reason
	if g.policy != nil && len(s.reported) > 0 { // the policy has its last say on the stream
		st, err := g.policy.Step(s.index, s.reported)
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
		if err := g.emit(Piece{Index: int(s.index), Token: -1, Text: string(s.pending)}); err != nil {
			return err
		}
		s.pending = nil
	}
	if g.policy != nil {
		return g.policy.Close(s.index)
	}
	return nil
}

// stream decides what of toks reaches the client: abi.FlagHide drops them with the held tokens,
// abi.FlagHold holds them back, neither streams the held tokens and then toks.
func (g *generation) stream(s *sequence, toks []int32, flags int) error {
	switch {
	case flags&abi.FlagHide != 0:
		s.held = s.held[:0]
		return nil
	case flags&abi.FlagHold != 0:
		s.held = append(s.held, toks...)
		return nil
	}
	for _, list := range [][]int32{s.held, toks} {
		for _, tok := range list {
			piece, err := g.e.tok.Piece(g.ctx, tok, false)
			if err != nil {
				return err
			}
			s.pending = append(s.pending, piece...)
			n := completeUTF8(s.pending)
			if err := g.emit(Piece{Index: int(s.index), Token: tok, Text: string(s.pending[:n])}); err != nil {
				return err
			}
			s.text = append(s.text, s.pending[:n]...)
			s.pending = append(s.pending[:0], s.pending[n:]...)
		}
	}
	s.held = s.held[:0]
	return nil
}

// result fills in the counts and finish reasons.
func (g *generation) result(res Result) Result {
	for _, s := range g.seqs {
		res.CompletionTokens += s.generated
		res.Choices = append(res.Choices, Choice{CompletionTokens: s.generated, FinishReason: s.finish})
	}
	res.FinishReason = g.seqs[0].finish
	return res
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

func samplerParams(p SamplingParams) abi.SamplerParams {
	return abi.SamplerParams{
		Temperature: p.Temperature, TopK: int32(p.TopK), TopP: p.TopP, MinP: p.MinP,
		RepeatPenalty: p.RepeatPenalty, RepeatLastN: int32(p.RepeatLastN), PresencePenalty: p.PresencePenalty,
		FrequencyPenalty: p.FrequencyPenalty, LogitBias: p.LogitBias, Seed: p.Seed,
	}
}
