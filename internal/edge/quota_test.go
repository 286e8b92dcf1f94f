package edge

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/tenant"
)

// appendDuration writes what time.Duration.String writes for the duration rounded up to the millisecond.
func TestAppendDuration(t *testing.T) {
	check := func(d time.Duration) {
		t.Helper()
		want := ((d + time.Millisecond - 1) / time.Millisecond * time.Millisecond).String()
		if d <= 0 {
			want = "0s"
		}
		if got := string(appendDuration(nil, d)); got != want {
			t.Errorf("%d ns: %q, want %q", int64(d), got, want)
		}
	}
	for _, d := range []time.Duration{0, -time.Second, 1, time.Millisecond, 999 * time.Millisecond, time.Second, 1500 * time.Millisecond,
		time.Second + 10*time.Millisecond, time.Minute, 6 * time.Minute, time.Hour, 25*time.Hour + 61*time.Second + 7*time.Millisecond} {
		check(d)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		check(time.Duration(rng.Int64N(int64(3 * time.Hour))))
	}
}

// A tenant's quota bookkeeping allocates nothing once the tenant has been seen.
func TestQuotaAllocs(t *testing.T) {
	qs := newQuotas(nil)
	ten := &tenant.Tenant{Name: "acme", Limits: tenant.Limits{RequestsPerMinute: 1 << 30, TokensPerMinute: 1 << 30, MaxConcurrent: 4}}
	var h fasthttp.ResponseHeader
	step := func() {
		a, e, _ := qs.admit(ten, 10, 100)
		if e != nil {
			t.Fatal(e)
		}
		a.release(5)
		qs.headers(&h, ten)
	}
	step()
	if n := testing.AllocsPerRun(100, step); n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}

// rateHeaders are the x-ratelimit-* headers of one kind ("requests" or "tokens"): limit, remaining, reset.
func rateHeaders(h http.Header, kind string) [3]string {
	return [3]string{h.Get("x-ratelimit-limit-" + kind), h.Get("x-ratelimit-remaining-" + kind), h.Get("x-ratelimit-reset-" + kind)}
}

// requests_per_minute: a bucket of 3 that refills one request every 20 s. The headers count down and the
// fourth request in a minute gets 429 with Retry-After until the bucket has refilled.
func TestRequestsPerMinute(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	_, url := startTenants(t, acme(tenant.Limits{RequestsPerMinute: 3}), clock, &fakeModel{pieces: []string{"hi"}})
	gen := url + "/v1/completions"
	for i, want := range [][3]string{{"3", "2", "20s"}, {"3", "1", "40s"}, {"3", "0", "1m0s"}} {
		r := httpCall(t, "POST", gen, "acme-key", completion1)
		if got := rateHeaders(r.header, "requests"); r.status != 200 || got != want {
			t.Errorf("request %d: %d, headers %q, want %q", i, r.status, got, want)
		}
		if got := rateHeaders(r.header, "tokens"); got != [3]string{} {
			t.Errorf("tokens headers without a token limit: %q", got)
		}
	}
	r := httpCall(t, "POST", gen, "acme-key", completion1)
	e := r.apiErr(t, 429)
	if e.Type != "requests" || str(e.Code) != "rate_limit_exceeded" || r.header.Get("Retry-After") != "20" ||
		!strings.Contains(e.Message, "Limit 3, Used 3, Requested 1. Please try again in 20s.") {
		t.Errorf("over the limit: %+v, Retry-After %q", e, r.header.Get("Retry-After"))
	}
	if got := rateHeaders(r.header, "requests"); got != [3]string{"3", "0", "1m0s"} {
		t.Errorf("429's headers %q", got)
	}
	// A route that generates nothing shows the limits without using them.
	if r := httpCall(t, "GET", url+"/v1/models", "acme-key", ""); r.status != 200 || rateHeaders(r.header, "requests") != [3]string{"3", "0", "1m0s"} {
		t.Errorf("/v1/models: %d %q", r.status, rateHeaders(r.header, "requests"))
	}

	clock.advance(20 * time.Second) // one request back
	if r := httpCall(t, "POST", gen, "acme-key", completion1); r.status != 200 || rateHeaders(r.header, "requests") != [3]string{"3", "0", "1m0s"} {
		t.Errorf("after 20 s: %d %q %s", r.status, rateHeaders(r.header, "requests"), r.body)
	}
	clock.advance(19500 * time.Millisecond) // 0.975 of a request back
	r = httpCall(t, "POST", gen, "acme-key", completion1)
	if r.apiErr(t, 429); r.header.Get("Retry-After") != "1" || rateHeaders(r.header, "requests") != [3]string{"3", "0", "40.5s"} {
		t.Errorf("half a second short: Retry-After %q, headers %q", r.header.Get("Retry-After"), rateHeaders(r.header, "requests"))
	}
	// The admin key is no tenant: no limits, no headers.
	if r := httpCall(t, "POST", gen, "root", completion1); r.status != 200 || r.header.Get("x-ratelimit-limit-requests") != "" {
		t.Errorf("admin: %d %v", r.status, r.header)
	}
}

// tokens_per_minute: a request reserves its prompt and max_tokens for each choice, and gives back what
// it did not use once it ends, streamed or not; one that could never fit is a 400.
func TestTokensPerMinute(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	m := &fakeModel{info: engine.ModelInfo{ContextLength: 4096}, pieces: []string{"a", "b", "c", "d"}}
	_, url := startTenants(t, acme(tenant.Limits{TokensPerMinute: 100}), clock, m)
	gen := url + "/v1/completions"
	// 2 prompt tokens + 4 generated: 6 used, refilled at 100 a minute (0.6 s each).
	steps := []struct {
		body string
		want [3]string
	}{
		{`{"prompt":"x y","max_tokens":10}`, [3]string{"100", "94", "3.6s"}},
		{`{"prompt":"x y","max_tokens":90}`, [3]string{"100", "88", "7.2s"}}, // reserves 92 of 94
		{`{"prompt":"x y","max_tokens":8,"stream":true}`, [3]string{"100", "78", "13.2s"}},
	}
	for i, s := range steps {
		r := httpCall(t, "POST", gen, "acme-key", s.body)
		if got := rateHeaders(r.header, "tokens"); r.status != 200 || got != s.want {
			t.Errorf("step %d: %d, headers %q, want %q: %s", i, r.status, got, s.want, r.body)
		}
	}
	// The stream's headers went out with its reservation (10 tokens); its end gave back 4.
	if r := httpCall(t, "GET", url+"/v1/models", "acme-key", ""); rateHeaders(r.header, "tokens") != [3]string{"100", "82", "10.8s"} {
		t.Errorf("after the stream: %q", rateHeaders(r.header, "tokens"))
	}
	// 2 + 2 choices × 45 = 92 > 82: 10 tokens short, 6 s.
	r := httpCall(t, "POST", gen, "acme-key", `{"prompt":"x y","max_tokens":45,"n":2}`)
	e := r.apiErr(t, 429)
	if e.Type != "tokens" || str(e.Code) != "rate_limit_exceeded" || r.header.Get("Retry-After") != "6" ||
		!strings.Contains(e.Message, "Limit 100, Used 18, Requested 92. Please try again in 6s.") {
		t.Errorf("over the token limit: %+v, Retry-After %q", e, r.header.Get("Retry-After"))
	}
	clock.advance(6 * time.Second)
	if r := httpCall(t, "POST", gen, "acme-key", `{"prompt":"x y","max_tokens":45,"n":2}`); r.status != 200 {
		t.Errorf("after 6 s: %d %s", r.status, r.body)
	}
	// 2 + 99 can never fit in 100.
	e = httpCall(t, "POST", gen, "acme-key", `{"prompt":"x y","max_tokens":99}`).apiErr(t, 400)
	if str(e.Param) != "max_tokens" || str(e.Code) != "tokens_per_minute_exceeded" {
		t.Errorf("a request larger than the limit: %+v", e)
	}
	e = httpCall(t, "POST", gen, "acme-key", `{"prompt":"`+strings.Repeat("w ", 101)+`","max_tokens":1}`).apiErr(t, 400)
	if str(e.Param) != "prompt" {
		t.Errorf("a prompt larger than the limit: %+v", e)
	}
}

// inflight is how many of the tenant's generations are running.
func inflight(s *Server, name string) int {
	q := s.quotas.of(name)
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.inflight
}

// waitInflight waits until the tenant has n generations running.
func waitInflight(t *testing.T, s *Server, name string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for inflight(s, name) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d generations in flight, want %d", inflight(s, name), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// max_concurrent: a request past the limit gets 429 while the others run; a slot frees when a stream
// ends and when a client leaves.
func TestMaxConcurrent(t *testing.T) {
	m := &fakeModel{pieces: []string{"hi"}, queued: make(chan struct{})}
	s, url := startTenants(t, acme(tenant.Limits{MaxConcurrent: 1}), nil, m)
	gen := url + "/v1/completions"

	streamed := make(chan string) // the stream's body, or what went wrong
	go func() {
		req, _ := http.NewRequest("POST", gen, strings.NewReader(`{"prompt":"x","max_tokens":1,"stream":true}`))
		req.Header.Set("Authorization", "Bearer acme-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			streamed <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		streamed <- resp.Status + "\n" + string(b)
	}()
	waitInflight(t, s, "acme", 1)
	r := httpCall(t, "POST", gen, "acme-key", completion1)
	if e := r.apiErr(t, 429); e.Type != "concurrent_requests" || str(e.Code) != "rate_limit_exceeded" || r.header.Get("Retry-After") != "1" {
		t.Errorf("second request in flight: %+v, Retry-After %q", e, r.header.Get("Retry-After"))
	}
	// The limit is checked before any work: a request it refuses is not even decoded (a malformed body
	// gets the 429, not a 400), nor its plugin loaded.
	for _, body := range []string{`{"prompt":`, `{"prompt":"x","plugin":"nope"}`} {
		if e := httpCall(t, "POST", gen, "acme-key", body).apiErr(t, 429); e.Type != "concurrent_requests" {
			t.Errorf("%s over the limit: %+v", body, e)
		}
	}
	close(m.queued)
	if r := <-streamed; !strings.HasPrefix(r, "200 OK\n") || !strings.HasSuffix(r, "data: [DONE]\n\n") {
		t.Fatalf("the stream: %s", r)
	}
	waitInflight(t, s, "acme", 0)
	if r := httpCall(t, "POST", gen, "acme-key", completion1); r.status != 200 {
		t.Errorf("after the stream ended: %d %s", r.status, r.body)
	}

	m.queued = make(chan struct{}) // the next generation waits again, until its client leaves
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", gen, strings.NewReader(completion1))
	req.Header.Set("Authorization", "Bearer acme-key")
	left := make(chan error)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		left <- err
	}()
	waitInflight(t, s, "acme", 1)
	cancel()
	<-left
	waitInflight(t, s, "acme", 0)
	close(m.queued)
	if r := httpCall(t, "POST", gen, "acme-key", completion1); r.status != 200 {
		t.Errorf("after the client left: %d %s", r.status, r.body)
	}
}

// max_tokens: a request may ask up to the tenant's limit (400 past it, naming the field it used), one
// that asks nothing gets the limit instead of the node's larger default, and the engine request is billed
// to the tenant.
func TestTenantMaxTokens(t *testing.T) {
	m := &fakeModel{pieces: []string{"hi"}}
	_, url := startTenants(t, acme(tenant.Limits{MaxTokens: 5}), nil, m)
	gen := url + "/v1/chat/completions"
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	for _, c := range []struct {
		key, body string
		param     string // of the 400; "" for success
		max       int    // the engine request's MaxTokens
		tenant    string
	}{
		{"acme-key", `{` + msgs + `,"max_tokens":6}`, "max_tokens", 0, ""},
		{"acme-key", `{` + msgs + `,"max_tokens":1,"max_completion_tokens":6}`, "max_completion_tokens", 0, ""},
		{"acme-key", `{` + msgs + `,"max_tokens":5}`, "", 5, "acme"},
		{"acme-key", `{` + msgs + `,"max_tokens":9,"max_completion_tokens":3}`, "", 3, "acme"},
		{"acme-key", `{` + msgs + `}`, "", 5, "acme"},
		{"root", `{` + msgs + `}`, "", DefaultConfig().DefaultMaxTokens, ""},
	} {
		r := httpCall(t, "POST", gen, c.key, c.body)
		if c.param != "" {
			if e := r.apiErr(t, 400); str(e.Param) != c.param {
				t.Errorf("%s: param %q, want %q", c.body, str(e.Param), c.param)
			}
			continue
		}
		// The engine knows a tenant by its ID: the name, then which tenant of that name.
		if req := m.lastRequest(); r.status != 200 || req.MaxTokens != c.max || strings.Split(req.Tenant, "#")[0] != c.tenant {
			t.Errorf("%s as %s: %d, engine request MaxTokens %d Tenant %q, want %d %q", c.body, c.key, r.status, req.MaxTokens, req.Tenant, c.max, c.tenant)
		}
	}
}

// The 429 body decodes as OpenAI's error shape (the type naming the limit).
func TestRateLimitedBody(t *testing.T) {
	var v struct {
		Error errorJSON `json:"error"`
	}
	e := rateLimited("tokens", "Rate limit reached for tenant %q", "a\"b")
	if err := json.Unmarshal(appendError(nil, e), &v); err != nil || v.Error.Type != "tokens" || str(v.Error.Code) != "rate_limit_exceeded" ||
		v.Error.Message != `Rate limit reached for tenant "a\"b"` || v.Error.Param != nil || e.Status != 429 {
		t.Errorf("%s: %v", appendError(nil, e), err)
	}
}
