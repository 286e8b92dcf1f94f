package edge

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// The prefixes of metric names: wasmoe's own, and vLLM's, which Config.MetricsNames "vllm" adds so that
// what reads vLLM's metrics (dashboards, the Gateway API Inference Extension's endpoint picker) reads
// wasmoe's unchanged.
const (
	metricsPrefix = "wasmoe:"
	vllmPrefix    = "vllm:"
)

// Values of Config.MetricsNames.
const (
	MetricsNamesWasmoe = "wasmoe" // every metric under wasmoe:NAME (the default)
	MetricsNamesVLLM   = "vllm"   // every metric under wasmoe:NAME and vllm:NAME
)

// otherTenant is the tenant label of the tenants past Config.MaxTenantLabels.
const otherTenant = "other"

// Histogram buckets, in seconds. The latency ones are vLLM's (vllm/v1/metrics/loggers.py), so that
// dashboards built for vLLM read wasmoe's the same.
var (
	ttftBuckets = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
		20.0, 40.0, 80.0, 160.0, 640.0, 2560.0}
	itlBuckets = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
		20.0, 40.0, 80.0}
	e2eBuckets = []float64{0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0,
		240.0, 480.0, 960.0, 1920.0, 7680.0}
	// A policy step is a call into a wasm guest: microseconds, up to its deadline.
	pluginStepBuckets = []float64{1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05,
		0.1, 0.25, 0.5, 1}
)

// Finish reasons of wasmoe:request_success_total, as vLLM counts them: a request that ended on its own
// (engine.FinishStop, engine.FinishLength) or was cut off (the client left, the timeout, shutdown).
const finishAbort = "abort"

// statsModel is a Model whose scheduler state /metrics reads at each scrape; *engine.Engine is one.
type statsModel interface {
	Stats() engine.Stats
}

var _ statsModel = (*engine.Engine)(nil)

// metrics are a server's Prometheus metrics, in a registry of its own. Request metrics are updated when a
// request's pieces reach the edge and when it ends (tracker); the engine's gauges are read at each scrape.
type metrics struct {
	reg     *prometheus.Registry
	vllm    bool          // also show every metric under vLLM's name
	started float64       // Unix time the server was made: vllm:lora_requests_info's value
	tenants boundedLabels // tenant label values
	plugins boundedLabels // plugin label values: requests spell plugins as they like (NAME@07, sha256:…)

	promptTokens     *prometheus.CounterVec // model_name, tenant
	generationTokens *prometheus.CounterVec
	cacheQueries     *prometheus.CounterVec
	cacheHits        *prometheus.CounterVec
	success          *prometheus.CounterVec   // model_name, tenant, finished_reason
	ttft, itl, e2e   *prometheus.HistogramVec // model_name, tenant
	pluginStep       *prometheus.HistogramVec // model_name, tenant, plugin
	pluginTraps      *prometheus.CounterVec   // model_name, tenant, plugin, reason
}

// newMetrics registers the metrics of the models served under ids (the engine gauges for those that
// report Stats), with every request series of each model at zero for the request without a tenant.
func newMetrics(cfg Config, ids []string, models map[string]*served) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), vllm: cfg.MetricsNames == MetricsNamesVLLM,
		started: float64(time.Now().Unix()), tenants: boundedLabels{max: cfg.MaxTenantLabels, seen: map[string]bool{}},
		plugins: boundedLabels{max: maxPluginLabels, seen: map[string]bool{}}}
	req := []string{"model_name", "tenant"}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricsPrefix + name, Help: help}, append(req, labels...))
		m.reg.MustRegister(c)
		return c
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: metricsPrefix + name, Help: help, Buckets: buckets},
			append(req, labels...))
		m.reg.MustRegister(h)
		return h
	}
	m.promptTokens = counter("prompt_tokens_total", "Number of prefill tokens processed.")
	m.generationTokens = counter("generation_tokens_total", "Number of generation tokens processed.")
	m.cacheQueries = counter("prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.")
	m.cacheHits = counter("prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.")
	m.success = counter("request_success_total", "Count of successfully processed requests.", "finished_reason")
	m.ttft = histogram("time_to_first_token_seconds", "Histogram of time to first token in seconds.", ttftBuckets)
	m.itl = histogram("inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", itlBuckets)
	m.e2e = histogram("e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", e2eBuckets)
	m.pluginStep = histogram("plugin_step_seconds", "Histogram of the time one policy plugin step (ctl_step) took in seconds.",
		pluginStepBuckets, "plugin")
	m.pluginTraps = counter("plugin_traps_total", "Requests whose policy plugin failed, by how it failed.", "plugin", "reason")
	for _, id := range ids {
		for _, c := range []*prometheus.CounterVec{m.promptTokens, m.generationTokens, m.cacheQueries, m.cacheHits} {
			c.WithLabelValues(id, "")
		}
		for _, reason := range []string{engine.FinishStop, engine.FinishLength, finishAbort} {
			m.success.WithLabelValues(id, "", reason)
		}
		for _, h := range []*prometheus.HistogramVec{m.ttft, m.itl, m.e2e} {
			h.WithLabelValues(id, "")
		}
		if sm, ok := models[id].Model.(statsModel); ok {
			m.registerEngine(id, sm)
		}
	}
	return m
}

// registerEngine adds the gauges a model's engine answers at scrape time: its scheduler's load, its KV
// cache's use and size, its preemptions, and speculative decoding's drafts (vLLM's spec_decode_* counters).
func (m *metrics) registerEngine(id string, sm statsModel) {
	model := prometheus.Labels{"model_name": id}
	gauge := func(name, help string, labels prometheus.Labels, f func(engine.Stats) float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: metricsPrefix + name, Help: help, ConstLabels: labels},
			func() float64 { return f(sm.Stats()) }))
	}
	gauge("num_requests_running", "Number of sequences the engine has admitted (computing, sampling or paused).", model,
		func(st engine.Stats) float64 { return float64(st.Running) })
	gauge("num_requests_waiting", "Number of sequences waiting to be admitted (new, or preempted).", model,
		func(st engine.Stats) float64 { return float64(st.Waiting) })
	gauge("kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", model, func(st engine.Stats) float64 {
		if st.KVBlocksTotal == 0 {
			return 0
		}
		return float64(st.KVBlocksUsed) / float64(st.KVBlocksTotal)
	})
	st := sm.Stats() // the block size and the pool's size are fixed when the engine opens
	gauge("cache_config_info", "Information of the engine's KV cache.", prometheus.Labels{"model_name": id,
		"block_size": strconv.Itoa(st.KVBlockTokens), "num_gpu_blocks": strconv.Itoa(st.KVBlocksTotal)},
		func(engine.Stats) float64 { return 1 })
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: metricsPrefix + "num_preemptions_total",
		Help: "Cumulative number of preemption from the engine.", ConstLabels: model},
		func() float64 { return float64(sm.Stats().Preemptions) }))
	for _, c := range []struct {
		name, help string
		f          func(engine.Stats) int64
	}{
		{"spec_decode_num_drafts_total", "Number of spec decoding drafts.", func(st engine.Stats) int64 { return st.SpecDrafts }},
		{"spec_decode_num_draft_tokens_total", "Number of draft tokens.", func(st engine.Stats) int64 { return st.SpecDraftTokens }},
		{"spec_decode_num_accepted_tokens_total", "Number of accepted tokens.", func(st engine.Stats) int64 { return st.SpecAcceptedTokens }},
	} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: metricsPrefix + c.name, Help: c.help,
			ConstLabels: model}, func() float64 { return float64(c.f(sm.Stats())) }))
	}
}

// gather returns every metric family, with their vLLM names too when asked: every wasmoe:NAME as
// vllm:NAME, kv_cache_usage_perc also as vLLM's older gpu_cache_usage_perc, and vllm:lora_requests_info
// saying that no LoRA adapter is served (the endpoint picker reads it).
func (m *metrics) gather() ([]*dto.MetricFamily, error) {
	fams, err := m.reg.Gather()
	if err != nil || !m.vllm {
		return fams, err
	}
	alias := func(f *dto.MetricFamily, name string) *dto.MetricFamily {
		return &dto.MetricFamily{Name: &name, Help: f.Help, Type: f.Type, Unit: f.Unit, Metric: f.Metric}
	}
	for _, f := range fams {
		rest, ok := strings.CutPrefix(f.GetName(), metricsPrefix)
		if !ok {
			continue
		}
		fams = append(fams, alias(f, vllmPrefix+rest))
		if rest == "kv_cache_usage_perc" {
			fams = append(fams, alias(f, vllmPrefix+"gpu_cache_usage_perc"))
		}
	}
	return append(fams, m.loraInfo()), nil
}

// loraInfo is vllm:lora_requests_info as vLLM writes it for a server with no adapters running or waiting:
// its value is a timestamp, its labels the adapters.
func (m *metrics) loraInfo() *dto.MetricFamily {
	name, help, typ := vllmPrefix+"lora_requests_info", "Running stats on lora requests.", dto.MetricType_GAUGE
	label := func(name, value string) *dto.LabelPair { return &dto.LabelPair{Name: &name, Value: &value} }
	started := m.started
	return &dto.MetricFamily{Name: &name, Help: &help, Type: &typ, Metric: []*dto.Metric{{
		Label: []*dto.LabelPair{label("max_lora", "0"), label("running_lora_adapters", ""), label("waiting_lora_adapters", "")},
		Gauge: &dto.Gauge{Value: &started}}}}
}

// serveMetrics answers GET /metrics in Prometheus' text format.
func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx) {
	fams, err := s.metrics.gather()
	if err != nil {
		s.log.Error("edge: gathering metrics", "err", err)
		writeError(ctx, errInternal)
		return
	}
	ctx.SetContentType(string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	for _, f := range fams {
		if _, err := expfmt.MetricFamilyToText(ctx, f); err != nil {
			s.log.Error("edge: writing metrics", "err", err)
			writeError(ctx, errInternal)
			return
		}
	}
}

// maxPluginLabels bounds the plugin label's values.
const maxPluginLabels = 100

// boundedLabels bounds a label's values: the first max values seen keep their name, later ones are
// counted as "other", so a server with many tenants or plugins keeps a bounded number of series.
type boundedLabels struct {
	mu   sync.Mutex
	max  int
	seen map[string]bool
}

// label is the label value of v ("" stays "": no tenant, no plugin).
func (t *boundedLabels) label(v string) string {
	if v == "" {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.seen[v] {
		if len(t.seen) >= t.max {
			return otherTenant
		}
		t.seen[v] = true
	}
	return v
}
