package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// Generate runs one request: prefill the prompt, then sample, detokenize and emit one token at a time until
// an end-of-generation token, MaxTokens, the context limit, a cancelled ctx, or an error from emit. With a
// Policy the guest steers each step (step.go) and may fork the request into several sequences, whose
// pieces carry their Index.
//
// The request's tokens are computed by the engine's scheduler, in batches with every other request's. Its
// sampling, policy and detokenizing run in a worker goroutine of its own, and its pieces reach emit, in
// the calling goroutine, through a buffer: a slow emit never holds the scheduler. When emit falls
// outboxPieces behind, the request pauses, and past Config.WriteTimeout it ends with ErrWriteTimeout.
func (e *Engine) Generate(ctx context.Context, req Request, emit func(Piece) error) (Result, error) {
	res := Result{PromptTokens: len(req.Prompt)}
	if err := e.check(req); err != nil {
		return res, err
	}
	if e.queued.Add(1) > int64(e.maxQueue) {
		e.queued.Add(-1)
		return res, ErrOverloaded
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	limit := MaxChoices
	if req.Policy != nil {
		limit = max(limit, req.Policy.Limits().MaxForks)
	}
	r := &request{ctx: ctx, req: req, ready: make(chan *sequence, limit+1), out: newOutbox()}
	if req.PromptLogprobs {
		r.prompt = make(chan promptRows, len(req.Prompt))
	}
	g := &generation{e: e, r: r, ctx: ctx, req: req, params: samplerParams(req.Sampling)}
	s := &sequence{req: r, tokens: append([]int32(nil), req.Prompt...), prompt: len(req.Prompt)}
	g.seqs = []*sequence{s}
	r.seqs = g.seqs
	e.closeMu.Lock()
	if e.closing || !e.send(message{r: r, kind: submit}) {
		e.closeMu.Unlock()
		e.queued.Add(-1)
		return res, ErrClosed
	}
	e.workers.Add(1)
	e.closeMu.Unlock()
	finished := make(chan struct{})
	go func() {
		defer e.workers.Done()
		defer close(finished)
		g.res, g.err = g.run(res)
	}()

	var buf []Piece
	for {
		over := false
		select {
		case <-r.out.arrived:
		case <-finished:
			over = true
		}
		buf = r.out.take(buf)
		for _, p := range buf {
			if ctx.Err() != nil {
				break
			}
			if err := emit(p); err != nil {
				cancel()
				<-finished
				return g.res, err
			}
		}
		if r.out.done(len(buf)) {
			e.send(message{r: r, kind: resume})
		}
		if over && r.out.n.Load() == 0 {
			return g.res, g.err
		}
	}
}

// check refuses a request the engine cannot run.
func (e *Engine) check(req Request) error {
	if len(req.Prompt) == 0 {
		return fmt.Errorf("engine: empty prompt")
	}
	if req.N < 0 || req.N > MaxChoices {
		return fmt.Errorf("engine: %d choices asked, want 1 to %d", req.N, MaxChoices)
	}
	if req.TopLogprobs < 0 || req.TopLogprobs > MaxTopLogprobs {
		return fmt.Errorf("engine: %d top logprobs asked, want 0 to %d", req.TopLogprobs, MaxTopLogprobs)
	}
	if err := e.checkSpeculation(req.Speculation); err != nil {
		return err
	}
	if len(req.Prompt) >= e.context {
		return fmt.Errorf("%w: %d prompt tokens, context is %d", ErrPromptTooLong, len(req.Prompt), e.context)
	}
	for _, t := range req.Prompt {
		if t < 0 || int(t) >= e.model.Vocab {
			return fmt.Errorf("engine: prompt token id %d out of range [0, %d)", t, e.model.Vocab)
		}
	}
	return nil
}

// send hands a message to the scheduler; false once the engine is closed.
func (e *Engine) send(m message) bool {
	select {
	case e.inbox <- m:
		return true
	case <-e.done:
		return false
	}
}

// generation is one request in progress, as its worker goroutine runs it.
type generation struct {
	e      *Engine
	r      *request
	ctx    context.Context
	req    Request
	smp    *wasm.SamplerSession
	params abi.SamplerParams
	policy *wasm.PolicySession
	seqs   []*sequence
	cands  []wasm.Candidate
	lp     logprober   // with Request.Logprobs or Request.PromptLogprobs
	prompt []*Logprobs // with Request.PromptLogprobs: by prompt position, as the rows come
	raw    []float32   // with Request.Logprobs and a policy: the step's logits before the policy changes them
	res    Result      // set when run returns, with err
	err    error

	drafted, accepted int // speculative tokens verified, and kept
}

// run is the worker: it takes the sequences the scheduler has computed, steps each until it needs the
// model again or ends, and hands them back, until every sequence has ended.
func (g *generation) run(res Result) (Result, error) {
	defer g.e.send(message{r: g.r, kind: finished})
	if _, err := g.wait(); err != nil {
		return g.result(res), err
	}
	release, err := g.start()
	defer release()
	if err != nil {
		return g.result(res), err
	}
	work := g.seqs // the first sequence, and the choices Request.N forked from it
	for {
		if work, err = g.advance(work); err != nil {
			return g.result(res), err
		}
		if !g.e.send(message{r: g.r, kind: handBack, seqs: work}) {
			return g.result(res), ErrClosed
		}
		if !g.live() {
			return g.result(res), nil
		}
		if work, err = g.wait(); err != nil {
			return g.result(res), err
		}
	}
}

// wait returns the sequences the scheduler has computed, at least one.
func (g *generation) wait() ([]*sequence, error) {
	s, err := g.next()
	if err != nil {
		return nil, err
	}
	work := []*sequence{s}
	for {
		if s.err != nil {
			return nil, s.err
		}
		select {
		case s = <-g.r.ready:
			work = append(work, s)
		default:
			return work, nil
		}
	}
}

// live reports whether some sequence has not ended.
func (g *generation) live() bool {
	for _, s := range g.seqs {
		if s.finish == "" {
			return true
		}
	}
	return false
}

// next waits for a sequence the scheduler has computed. While the reader is outboxPieces behind, the
// scheduler leaves the request alone; if the reader takes nothing for Config.WriteTimeout, next fails.
func (g *generation) next() (*sequence, error) {
	var timeout <-chan time.Time
	for {
		if timeout == nil && g.r.out.full() {
			timeout = time.After(g.e.writeTimeout)
		}
		select {
		case s := <-g.r.ready:
			return s, nil
		case rows := <-g.r.prompt:
			if err := g.promptLogprobs(rows); err != nil {
				return nil, err
			}
		case <-g.ctx.Done():
			return nil, g.ctx.Err()
		case <-g.e.done:
			return nil, ErrClosed
		case <-g.r.out.drained:
			timeout = nil
		case <-timeout:
			if g.r.out.full() {
				return nil, fmt.Errorf("%w: %d pieces unread for %v", ErrWriteTimeout, g.r.out.n.Load(), g.e.writeTimeout)
			}
			timeout = nil
		}
	}
}

// start takes a sampler and, with a Policy, a policy instance for the request, once its prompt is
// computed, and forks Request.N choices. release gives back what it took.
func (g *generation) start() (release func(), err error) {
	var undo []func()
	release = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	if g.smp, err = g.e.smp.Acquire(g.ctx, g.params); err != nil {
		return release, err
	}
	undo = append(undo, g.smp.Release)
	if err := g.smp.Accept(g.req.Prompt...); err != nil {
		return release, err
	}
	if g.req.PromptLogprobs {
		if err := g.sendPromptLogprobs(); err != nil {
			return release, err
		}
	}
	s := g.seqs[0]
	if g.req.Policy != nil {
		kern, free := g.e.requestKernels(g.ctx, g.req.Policy.Limits())
		undo = append(undo, free)
		if g.policy, err = g.req.Policy.Acquire(g.ctx, g.req.PolicyConfig, kern); err != nil {
			return release, err
		}
		undo = append(undo, g.policy.Release)
		if err := g.policy.Open(0, -1); err != nil {
			return release, err
		}
		s.reported = s.tokens
	}
	if g.req.N > 1 {
		return release, g.fork(s, g.req.N)
	}
	return release, nil
}

// advance steps the sequences the scheduler handed over, one action each in turn (forks join the
// rotation), until each needs the model again or has ended. It returns them all, for the scheduler.
func (g *generation) advance(work []*sequence) ([]*sequence, error) {
	for _, s := range work {
		s.valid = len(s.tokens)
		s.fresh = true
		g.drafted += len(s.draft)
	}
	for {
		stepped := false
		for i := 0; i < len(work); i++ { // forks append to work
			s := work[i]
			if s.finish != "" || !s.fresh {
				continue
			}
			if err := g.ctx.Err(); err != nil {
				return nil, err
			}
			n, before := len(g.seqs), len(s.tokens)
			if err := g.step(s); err != nil {
				return nil, err
			}
			g.verify(s, before, n)
			work = append(work, g.seqs[n:]...)
			stepped = true
		}
		if !stepped {
			return work, nil
		}
	}
}

// result fills in the counts and finish reasons.
func (g *generation) result(res Result) Result {
	for _, s := range g.seqs {
		res.CompletionTokens += s.generated
		res.Choices = append(res.Choices, Choice{CompletionTokens: s.generated, FinishReason: s.finish})
	}
	res.FinishReason = g.seqs[0].finish
	res.CachedTokens = int(g.r.hit.Load())
	res.DraftTokens, res.AcceptedDraftTokens = g.drafted, g.accepted
	return res
}

func samplerParams(p SamplingParams) abi.SamplerParams {
	return abi.SamplerParams{
		Temperature: p.Temperature, TopK: int32(p.TopK), TopP: p.TopP, MinP: p.MinP,
		RepeatPenalty: p.RepeatPenalty, RepeatLastN: int32(p.RepeatLastN), PresencePenalty: p.PresencePenalty,
		FrequencyPenalty: p.FrequencyPenalty, LogitBias: p.LogitBias, Seed: p.Seed,
	}
}
