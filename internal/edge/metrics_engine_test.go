package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// ids is a prompt of n token ids from first on, as JSON.
func ids(first, n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = strconv.Itoa(first + i)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// testMetricsRealEngine reads /metrics after traffic through the real engine e, on a server of its own
// (TestRealEngine runs it): the counters agree with the prompts, max_tokens and the usage the responses
// report (a repeated prompt hits the prefix cache); a plugin's steps are timed one per ctl_step (one per
// sampled token and a last one, guest/ABI-v1.md); a guest that traps and one that answers a malformed
// action count as plugin traps by reason; the engine's gauges are in range; /ready is 200 once the
// engine has warmed up.
func testMetricsRealEngine(t *testing.T, e *engine.Engine) {
	_, url := startServer(t, DefaultConfig(), e)
	cached := 0
	completeUsage := func(body string) {
		t.Helper()
		status, _, b := request(t, "POST", url+"/v1/completions", body)
		var out struct{ Usage usageJSON }
		if err := json.Unmarshal([]byte(b), &out); err != nil || status != 200 {
			t.Fatalf("%s: %d %s", body, status, b)
		}
		cached += *out.Usage.PromptTokensDetails.CachedTokens
	}
	const greedy = `"temperature":0,"ignore_eos":true`
	completeUsage(`{"prompt":` + ids(100, 40) + `,"max_tokens":3,` + greedy + `}`)
	completeUsage(`{"prompt":` + ids(100, 40) + `,"max_tokens":2,` + greedy + `}`) // the same prompt: cached blocks
	if cached == 0 {
		t.Fatal("a repeated 40-token prompt found nothing in the prefix cache")
	}
	stream := openStream(t, context.Background(), url+"/v1/completions",
		`{"prompt":`+ids(300, 20)+`,"max_tokens":4,"stream":true,"stream_options":{"include_usage":true},`+greedy+`}`)
	for ev := stream.next(); ev != "" && ev != "[DONE]"; ev = stream.next() {
		var c chunk
		if json.Unmarshal([]byte(ev), &c) == nil && c.Usage != nil {
			cached += *c.Usage.PromptTokensDetails.CachedTokens
		}
	}
	stream.body.Close()
	completeUsage(`{"prompt":` + ids(500, 10) + `,"max_tokens":3,"plugin":"conf","plugin_config":"\u0000",` + greedy + `}`)
	for i, name := range []string{"trap", "badaction"} {
		status, _, b := request(t, "POST", url+"/v1/completions", fmt.Sprintf(`{"prompt":%s,"plugin":%q,"plugin_config":"\u0000"}`,
			ids(600+100*i, 5), name))
		if status != 400 || !strings.Contains(b, typePlugin) {
			t.Fatalf("plugin %s: %d %s", name, status, b)
		}
	}

	f := scrape(t, url)
	model := []string{"model_name", "tiny", "tenant", ""}
	for _, c := range []struct {
		name string
		want float64
	}{
		{"wasmoe:prompt_tokens_total", 40 + 40 + 20 + 10 + 5 + 5}, // the failed plugins ran after their prompts
		{"wasmoe:generation_tokens_total", 3 + 2 + 4 + 3},
		{"wasmoe:prefix_cache_queries_total", 40 + 40 + 20 + 10 + 5 + 5},
		{"wasmoe:prefix_cache_hits_total", float64(cached)},
		{"wasmoe:request_success_total", 4},
		{"wasmoe:plugin_traps_total", 1},
	} {
		labels := model
		switch c.name {
		case "wasmoe:request_success_total":
			labels = append(labels, "finished_reason", "length")
		case "wasmoe:plugin_traps_total":
			for plugin, reason := range map[string]string{"trap": "trap", "badaction": "bad_action"} {
				if got := counter(t, f, c.name, append(labels, "plugin", plugin, "reason", reason)...); got != c.want {
					t.Errorf("%s{plugin=%q,reason=%q} = %v, want %v", c.name, plugin, reason, got, c.want)
				}
			}
			continue
		}
		if got := counter(t, f, c.name, labels...); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	for name, want := range map[string]uint64{"wasmoe:time_to_first_token_seconds": 4, "wasmoe:inter_token_latency_seconds": 2 + 1 + 3 + 2,
		"wasmoe:e2e_request_latency_seconds": 4} {
		if got := count(t, f, name, model...); got != want {
			t.Errorf("%s: %d observations, want %d", name, got, want)
		}
	}
	for plugin, want := range map[string]uint64{"conf": 3 + 1, "trap": 1, "badaction": 1} {
		if got := count(t, f, "wasmoe:plugin_step_seconds", append(model, "plugin", plugin)...); got != want {
			t.Errorf("plugin %s: %d steps timed, want %d", plugin, got, want)
		}
	}
	running, waiting := gauge(t, f, "wasmoe:num_requests_running", model[:2]...), gauge(t, f, "wasmoe:num_requests_waiting", model[:2]...)
	if usage := gauge(t, f, "wasmoe:kv_cache_usage_perc", model[:2]...); running < 0 || waiting < 0 || running != math.Trunc(running) ||
		waiting != math.Trunc(waiting) || usage < 0 || usage > 1 {
		t.Errorf("running %v, waiting %v, KV cache usage %v", running, waiting, usage)
	}
	gauge(t, f, "wasmoe:cache_config_info", "model_name", "tiny", "block_size", "16", "num_gpu_blocks", strconv.Itoa(e.Stats().KVBlocksTotal))

	<-e.Warmed()
	if status, _, body := request(t, "GET", url+"/ready", ""); status != 200 || body != `{"status":"ready"}` {
		t.Errorf("/ready once warmed: %d %s", status, body)
	}
}
