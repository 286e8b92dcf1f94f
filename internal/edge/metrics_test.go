package edge

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"
	"github.com/valyala/fasthttp"
	"google.golang.org/protobuf/proto"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// cacheModel is a fakeModel with a prefix cache and an engine's gauges: a request's cached tokens are
// its prompt's longest common prefix with an earlier prompt's (none, and nothing kept, with
// cache_prompt false), and Stats answers what stats holds at the time.
type cacheModel struct {
	*fakeModel
	mu      sync.Mutex
	prompts [][]int32
	stats   engine.Stats
}

func (c *cacheModel) Generate(ctx context.Context, req engine.Request, emit func(engine.Piece) error) (engine.Result, error) {
	cached := 0
	c.mu.Lock()
	if !req.NoPromptCache {
		for _, p := range c.prompts {
			n := 0
			for n < len(p) && n < len(req.Prompt) && p[n] == req.Prompt[n] {
				n++
			}
			cached = max(cached, n)
		}
		c.prompts = append(c.prompts, req.Prompt)
	}
	c.mu.Unlock()
	res, err := c.fakeModel.Generate(ctx, req, emit)
	res.CachedTokens = cached
	return res, err
}

func (c *cacheModel) Stats() engine.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *cacheModel) setStats(st engine.Stats) {
	c.mu.Lock()
	c.stats = st
	c.mu.Unlock()
}

// request sends a request over HTTP and returns its status and whole body (a stream read to its end).
func request(t *testing.T, method, url, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// complete posts a completion that must succeed.
func complete(t *testing.T, url, body string) {
	t.Helper()
	if status, _, b := request(t, "POST", url+"/v1/completions", body); status != 200 {
		t.Fatalf("%s: %d %s", body, status, b)
	}
}

// parseMetrics parses Prometheus' text format, with the classic name rules (the endpoint picker's parser
// and older scrapers know no other).
func parseMetrics(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(prommodel.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, text)
	}
	return fams
}

// scrape reads a server's /metrics over HTTP.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	status, h, text := request(t, "GET", url+"/metrics", "")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d, Content-Type %q", status, h.Get("Content-Type"))
	}
	return parseMetrics(t, text)
}

// series is family name's one series whose labels have the given values (name, value, name, value…; an
// absent label is ""); the test fails unless there is exactly one.
func series(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	t.Helper()
	var found []*dto.Metric
	for _, m := range fams[name].GetMetric() {
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			v := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] {
					v = l.GetValue()
				}
			}
			ok = ok && v == labels[i+1]
		}
		if ok {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%q: %d series, want 1", name, labels, len(found))
	}
	return found[0]
}

// counter is a counter's value, gauge a gauge's, count a histogram's number of observations.
func counter(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	return series(t, fams, name, labels...).GetCounter().GetValue()
}

func gauge(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	return series(t, fams, name, labels...).GetGauge().GetValue()
}

func count(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) uint64 {
	t.Helper()
	return series(t, fams, name, labels...).GetHistogram().GetSampleCount()
}

// TestMetrics sends known traffic over HTTP and reads /metrics back: token counters, prefix-cache queries
// and hits in tokens, successes by finish reason and the latency histograms' counts are exactly what the
// requests make; the engine's gauges are read at each scrape; a request that times out in the queue is
// an abort that processed no prompt.
func TestMetrics(t *testing.T) {
	m := &cacheModel{fakeModel: &fakeModel{pieces: []string{"a", "b", "STOP", "d"}, finish: engine.FinishStop}}
	m.setStats(engine.Stats{Running: 2, Waiting: 1, KVBlocksUsed: 3, KVBlocksTotal: 12, KVBlockTokens: 16, Preemptions: 5})
	_, url := startServer(t, DefaultConfig(), m)
	begin := time.Now()
	complete(t, url, `{"prompt":[1,2,3,4,5,6],"max_tokens":2}`)                   // 6 prompt, 2 generated, length
	complete(t, url, `{"prompt":[1,2,3,4,5,6,7,8],"max_tokens":3,"stream":true}`) // 8, 6 of them cached; 3, length
	complete(t, url, `{"prompt":[9,9,9],"stop":["STOP"]}`)                        // 3; the stop string at the 3rd token
	complete(t, url, `{"prompt":[1,2,3],"max_tokens":1,"cache_prompt":false}`)    // 3, no cache query; 1, length
	if status, _, _ := request(t, "POST", url+"/v1/completions", `{"model":"other","prompt":[1]}`); status != 404 {
		t.Fatalf("unknown model: %d", status) // refused before it runs: counted nowhere
	}
	took := time.Since(begin).Seconds()

	f := scrape(t, url)
	model := []string{"model_name", "fake", "tenant", ""}
	for _, c := range []struct {
		name string
		want float64
	}{
		{"wasmoe:prompt_tokens_total", 6 + 8 + 3 + 3},
		{"wasmoe:generation_tokens_total", 2 + 3 + 3 + 1},
		{"wasmoe:prefix_cache_queries_total", 6 + 8 + 3},
		{"wasmoe:prefix_cache_hits_total", 6},
	} {
		if got := counter(t, f, c.name, model...); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	for reason, want := range map[string]float64{"length": 3, "stop": 1, "abort": 0} {
		if got := counter(t, f, "wasmoe:request_success_total", append(model, "finished_reason", reason)...); got != want {
			t.Errorf("request_success_total{finished_reason=%q} = %v, want %v", reason, got, want)
		}
	}
	// Every request that ran has a first token and an end; the tokens after the first, 1+2+2, are gaps.
	for name, want := range map[string]uint64{"wasmoe:time_to_first_token_seconds": 4, "wasmoe:inter_token_latency_seconds": 5,
		"wasmoe:e2e_request_latency_seconds": 4} {
		h := series(t, f, name, model...).GetHistogram()
		if h.GetSampleCount() != want || h.GetSampleSum() <= 0 || h.GetSampleSum() > took {
			t.Errorf("%s: %d observations summing to %vs, want %d within the %vs the requests took", name, h.GetSampleCount(),
				h.GetSampleSum(), want, took)
		}
	}
	if b := series(t, f, "wasmoe:e2e_request_latency_seconds", model...).GetHistogram().GetBucket(); len(b) != 22 ||
		b[0].GetUpperBound() != 0.3 || b[20].GetUpperBound() != 7680 {
		t.Errorf("e2e buckets %v, want vLLM's 21: 0.3 … 7680 (and +Inf)", b)
	}

	// The gauges say what the engine says when scraped.
	check := func(f map[string]*dto.MetricFamily, running, waiting, usage float64) {
		t.Helper()
		if r, w, u := gauge(t, f, "wasmoe:num_requests_running", model[:2]...), gauge(t, f, "wasmoe:num_requests_waiting", model[:2]...),
			gauge(t, f, "wasmoe:kv_cache_usage_perc", model[:2]...); r != running || w != waiting || u != usage {
			t.Errorf("running %v, waiting %v, KV cache usage %v; want %v, %v, %v", r, w, u, running, waiting, usage)
		}
	}
	check(f, 2, 1, 0.25)
	if p, info := counter(t, f, "wasmoe:num_preemptions_total", model[:2]...),
		gauge(t, f, "wasmoe:cache_config_info", "model_name", "fake", "block_size", "16", "num_gpu_blocks", "12"); p != 5 || info != 1 {
		t.Errorf("preemptions %v, cache_config_info %v", p, info)
	}
	m.setStats(engine.Stats{Waiting: 7, KVBlocksUsed: 12, KVBlocksTotal: 12, KVBlockTokens: 16})
	check(scrape(t, url), 0, 7, 1)
	for name := range f {
		if !strings.HasPrefix(name, "wasmoe:") {
			t.Errorf("%s: only wasmoe: names unless vLLM's are asked for", name)
		}
	}

	// A request that waits in the queue past its timeout is cut off: an abort, with no prompt processed.
	cfg := DefaultConfig()
	cfg.RequestTimeout = 50 * time.Millisecond
	_, url = startServer(t, cfg, &fakeModel{pieces: []string{"a"}, queued: make(chan struct{})})
	if status, _, b := request(t, "POST", url+"/v1/completions", `{"prompt":[1,2,3]}`); status != 504 {
		t.Fatalf("queued past the timeout: %d %s", status, b)
	}
	f = scrape(t, url)
	if a, p, n := counter(t, f, "wasmoe:request_success_total", append(model, "finished_reason", "abort")...),
		counter(t, f, "wasmoe:prompt_tokens_total", model...), count(t, f, "wasmoe:time_to_first_token_seconds", model...); a != 1 || p != 0 || n != 0 {
		t.Errorf("timed out in the queue: %v aborts, %v prompt tokens, %d first tokens; want 1, 0, 0", a, p, n)
	}
}

// TestMetricsVLLMNames: with MetricsNames "vllm", every wasmoe: metric is also there under vllm: with the
// same series, and so is what the Gateway API Inference Extension's endpoint picker reads: the queue,
// the running requests, the KV cache use under both of vLLM's names, and the LoRA info (none served).
func TestMetricsVLLMNames(t *testing.T) {
	m := &cacheModel{fakeModel: &fakeModel{pieces: []string{"a"}}}
	m.setStats(engine.Stats{Running: 1, Waiting: 3, KVBlocksUsed: 1, KVBlocksTotal: 4, KVBlockTokens: 16})
	cfg := DefaultConfig()
	cfg.MetricsNames = MetricsNamesVLLM
	_, url := startServer(t, cfg, m)
	complete(t, url, `{"prompt":[1,2]}`)
	f := scrape(t, url)
	twins := 0
	for name, fam := range f {
		rest, ok := strings.CutPrefix(name, "wasmoe:")
		if !ok {
			continue
		}
		twin := f["vllm:"+rest]
		if twin == nil || twin.GetType() != fam.GetType() || len(twin.GetMetric()) != len(fam.GetMetric()) {
			t.Errorf("%s has no vllm: twin with the same series", name)
			continue
		}
		for i := range fam.GetMetric() {
			if !proto.Equal(twin.GetMetric()[i], fam.GetMetric()[i]) {
				t.Errorf("vllm:%s series %d differs: %v, want %v", rest, i, twin.GetMetric()[i], fam.GetMetric()[i])
			}
		}
		twins++
	}
	if twins != 16 { // 5 request counters, 3 latency histograms, 8 engine metrics (the plugin ones have no series yet)
		t.Errorf("%d metrics have a vllm: twin, want 16", twins)
	}
	model := []string{"model_name", "fake"}
	if w, r, u, old := gauge(t, f, "vllm:num_requests_waiting", model...), gauge(t, f, "vllm:num_requests_running", model...),
		gauge(t, f, "vllm:kv_cache_usage_perc", model...), gauge(t, f, "vllm:gpu_cache_usage_perc", model...); w != 3 || r != 1 || u != 0.25 || old != 0.25 {
		t.Errorf("waiting %v, running %v, kv_cache_usage_perc %v, gpu_cache_usage_perc %v", w, r, u, old)
	}
	if counter(t, f, "vllm:generation_tokens_total", append(model, "tenant", "")...) != 1 {
		t.Error("vllm:generation_tokens_total does not count the request")
	}
	lora := series(t, f, "vllm:lora_requests_info", "max_lora", "0", "running_lora_adapters", "", "waiting_lora_adapters", "")
	if v := lora.GetGauge().GetValue(); v < float64(time.Now().Add(-time.Hour).Unix()) || v > float64(time.Now().Unix()) {
		t.Errorf("vllm:lora_requests_info = %v, want a recent timestamp", v)
	}
}

// TestTenantLabels: the tenant label keeps the first MaxTenantLabels tenants' names and counts the rest
// as "other"; a job's tenant reaches the engine's request and labels its metrics.
func TestTenantLabels(t *testing.T) {
	l := boundedLabels{max: 2, seen: map[string]bool{}}
	for _, c := range []struct{ tenant, want string }{{"a", "a"}, {"", ""}, {"b", "b"}, {"c", "other"}, {"a", "a"}, {"d", "other"}, {"b", "b"}} {
		if got := l.label(c.tenant); got != c.want {
			t.Errorf("label(%q) = %q, want %q", c.tenant, got, c.want)
		}
	}

	f := &fakeModel{pieces: []string{"x", "y"}}
	cfg := DefaultConfig()
	cfg.Logger, cfg.MaxTenantLabels = quiet, 2
	s := NewServer(cfg, f)
	for _, tenant := range []string{"a", "b", "c", "a"} {
		var req fasthttp.RequestCtx
		req.Request.SetBodyString(`{"prompt":[1,2,3],"max_tokens":1}`)
		j, e := s.completionJob(&req)
		if e != nil {
			t.Fatal(e)
		}
		j.tenant = tenant
		var ctx fasthttp.RequestCtx
		s.respond(&ctx, j)
		if ctx.Response.StatusCode() != 200 || f.lastRequest().Tenant != tenant {
			t.Fatalf("tenant %s: %d, the engine's request has tenant %q", tenant, ctx.Response.StatusCode(), f.lastRequest().Tenant)
		}
	}
	fams := parseMetrics(t, string(call(s, "GET", "/metrics", "").body))
	for tenant, want := range map[string]float64{"a": 2, "b": 1, "other": 1} {
		if got := counter(t, fams, "wasmoe:request_success_total", "tenant", tenant, "finished_reason", "length"); got != want {
			t.Errorf("tenant %s: %v successes, want %v", tenant, got, want)
		}
	}
	for _, m := range fams["wasmoe:prompt_tokens_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "tenant" && l.GetValue() == "c" {
				t.Error("the third tenant has a label of its own")
			}
		}
	}
}

// warmModel is a fakeModel that warms up in the background, as the engine does.
type warmModel struct {
	*fakeModel
	warmed chan struct{}
}

func (w *warmModel) Warmed() <-chan struct{} { return w.warmed }

// TestReady: /ready is 503 while the model warms up, 200 once it has, 503 again once the server drains,
// while /health stays 200; a draining server refuses new generations with 503, Retry-After and an
// OpenAI error, and lets a running stream finish. Shutdown drains.
func TestReady(t *testing.T) {
	m := &warmModel{fakeModel: &fakeModel{pieces: []string{"x"}, repeat: true, delay: 5 * time.Millisecond}, warmed: make(chan struct{})}
	s, url := startServer(t, DefaultConfig(), m)
	ready := func(wantStatus int, want string) {
		t.Helper()
		status, h, body := request(t, "GET", url+"/ready", "")
		if status != wantStatus || body != `{"status":"`+want+`"}` || h.Get("Content-Type") != contentJSON {
			t.Errorf("/ready: %d %s (%s), want %d %s", status, body, h.Get("Content-Type"), wantStatus, want)
		}
		if status, _, body := request(t, "GET", url+"/health", ""); status != 200 || body != `{"status":"ok"}` {
			t.Errorf("/health: %d %s", status, body)
		}
	}
	ready(503, "warming_up")
	close(m.warmed)
	ready(200, "ready")

	stream := openStream(t, context.Background(), url+"/v1/completions", `{"prompt":"x","stream":true,"max_tokens":20}`)
	defer stream.body.Close()
	if stream.next() == "" {
		t.Fatal("no first event")
	}
	s.Drain()
	ready(503, "draining")
	status, h, body := request(t, "POST", url+"/v1/completions", `{"prompt":"x"}`)
	var e struct{ Error errorJSON }
	if err := json.Unmarshal([]byte(body), &e); err != nil || status != 503 || h.Get("Retry-After") == "" || e.Error.Code == nil ||
		*e.Error.Code != "shutting_down" {
		t.Errorf("a generation while draining: %d, Retry-After %q, %s", status, h.Get("Retry-After"), body)
	}
	var last []string
	for ev := stream.next(); ev != ""; ev = stream.next() {
		last = append(last, ev)
	}
	if n := len(last); n < 2 || last[n-1] != "[DONE]" || !strings.Contains(last[n-2], `"finish_reason":"length"`) {
		t.Errorf("the stream running when the server drained ends with %q", last[max(0, n-2):])
	}

	s = newTestServer(&fakeModel{})
	s.Shutdown(context.Background())
	if r := call(s, "GET", "/ready", ""); r.status != 503 || string(r.body) != `{"status":"draining"}` {
		t.Errorf("/ready after Shutdown: %d %s", r.status, r.body)
	}
}

// TestTrapReason: the errors the wasm host and the engine write for a failing plugin (their formats in
// internal/host/wasm instance.go and policy.go, internal/host/engine step.go; the hostile guests of
// internal/host/engine's TestHostileGuests produce them) fall into the fixed set of reasons.
func TestTrapReason(t *testing.T) {
	for msg, want := range map[string]string{
		"wasm: ctl_step failed: wasm error: unreachable":                         "trap",
		"wasm: ctl_step failed: stack overflow":                                  "trap",
		"wasm: ctl_step: the guest failed earlier in this request":               "trap",
		"wasm: ctl_step stopped: it ran past its deadline of 300ms":              "deadline",
		"wasm: ctl_step stopped: the request used up its guest CPU budget of 2s": "cpu_budget",
		"wasm: ctl_step: the request used up its guest CPU budget of 2s":         "cpu_budget",
		"wasm: ctl_step failed: out of bounds memory access":                     "memory",
		"wasm: ctl_step: out of memory":                                          "memory",
		"wasm: ctl_open: bad input\nguest log: colour: unknown field":            "guest_error",
		"wasm: ctl_step: over a limit":                                           "guest_error",
		"wasm: ctl_step: error -42":                                              "guest_error",
		"wasm: ctl_step: unknown action kind 9":                                  "bad_action",
		"wasm: ctl_step: mask: buffer lies outside the guest's memory":           "bad_action",
		"wasm: ctl_pick chose candidate 5 of 4":                                  "bad_action",
		"engine: the policy forked past 16 sequences":                            "bad_action",
		"engine: the policy took back 3 tokens, only 1 were generated":           "bad_action",
	} {
		if got := trapReason(msg); got != want {
			t.Errorf("trapReason(%q) = %q, want %q", msg, got, want)
		}
	}
}
