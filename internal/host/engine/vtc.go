package engine

import (
	"crypto/sha256"
	"encoding/binary"
)

// Fair share across tenants: the Virtual Token Counter (VTC) of Sheng et al., "Fairness in Serving Large
// Language Models" (OSDI '24), Algorithm 2.
//
// Each tenant (Request.Tenant; "" is one tenant like any other) has a counter of the service it has
// received: every prompt token the model computes for it adds inputWeight, every generated token
// outputWeight. The scheduler spends the counters in two places: when a running place frees it admits the
// waiting sequence of the tenant with the smallest counter (first come, first served within a tenant), and
// when several sequences prefill it takes their prompt chunks in counter order. The per-step policy stays
// as it was: every generating sequence gets its token first. Equal counters are common, since the lift
// below sets a returning tenant's counter to another's: the paper leaves ties open, and the scheduler
// gives them to the tenant with fewer running sequences, then to the earlier arrival.
//
// A tenant that becomes backlogged (submits a request while none of its sequences waits) has its counter
// lifted to the smallest counter of the tenants that have a waiting sequence, as in the paper; when none
// waits, to the smallest of those with a running one, and when nothing runs either, to the counter of the
// tenant that went idle last (the paper's reference code does not lift then, so a newcomer to a busy engine
// would start at zero and be first until it had caught up with everyone's history). Time spent idle is
// therefore not banked as credit, while a tenant that was served more than the others keeps that debt.
//
// Counters advance in scheduler.step, by the positions each step computes: the paper counts the service
// actually delivered. Prompt tokens found in the prefix cache are not computed and not charged. A
// preempted sequence's recompute is not charged either (sequence.charged marks what was): the tenant
// received those tokens once, and the preemption was the scheduler's choice, whose victim (the newest
// admission) is often the light tenant the counters have just let in. Tokens a policy takes back and
// replaces are new tokens, and charged again.
//
// A tenant is kept while it has unfinished requests, and after that only while its counter is above the
// lift level: coming back, it would be lifted to that anyway. The table holds the active tenants and the
// idle ones still in debt, not every tenant ever seen.

// Weights of the service counters: w_p = 1 and w_q = 2, as in the paper's evaluation and its reference
// code, and about the ratio at which hosted APIs bill input and output tokens. A generated token costs more
// than a prompt token: each takes a forward step of its own, where a prompt is computed many tokens to a
// step. The true ratio depends on the model and the batch, so the weights are a convention, not a cost
// model; weighting output keeps a tenant of long answers from taking more than one of long prompts.
const (
	inputWeight  = 1 // per prompt token computed (w_p)
	outputWeight = 2 // per generated token computed (w_q)
)

// tenant is one tenant's share of the engine, as the scheduler keeps it.
type tenant struct {
	served int64  // the virtual token counter: weighted tokens computed for the tenant
	active int    // requests submitted and not finished
	ns     uint64 // the prefix-cache namespace of the tenant's prompts
}

// tenants is the scheduler's table of tenants. Only the scheduler goroutine touches it.
type tenants struct {
	byName map[string]*tenant
	base   uint64 // the engine's prefix-cache namespace
	last   int64  // the counter of the tenant that went idle last
}

// newTenants makes an empty table for an engine whose prefix-cache namespace is base.
func newTenants(base uint64) tenants {
	return tenants{byName: map[string]*tenant{}, base: base}
}

// join counts a new request of the tenant called name and returns the tenant, made on its first request.
func (ts *tenants) join(name string) *tenant {
	t := ts.byName[name]
	if t == nil {
		t = &tenant{ns: tenantNamespace(ts.base, name)}
		ts.byName[name] = t
	}
	t.active++
	return t
}

// arrive applies the paper's lift to t, whose request has just been submitted, before it joins waiting:
// a tenant with no waiting sequence is backlogged anew and starts no lower than floor.
func (ts *tenants) arrive(t *tenant, waiting, running []*sequence) {
	for _, s := range waiting {
		if s.req.tenant == t {
			return
		}
	}
	t.served = max(t.served, ts.floor(waiting, running))
}

// leave counts one request of t finished, once its sequences have left waiting and running. A tenant left
// with none becomes the last to go idle, and idle tenants at or below the lift level are forgotten.
func (ts *tenants) leave(t *tenant, waiting, running []*sequence) {
	if t.active--; t.active > 0 {
		return
	}
	ts.last = t.served
	floor := ts.floor(waiting, running)
	for name, u := range ts.byName {
		if u.active == 0 && u.served <= floor {
			delete(ts.byName, name)
		}
	}
}

// floor is the counter a newly backlogged tenant is lifted to: the smallest counter of the tenants with a
// waiting sequence, else of those with a running one, else that of the tenant that went idle last.
func (ts *tenants) floor(waiting, running []*sequence) int64 {
	if c, ok := leastServed(waiting); ok {
		return c
	}
	if c, ok := leastServed(running); ok {
		return c
	}
	return ts.last
}

// leastServed is the smallest counter among the tenants of seqs; false when seqs is empty.
func leastServed(seqs []*sequence) (int64, bool) {
	if len(seqs) == 0 {
		return 0, false
	}
	c := seqs[0].req.tenant.served
	for _, s := range seqs[1:] {
		c = min(c, s.req.tenant.served)
	}
	return c, true
}

// nextAdmission is the index in waiting of the sequence to admit next, among those not with their worker:
// the first of the tenant with the smallest counter, of the one with fewer sequences in running between
// equal counters; -1 when there is none.
func nextAdmission(waiting, running []*sequence) int {
	best := -1
	for i, s := range waiting {
		if s.busy {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		t, b := s.req.tenant, waiting[best].req.tenant
		if t.served < b.served || t.served == b.served && t != b && runningOf(t, running) < runningOf(b, running) {
			best = i
		}
	}
	return best
}

// runningOf counts the sequences of t in running.
func runningOf(t *tenant, running []*sequence) int {
	n := 0
	for _, s := range running {
		if s.req.tenant == t {
			n++
		}
	}
	return n
}

// prefillOrder orders sequences with prompt chunks to compute: the tenant with the smallest counter
// first, then the earliest admitted.
func prefillOrder(a, b *sequence) int {
	if ca, cb := a.req.tenant.served, b.req.tenant.served; ca != cb {
		if ca < cb {
			return -1
		}
		return 1
	}
	if a.age < b.age {
		return -1
	}
	if a.age > b.age {
		return 1
	}
	return 0
}

// charge adds to s's tenant the positions from..to of s that a step has just computed, less those
// charged before (a recompute after preemption): prompt positions at inputWeight, the rest at
// outputWeight.
func charge(s *sequence, from, to int) {
	from = max(from, s.charged)
	if from >= to {
		return
	}
	in := max(0, min(to, s.prompt)-from)
	out := to - from - in
	s.req.tenant.served += int64(in*inputWeight + out*outputWeight)
	s.charged = to
}

// tenantNamespace is the prefix-cache namespace of a tenant's prompts: the engine's own for tenant "",
// otherwise one derived from it and the name, so that no tenant ever hits another's prompt in the cache (a
// hit shows in the time to first token, which is how prompt-stealing attacks read other users' prompts).
// SHA-256 keeps a chosen tenant name from landing on another tenant's namespace.
func tenantNamespace(base uint64, name string) uint64 {
	if name == "" {
		return base
	}
	h := sha256.New()
	h.Write(binary.LittleEndian.AppendUint64(nil, base))
	h.Write([]byte(name))
	return binary.LittleEndian.Uint64(h.Sum(nil))
}
