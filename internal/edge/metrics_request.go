package edge

import (
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// tracker measures one request for the metrics. Its methods run in the request's run goroutine, the one
// that calls Generate: piece as the response takes each piece, finish once Generate has returned. Neither
// waits on anything: the histograms' observers are resolved when the request starts, and an observation
// is a few atomic adds. The engine's worker only calls the plugin step timer, an atomic observation too.
type tracker struct {
	m                     *metrics
	model, tenant, plugin string // label values; plugin "" for a request without one
	noCache               bool   // the request skips the prefix cache: it makes no query
	start                 time.Time
	last                  time.Time // when the last token left the engine; zero before the first
	ttft, itl             prometheus.Observer
}

// track starts measuring a request to model: its tenant's name and plugin (bounded, see boundedLabels) label its
// metrics, and when it runs a plugin, req times the plugin's steps into wasmoe:plugin_step_seconds.
func (m *metrics) track(model, tenant, plugin string, req *engine.Request) *tracker {
	t := &tracker{m: m, model: model, tenant: m.tenants.label(tenant), plugin: m.plugins.label(plugin), noCache: req.NoPromptCache,
		start: time.Now()}
	t.ttft = m.ttft.WithLabelValues(model, t.tenant)
	t.itl = m.itl.WithLabelValues(model, t.tenant)
	if req.Policy != nil {
		step := m.pluginStep.WithLabelValues(model, t.tenant, t.plugin)
		req.PolicyStepTimer = func(d time.Duration) { step.Observe(d.Seconds()) }
	}
	return t
}

// piece times a piece the response has taken, which left the engine at left: the first token's time
// since the request started is its time to first token, each later token's time since the one before an
// inter-token latency. Pieces without a token (a fork's copied text, bytes of a character never
// completed) are not timed.
func (t *tracker) piece(p engine.Piece, left time.Time) {
	if p.Token < 0 {
		return
	}
	if t.last.IsZero() {
		t.ttft.Observe(left.Sub(t.start).Seconds())
	} else {
		t.itl.Observe(left.Sub(t.last).Seconds())
	}
	t.last = left
}

// finish counts a generation that Generate ended with res and err; cause is why its run was cancelled
// (nil if it was not). A request that ended on its own, reached a stop string or was cut off counts as a
// success by its finish reason ("abort" when cut off), with its end-to-end latency. A request whose
// plugin failed counts as a plugin trap, by how it failed. Its prompt tokens and prefix-cache use count
// once the engine has computed the prompt: it gave a token, ended on its own, or ran its plugin.
func (t *tracker) finish(res engine.Result, err, cause error) {
	reason, trap := "", ""
	switch {
	case err == nil:
		reason = finishReason(res, 0)
	case errors.Is(cause, errStopString):
		reason = engine.FinishStop
	case errors.Is(cause, errClientGone), errors.Is(cause, errTimeout), errors.Is(cause, errShutdown),
		errors.Is(err, engine.ErrWriteTimeout), errors.Is(err, engine.ErrClosed):
		reason = finishAbort
	case t.plugin != "" && knownError(err, "") == nil && pluginError(err):
		trap = trapReason(err.Error())
	}
	m := t.m
	if !t.last.IsZero() || reason == engine.FinishStop || reason == engine.FinishLength || trap != "" {
		m.promptTokens.WithLabelValues(t.model, t.tenant).Add(float64(res.PromptTokens))
		if !t.noCache {
			m.cacheQueries.WithLabelValues(t.model, t.tenant).Add(float64(res.PromptTokens))
			m.cacheHits.WithLabelValues(t.model, t.tenant).Add(float64(res.CachedTokens))
		}
	}
	m.generationTokens.WithLabelValues(t.model, t.tenant).Add(float64(res.CompletionTokens))
	if reason != "" {
		m.success.WithLabelValues(t.model, t.tenant, reason).Inc()
		m.e2e.WithLabelValues(t.model, t.tenant).Observe(time.Since(t.start).Seconds())
	}
	if trap != "" {
		m.pluginTraps.WithLabelValues(t.model, t.tenant, t.plugin, trap).Inc()
	}
}

// trapReason names how a plugin failed, from the error the wasm host (internal/host/wasm: instance.go,
// policy.go) or the engine (step.go) wrote: "cpu_budget" (the request's guest CPU time ran out),
// "deadline" (a call ran past its deadline), "memory" (the guest ran out of memory or accessed past
// it), "trap" (any other trap), "bad_action" (an action the ABI or the engine refuses), or "guest_error"
// (the guest returned an error status). The set is fixed: it bounds the label's values.
func trapReason(msg string) string {
	switch {
	case strings.Contains(msg, "CPU budget"):
		return "cpu_budget"
	case strings.Contains(msg, "past its deadline"):
		return "deadline"
	case strings.Contains(msg, " failed: "), strings.Contains(msg, "failed earlier"), strings.Contains(msg, "instantiate"):
		if strings.Contains(msg, "memory") {
			return "memory"
		}
		return "trap"
	case strings.Contains(msg, "out of memory"):
		return "memory"
	case isStatusError(msg):
		return "guest_error"
	case strings.Contains(msg, "engine: the policy"), strings.Contains(msg, "wasm: ctl_"):
		return "bad_action"
	}
	return "guest_error"
}

// guestStatuses are the texts the wasm host gives the ABI's error statuses (internal/host/wasm statusText).
var guestStatuses = []string{"bad input", "not initialised", "internal error", "no token can be sampled", "not found",
	"over a limit", "no such handle", "error -"}

// isStatusError reports whether msg is a guest's error status: "wasm: EXPORT: STATUS…".
func isStatusError(msg string) bool {
	_, rest, ok := strings.Cut(msg, "wasm: ")
	if !ok {
		return false
	}
	_, rest, ok = strings.Cut(rest, ": ")
	if !ok {
		return false
	}
	for _, s := range guestStatuses {
		if strings.HasPrefix(rest, s) {
			return true
		}
	}
	return false
}
