package edge

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/tenant"
)

// quotaWindow is what the per-minute limits are per.
const quotaWindow = time.Minute

// bucket is a token bucket for one per-minute limit: it holds up to limit units and refills continuously
// at limit per minute, so a tenant may spend a whole minute's worth at once and then limit/60 per second.
// The level goes below zero when a generation used more tokens than it reserved (a policy's forks); the
// tenant then waits until the debt is repaid.
type bucket struct {
	level float64   // units available at last
	last  time.Time // when level was brought up to date; zero: never used, so full
}

// refill brings the level up to now under limit.
func (b *bucket) refill(limit int, now time.Time) {
	if b.last.IsZero() {
		b.level, b.last = float64(limit), now
		return
	}
	if d := now.Sub(b.last); d > 0 {
		b.level += float64(d) * float64(limit) / float64(quotaWindow)
		b.last = now
	}
	b.level = min(b.level, float64(limit))
}

// wait is how long until the level reaches n units under limit; 0 when it has.
func (b *bucket) wait(n, limit int) time.Duration {
	if b.level >= float64(n) {
		return 0
	}
	return time.Duration(math.Ceil((float64(n) - b.level) * float64(quotaWindow) / float64(limit)))
}

// remaining is the whole units available.
func (b *bucket) remaining() int { return max(0, int(b.level)) }

// used is the units spent in the last minute, as OpenAI's 429 messages count them.
func (b *bucket) used(limit int) int { return int(math.Ceil(float64(limit) - b.level)) }

// quota is one tenant's use of its limits. Its lock is held only for a few arithmetic steps.
type quota struct {
	mu       sync.Mutex
	requests bucket
	tokens   bucket
	inflight int // generations admitted and not yet ended
}

// quotas holds every tenant's quota, by name. Its lock guards the map only; a tenant's quota outlives
// changes to the tenant (a new key or new limits) and goes with its deletion.
type quotas struct {
	now    func() time.Time
	mu     sync.RWMutex
	byName map[string]*quota
}

// newQuotas returns an empty set of quotas on the clock now (nil: time.Now).
func newQuotas(now func() time.Time) *quotas {
	if now == nil {
		now = time.Now
	}
	return &quotas{now: now, byName: map[string]*quota{}}
}

// of returns the quota of the tenant called name, making it on first use.
func (qs *quotas) of(name string) *quota {
	qs.mu.RLock()
	q := qs.byName[name]
	qs.mu.RUnlock()
	if q != nil {
		return q
	}
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if q = qs.byName[name]; q == nil {
		q = &quota{}
		qs.byName[name] = q
	}
	return q
}

// forget drops a deleted tenant's quota.
func (qs *quotas) forget(name string) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	delete(qs.byName, name)
}

// admission is a generation's hold on its tenant's quota: a slot in flight and the tokens it reserved.
// The zero admission (no tenant) holds nothing.
type admission struct {
	q          *quota
	now        func() time.Time
	tokenLimit int // tokens per minute when admitted; 0: no token limit, nothing to correct
	reserved   int // tokens taken at admission
	prompt     int
}

// admit takes one request, its reservation (the prompt plus every token it may generate) and a slot in
// flight from tenant t's limits, or takes nothing and says which limit refuses it and for how long: the
// longest wait of the limits it is over (a slot in flight: 1 second, as when one frees is unknown).
func (qs *quotas) admit(t *tenant.Tenant, prompt, reserve int) (admission, *apiError, time.Duration) {
	l := &t.Limits
	q := qs.of(t.Name)
	q.mu.Lock()
	defer q.mu.Unlock()
	if e, wait := q.over(t, reserve, qs.now()); e != nil {
		return admission{}, e, wait
	}
	q.inflight++
	if l.RequestsPerMinute > 0 {
		q.requests.level--
	}
	a := admission{q: q, now: qs.now}
	if l.TokensPerMinute > 0 {
		q.tokens.level -= float64(reserve)
		a.tokenLimit, a.reserved, a.prompt = l.TokensPerMinute, reserve, prompt
	}
	return a, nil, 0
}

// precheck refuses, taking nothing, a request of tenant t that admit would refuse whatever its size (a
// slot, a request, or the tokens bucket empty or in debt): checked before the request is decoded,
// templated and tokenized and its plugin loaded, so a tenant over its limits costs the node no work.
func (qs *quotas) precheck(t *tenant.Tenant) (*apiError, time.Duration) {
	q := qs.of(t.Name)
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.over(t, 0, qs.now())
}

// over says which of t's limits refuses a request reserving reserve tokens now, and for how long; nil
// when none does. The caller holds q.mu.
func (q *quota) over(t *tenant.Tenant, reserve int, now time.Time) (*apiError, time.Duration) {
	l := &t.Limits
	var e *apiError
	var wait time.Duration
	if l.MaxConcurrent > 0 && q.inflight >= l.MaxConcurrent {
		e, wait = rateLimited("concurrent_requests", "Too many requests in flight for tenant %q: Limit %d concurrent requests. "+
			"Retry when one of them has ended.", t.Name, l.MaxConcurrent), time.Second
	}
	if l.RequestsPerMinute > 0 {
		q.requests.refill(l.RequestsPerMinute, now)
		if w := q.requests.wait(1, l.RequestsPerMinute); w > wait {
			e, wait = rateLimited("requests", "Rate limit reached for tenant %q on requests per min (RPM): Limit %d, Used %d, "+
				"Requested 1. Please try again in %s.", t.Name, l.RequestsPerMinute, q.requests.used(l.RequestsPerMinute), retryIn(w)), w
		}
	}
	if l.TokensPerMinute > 0 {
		q.tokens.refill(l.TokensPerMinute, now)
		if w := q.tokens.wait(reserve, l.TokensPerMinute); w > wait {
			e, wait = rateLimited("tokens", "Rate limit reached for tenant %q on tokens per min (TPM): Limit %d, Used %d, "+
				"Requested %d. Please try again in %s.", t.Name, l.TokensPerMinute, q.tokens.used(l.TokensPerMinute), reserve, retryIn(w)), w
		}
	}
	return e, wait
}

// release ends the admission once its generation has ended, having generated completion tokens: its
// slot frees, and its reservation is corrected to what it used (the prompt and the completion): the
// unused part comes back, or a generation that used more (a policy forked it) leaves the bucket in debt.
func (a admission) release(completion int) {
	if a.q == nil {
		return
	}
	a.q.mu.Lock()
	defer a.q.mu.Unlock()
	a.q.inflight--
	if a.tokenLimit > 0 {
		a.q.tokens.refill(a.tokenLimit, a.now())
		a.q.tokens.level = min(a.q.tokens.level+float64(a.reserved-a.prompt-completion), float64(a.tokenLimit))
	}
}

// rateLimited is a 429 in OpenAI's shape: type names the limit ("requests", "tokens"), code
// "rate_limit_exceeded".
func rateLimited(kind, format string, args ...any) *apiError {
	return &apiError{Status: fasthttp.StatusTooManyRequests, Type: kind, Code: "rate_limit_exceeded", Message: fmt.Sprintf(format, args...)}
}

// retryIn writes a wait as the 429 message and the reset headers do.
func retryIn(d time.Duration) string { return string(appendDuration(nil, d)) }

// writeLimited answers a request over a limit: the 429 and Retry-After, in whole seconds, at least 1.
func writeLimited(ctx *fasthttp.RequestCtx, e *apiError, wait time.Duration) {
	writeError(ctx, e)
	var b [20]byte
	secs := max(1, int64(math.Ceil(wait.Seconds())))
	ctx.Response.Header.SetBytesV(fasthttp.HeaderRetryAfter, strconv.AppendInt(b[:0], secs, 10))
}

// headers writes OpenAI's rate-limit headers for tenant t's per-minute limits as they stand: the limit,
// what remains, and how long until it is whole again. A limit of 0 (none) has no headers.
func (qs *quotas) headers(h *fasthttp.ResponseHeader, t *tenant.Tenant) {
	l := &t.Limits
	if l.RequestsPerMinute == 0 && l.TokensPerMinute == 0 {
		return
	}
	q := qs.of(t.Name)
	now := qs.now()
	q.mu.Lock()
	req := q.requests.state(l.RequestsPerMinute, now)
	tok := q.tokens.state(l.TokensPerMinute, now)
	q.mu.Unlock()
	req.write(h, "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests")
	tok.write(h, "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens")
}

// limitState is where a per-minute limit stands, as the rate-limit headers tell it.
type limitState struct {
	limit, remaining int
	reset            time.Duration // until the bucket is full
}

// state brings the bucket up to now and tells where it stands; a limit of 0 (none) has no state.
func (b *bucket) state(limit int, now time.Time) limitState {
	if limit == 0 {
		return limitState{}
	}
	b.refill(limit, now)
	return limitState{limit: limit, remaining: b.remaining(), reset: b.wait(limit, limit)}
}

// write sets the three headers of a limit, unless it has none.
func (st limitState) write(h *fasthttp.ResponseHeader, limit, remaining, reset string) {
	if st.limit == 0 {
		return
	}
	var b [32]byte
	h.SetBytesV(limit, strconv.AppendInt(b[:0], int64(st.limit), 10))
	h.SetBytesV(remaining, strconv.AppendInt(b[:0], int64(st.remaining), 10))
	h.SetBytesV(reset, appendDuration(b[:0], st.reset))
}

// appendDuration appends d, rounded up to the millisecond, as time.Duration.String writes it ("20ms",
// "1.5s", "6m0s"), which is how OpenAI writes its x-ratelimit-reset-* headers; it does not allocate.
func appendDuration(b []byte, d time.Duration) []byte {
	ms := int64((d + time.Millisecond - 1) / time.Millisecond)
	switch {
	case d <= 0 || ms == 0:
		return append(b, "0s"...)
	case ms < 1000:
		return append(strconv.AppendInt(b, ms, 10), "ms"...)
	}
	h, m, s, frac := ms/3_600_000, ms/60_000%60, ms/1000%60, ms%1000
	if h > 0 {
		b = append(strconv.AppendInt(b, h, 10), 'h')
	}
	if h > 0 || m > 0 {
		b = append(strconv.AppendInt(b, m, 10), 'm')
	}
	b = strconv.AppendInt(b, s, 10)
	if frac > 0 {
		digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
		n := 3
		for digits[n-1] == '0' {
			n--
		}
		b = append(append(b, '.'), digits[:n]...)
	}
	return append(b, 's')
}

// admit admits job j under its caller's limits (none for no tenant), or answers the request with the
// limit's refusal and reports false.
func (s *Server) admit(ctx *fasthttp.RequestCtx, j *job) (admission, bool) {
	t := tenantOf(ctx)
	if t == nil {
		return admission{}, true
	}
	reserve := reservation(j)
	if t.TokensPerMinute > 0 && reserve > t.TokensPerMinute {
		writeError(ctx, tooLarge(t, j, reserve))
		return admission{}, false
	}
	a, e, wait := s.quotas.admit(t, len(j.prompt), reserve)
	if e != nil {
		writeLimited(ctx, e, wait)
		return a, false
	}
	return a, true
}

// reservation is what a job may use of its tenant's tokens per minute: its prompt and every token its
// choices may generate (max_tokens each, or up to the context's end).
func reservation(j *job) int {
	prompt, out := len(j.prompt), j.gen.maxTokens
	if n := j.model.info.ContextLength; n > 0 && (out <= 0 || out > n-prompt) {
		out = n - prompt
	}
	return prompt + max(j.gen.n, 1)*max(out, 0)
}

// tooLarge is the 400 of a request whose reservation exceeds its tenant's tokens per minute: no wait
// would let it run. param is the field to lower: max_tokens, or the prompt when it alone is too long.
func tooLarge(t *tenant.Tenant, j *job, reserve int) *apiError {
	param := "max_tokens"
	if len(j.prompt) > t.TokensPerMinute {
		param = j.param
	}
	return &apiError{Status: fasthttp.StatusBadRequest, Type: typeInvalidRequest, Param: param, Code: "tokens_per_minute_exceeded",
		Message: fmt.Sprintf("this request may use %d tokens (a %d-token prompt and max_tokens for each choice), more than "+
			"tenant %q's %d tokens per minute; lower %s", reserve, len(j.prompt), t.Name, t.TokensPerMinute, param)}
}

// capMaxTokens applies tenant t's max_tokens limit to a request's generation: a request that asks for more
// is refused (400, naming the field it asked with), and one that asks nothing gets the smaller of the
// node's default and the limit.
func capMaxTokens(t *tenant.Tenant, c *commonRequest, g *generation) *apiError {
	if t == nil || t.MaxTokens == 0 {
		return nil
	}
	field, asked := "max_completion_tokens", c.MaxCompletionTokens // it wins over max_tokens
	if asked == nil {
		field, asked = "max_tokens", c.MaxTokens
	}
	switch {
	case asked == nil:
		if g.maxTokens <= 0 || g.maxTokens > t.MaxTokens {
			g.maxTokens = t.MaxTokens
		}
	case *asked > t.MaxTokens:
		return badRequest(field, "%s is %d; tenant %q may ask for at most %d", field, *asked, t.Name, t.MaxTokens)
	}
	return nil
}
