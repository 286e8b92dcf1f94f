package engine

import (
	"fmt"
	"slices"
	"time"

	"github.com/wasmoe/wasmoe/internal/host/kvcache"
	"github.com/wasmoe/wasmoe/internal/host/model"
)

// maxGrace bounds how long a step waits for the sequences of the previous one to come back from their
// workers: a slow plugin or sampler costs the others at most this, then its sequence joins a later step.
const maxGrace = 200 * time.Millisecond

// A step that would only prefill waits for more requests while they keep arriving (coalesce).
const (
	coalesceQuiet = 10 * time.Millisecond
	coalesceMax   = 50 * time.Millisecond
)

// scheduler is the engine's one decode loop. Each step it batches one token of every generating sequence,
// then prompt chunks (chunked prefill) in fair-share order up to the token budget, runs the batch through
// the model in one forward pass, and hands each sequence whose logits are ready to its request's worker.
// It owns the KV cache: it admits waiting sequences when their blocks fit, the least served tenant's first
// (vtc.go), and when the pool runs out it preempts the newest running sequence (which frees its blocks and
// recomputes its tokens later). It waits only on its inbox, never on a worker, a client or another
// goroutine's lock.
type scheduler struct {
	e       *Engine
	cache   *kvcache.Pool
	tenants tenants // fair-share counters and prefix-cache namespaces, by Request.Tenant
	batch   model.Batch
	running []*sequence // admitted, in admission order
	waiting []*sequence // preempted sequences first, then new requests in arrival order
	plan    []chunk
	prefill []*sequence // scratch: the step's sequences with prompt chunks, in fair-share order
	rr      int         // round-robin start of the next step's decode rows
	ages    uint64      // admissions so far
	stepNo  uint64
	late    int           // sequences of the last step still with their workers
	last    time.Duration // the last step's forward pass

	drafters map[string]*modeDrafter // by drafting mode (spec.go)
	before   []int                   // scratch: each planned chunk's first position
}

// chunk is a sequence's share of a step: its next n tokens.
type chunk struct {
	s *sequence
	n int
}

// loop runs until the engine closes.
func (sc *scheduler) loop() {
	defer close(sc.e.loopDone)
	for sc.gather() {
		if sc.plan = sc.planStep(sc.plan[:0]); len(sc.plan) > 0 {
			sc.step()
		}
		sc.publishStats()
	}
}

// gather takes the workers' messages: it waits a little for the last step's sequences, then, while there is
// nothing to compute, for anything at all. It returns false once the engine is closed.
func (sc *scheduler) gather() bool {
	e := sc.e
	if sc.late > 0 {
		grace := time.NewTimer(min(sc.last/2, maxGrace))
	wait:
		for sc.late > 0 {
			select {
			case m := <-e.inbox:
				sc.handle(m)
			case <-grace.C:
				break wait
			case <-e.done:
				grace.Stop()
				return false
			}
		}
		grace.Stop()
	}
	for {
		for more := true; more; {
			select {
			case m := <-e.inbox:
				sc.handle(m)
			default:
				more = false
			}
		}
		sc.admit()
		if sc.computable() {
			if !sc.decoding() {
				sc.coalesce()
			}
			return true
		}
		sc.publishStats()
		select {
		case m := <-e.inbox:
			sc.handle(m)
		case <-e.done:
			return false
		}
	}
}

// coalesce lets requests that arrive together (a burst of clients) join a step that would only prefill,
// so that they share one forward pass instead of the first taking a step alone: it waits until no request
// has arrived for coalesceQuiet, coalesceMax at most. It does not wait, or stops, once no arrival could
// join (the running and waiting sequences fill every running place) or once the step would decode (a
// generating sequence came back from its worker, and should not wait for the burst).
func (sc *scheduler) coalesce() {
	if sc.filled() {
		return
	}
	quiet, limit := time.NewTimer(coalesceQuiet), time.NewTimer(coalesceMax)
	defer quiet.Stop()
	defer limit.Stop()
	for {
		select {
		case m := <-sc.e.inbox:
			sc.handle(m)
			if m.kind == submit {
				quiet.Reset(coalesceQuiet)
			}
			if sc.filled() || sc.decoding() {
				sc.admit()
				return
			}
		case <-quiet.C:
			sc.admit()
			return
		case <-limit.C:
			sc.admit()
			return
		case <-sc.e.done:
			return
		}
	}
}

// filled reports whether the running and waiting sequences fill Config.Parallel: no new request could
// be admitted to the next step.
func (sc *scheduler) filled() bool {
	return len(sc.running)+len(sc.waiting) >= sc.e.parallel
}

// decoding reports whether some sequence waits for the model with just its next token to run.
func (sc *scheduler) decoding() bool {
	for _, s := range sc.running {
		if sc.ready(s) && len(s.tokens)-s.cached == 1 {
			return true
		}
	}
	return false
}

// handle applies one message.
func (sc *scheduler) handle(m message) {
	r := m.r
	switch m.kind {
	case submit:
		r.tenant = sc.tenants.join(r.req.Tenant)
		sc.tenants.arrive(r.tenant, sc.waiting, sc.running)
		r.seqs[0].spec = sc.e.resolveSpeculation(r.req.Speculation)
		sc.waiting = append(sc.waiting, r.seqs[0])
	case handBack:
		for _, s := range m.seqs { // forks first: they start on their parents' blocks as the worker saw them
			if s.forkOf != nil {
				sc.adoptFork(s)
			}
		}
		for _, s := range m.seqs {
			sc.handBack(s)
		}
	case resume: // nothing to apply: the request's reader caught up, and the loop looks at it again
	case finished:
		r.ended = true
		for _, s := range r.seqs {
			sc.release(s)
		}
		if !r.admitted {
			r.admitted = true
			sc.e.queued.Add(-1)
		}
		sc.tenants.leave(r.tenant, sc.waiting, sc.running)
	}
}

// adoptFork makes a new fork known: it shares its parent's cache blocks and runs beside it.
func (sc *scheduler) adoptFork(s *sequence) {
	p := s.forkOf
	s.forkOf = nil
	s.req.seqs = append(s.req.seqs, s)
	s.busy, s.step = true, sc.stepNo+1 // comes back just below, not counted late
	s.charged = p.charged              // the shared start was charged to the parent; handBack trims it to s.valid
	s.spec = specState{mode: p.spec.mode, max: p.spec.max, k: p.spec.k, mtp: p.spec.mtp.fork()}
	if p.kv == nil || !p.running {
		sc.waiting = slices.Insert(sc.waiting, 0, s)
		return
	}
	s.kv, s.cached, s.running, s.age = p.kv.Fork(), p.cached, true, sc.nextAge()
	s.published = p.published
	sc.running = append(sc.running, s)
}

// handBack takes a sequence back from its worker: an ended one lets its blocks go, a live one drops the
// cache rows of tokens the worker took back and waits for its next step.
func (sc *scheduler) handBack(s *sequence) {
	if s.busy && s.step == sc.stepNo && sc.late > 0 {
		sc.late--
	}
	s.busy = false
	sc.settle(s)
	if s.finish != "" || s.req.ended {
		sc.release(s)
		return
	}
	s.cached = min(s.cached, s.valid, len(s.tokens)-1) // at least the last token runs again, for its logits
	s.charged = min(s.charged, s.valid)                // tokens after valid were replaced: new service
	s.spec.mtp.trim(s.valid, s.cached)
	if s.kv != nil {
		s.kv.Truncate(s.cached)
	}
}

// release frees a sequence's blocks and forgets it.
func (sc *scheduler) release(s *sequence) {
	if s.kv != nil {
		s.kv.Free()
		s.kv = nil
	}
	sc.forgetSpec(s)
	s.running = false
	sc.running = slices.DeleteFunc(sc.running, func(q *sequence) bool { return q == s })
	sc.waiting = slices.DeleteFunc(sc.waiting, func(q *sequence) bool { return q == s })
}

func (sc *scheduler) nextAge() uint64 {
	sc.ages++
	return sc.ages
}

// admit moves waiting sequences to running, the least served tenant's first (nextAdmission), while fewer
// than Config.Parallel run and the pool has the next one's blocks (with one block of headroom per running
// sequence). A request whose client is gone leaves the queue here, before any compute.
func (sc *scheduler) admit() {
	sc.waiting = slices.DeleteFunc(sc.waiting, func(s *sequence) bool { return s.req.ended || s.req.ctx.Err() != nil })
	for len(sc.running) < sc.e.parallel {
		i := nextAdmission(sc.waiting, sc.running)
		if i < 0 {
			return
		}
		s := sc.waiting[i]
		r := s.req
		kv := sc.cache.NewSeq()
		hit := 0
		if !r.req.NoPromptCache && !r.req.PromptLogprobs { // prompt logprobs need every prompt row computed
			hit = sc.cache.Lookup(kv, r.tenant.ns, s.tokens, len(s.tokens)-1)
		}
		if kv.Need(len(s.tokens)+1)+len(sc.running) > sc.cache.Available() {
			kv.Free()
			return
		}
		s.kv, s.cached, s.running, s.age = kv, hit, true, sc.nextAge()
		if !r.admitted {
			r.admitted = true
			r.hit.Store(int32(hit))
			sc.e.queued.Add(-1)
		}
		sc.running = append(sc.running, s)
		sc.waiting = slices.Delete(sc.waiting, i, i+1)
	}
}

// computable reports whether a running sequence can take part in a step.
func (sc *scheduler) computable() bool {
	for _, s := range sc.running {
		if sc.ready(s) {
			return true
		}
	}
	return false
}

// ready reports whether s can take part in a step: its worker has handed it back, its reader keeps up,
// and it has tokens to compute.
func (sc *scheduler) ready(s *sequence) bool {
	return !s.busy && s.cached < len(s.tokens) && !s.req.out.full()
}

// planStep picks the step's chunks: one token for each generating sequence, round-robin from a start
// that moves each step, with the tokens drafted to follow it (speculate), then prompt chunks up to the
// token budget, the least served tenant's first (prefillOrder). It reserves their cache blocks,
// preempting the newest sequences when the pool runs out (a draft is dropped before anyone is preempted).
func (sc *scheduler) planStep(plan []chunk) []chunk {
	budget, n := sc.e.batchTokens, len(sc.running)
	for k := 0; k < n && budget > 0; k++ {
		if s := sc.running[(sc.rr+k)%n]; sc.ready(s) && len(s.tokens)-s.cached == 1 {
			plan = append(plan, chunk{s, 1})
			budget--
		}
	}
	budget -= sc.speculate(plan, budget)
	sc.prefill = sc.prefill[:0]
	for _, s := range sc.running {
		if sc.ready(s) && len(s.tokens)-s.cached > 1 {
			sc.prefill = append(sc.prefill, s)
		}
	}
	slices.SortFunc(sc.prefill, prefillOrder)
	for _, s := range sc.prefill {
		if budget == 0 {
			break
		}
		c := min(len(s.tokens)-s.cached, budget)
		if s.req.req.PromptLogprobs {
			c = min(c, maxPromptLogitRows) // every row's logits are kept: a vocabulary's worth of floats each
		}
		plan = append(plan, chunk{s, c})
		budget -= c
	}
	if n > 0 {
		sc.rr = (sc.rr + 1) % n
	}
	for i := 0; i < len(plan); i++ {
		s := plan[i].s
		if len(s.draft) > 0 && s.kv.Reserve(s.cached+plan[i].n) != nil {
			dropDraft(&plan[i])
		}
		for s.kv.Reserve(s.cached+plan[i].n) != nil {
			v := sc.newest()
			sc.preempt(v)
			if j := slices.IndexFunc(plan, func(c chunk) bool { return c.s == v }); j >= 0 {
				plan = slices.Delete(plan, j, j+1)
				if j < i {
					i--
				}
			}
			if v == s {
				i--
				break
			}
		}
	}
	return plan
}

// newest is the running sequence admitted last.
func (sc *scheduler) newest() *sequence {
	v := sc.running[0]
	for _, s := range sc.running {
		if s.age > v.age {
			v = s
		}
	}
	return v
}

// preempt takes s's blocks away: it goes back to the front of the queue and recomputes its tokens when it
// is admitted again. Its worker, if it has it, is not disturbed.
func (sc *scheduler) preempt(s *sequence) {
	if !s.busy { // a draft its worker has is the worker's to verify
		s.draft = s.draft[:0]
	}
	s.kv.Free()
	s.kv, s.cached, s.running = nil, 0, false
	sc.running = slices.DeleteFunc(sc.running, func(q *sequence) bool { return q == s })
	sc.waiting = slices.Insert(sc.waiting, 0, s)
	sc.e.preemptions.Add(1)
}

// step runs the planned chunks through the model and hands each sequence whose last token ran to its
// worker, with its logits (and those after each drafted token, to verify); with Request.PromptLogprobs,
// the logits of its prompt rows go to the worker as they are computed.
func (sc *scheduler) step() {
	rows, before := sc.batch.Rows[:0], sc.before[:0]
	for _, c := range sc.plan {
		s := c.s
		before = append(before, s.cached)
		from, to := promptRange(s, c.n)
		for pos := s.cached; pos < s.cached+c.n; pos++ {
			tok := int32(0)
			if pos < len(s.tokens) {
				tok = s.tokens[pos]
			} else {
				tok = s.draft[pos-len(s.tokens)]
			}
			rows = append(rows, model.Row{Token: tok, Seq: s.kv, Pos: pos,
				Logits: pos >= len(s.tokens)-1 || (from <= pos && pos < to), Hidden: s.spec.mode == SpecMTP})
		}
	}
	sc.batch.Rows, sc.before = rows, before
	start := time.Now()
	logits, err := sc.forward()
	if err == nil && sc.e.mtp != nil {
		sc.e.mtp.warm(sc.plan, before, sc.batch.Hidden())
	}
	if err == nil && sc.e.drafts != nil {
		sc.e.drafts.warm(sc.plan, before)
	}
	sc.last = time.Since(start)
	sc.stepNo++
	sc.late = 0
	V, j := sc.e.model.Vocab, 0
	for _, c := range sc.plan {
		s := c.s
		if err != nil {
			s.err = err
		} else {
			if from, to := promptRange(s, c.n); from < to { // the worker's channel holds a send per prompt row
				s.req.prompt <- promptRows{from: from, logits: append([]float32(nil), logits[j*V:(j+to-from)*V]...)}
				j += to - from
				s.promptRow = to
			}
			charge(s, s.cached, s.cached+c.n)
			s.cached += c.n
			if !s.published && s.cached >= s.prompt && !s.req.req.NoPromptCache {
				sc.cache.Publish(s.kv, s.req.tenant.ns, s.tokens[:s.prompt])
				s.published = true
			}
			if s.cached < len(s.tokens) {
				continue // a prompt chunk: the rest comes in later steps
			}
			k := 1 + len(s.draft) // the last token's row, then each drafted token's
			s.rows = append(s.rows[:0], logits[j*V:(j+k)*V]...)
			s.logits, s.row = s.rows[:V:V], 0
			j += k
		}
		s.busy, s.step = true, sc.stepNo
		select {
		case s.req.ready <- s:
			sc.late++
		default: // cannot happen: a request's channel holds all its sequences
			s.busy = false
		}
	}
}

// maxPromptLogitRows bounds a step's prompt chunk of a request that wants its prompt's logprobs: each of
// its rows keeps a whole vocabulary of logits (0.6 MB at 150k tokens), in the step and on the way to the
// worker, so a long prompt with echo costs tens of megabytes per step, not gigabytes.
const maxPromptLogitRows = 64

// promptRange is the prompt positions of s's next n tokens whose logits its worker wants for
// Request.PromptLogprobs and has not had: [from, to), empty if none. The last prompt position is not
// among them: its logits are the first step's.
func promptRange(s *sequence, n int) (from, to int) {
	if !s.req.req.PromptLogprobs || s.index != 0 {
		return 0, 0
	}
	return max(s.cached, s.promptRow), min(s.cached+n, s.prompt-1)
}

// forward runs the batch; a panic in the kernels fails the step's requests, not the server.
func (sc *scheduler) forward() ([]float32, error) {
	return guarded("forward pass", func() ([]float32, error) { return sc.e.model.ForwardBatch(sc.e.pool, &sc.batch) })
}

// guarded runs a forward pass (what names it) and turns a panic in the kernels into its error.
func guarded(what string, pass func() ([]float32, error)) (logits []float32, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("engine: %s failed: %v", what, p)
		}
	}()
	return pass()
}

// publishStats makes the scheduler's state readable by Engine.Stats.
func (sc *scheduler) publishStats() {
	st := &sc.e.stats
	st.running.Store(int64(len(sc.running)))
	st.waiting.Store(int64(len(sc.waiting)))
	st.used.Store(int64(sc.cache.Used()))
	st.cached.Store(int64(sc.cache.Cached()))
	if d := sc.e.drafts; d != nil {
		st.draftUsed.Store(int64(d.cache.Used()))
	}
}
