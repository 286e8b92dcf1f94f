package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// server is a running `wasmoe serve`.
type server struct {
	url string
	cmd *exec.Cmd
	log *lockedBuffer
}

// startServer runs `wasmoe serve` with args on a free loopback port and waits until the model is loaded.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &server{url: "http://" + addr, log: &lockedBuffer{}}
	s.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr}, args...)...)
	s.cmd.Stderr, s.cmd.Stdout = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- s.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			t.Errorf("server did not shut down on SIGINT")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.log.String())
		}
	})
	// /health answers while the model loads; the start's last line ("try: curl …") comes once it is in.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(s.log.String(), "\ntry:\n") {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("server did not load its model:\n%s", s.log.String())
	return nil
}

func (s *server) post(t *testing.T, path, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(s.url+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: response is not JSON (%v): %s", path, err, b)
	}
	return resp.StatusCode, out
}

// r1Model writes a tiny qwen2 model with the DeepSeek-R1-Distill-Qwen chat template.
func r1Model(t *testing.T) string {
	tmpl, err := os.ReadFile(filepath.Join(testutil.Root(), "testdata", "templates", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	o := modelgen.Tiny("qwen2", kernels.Q8_0)
	o.ChatTemplate = string(tmpl)
	path := filepath.Join(t.TempDir(), "r1.gguf")
	if err := modelgen.WriteFile(o, testutil.Vocab(t, "ggml-vocab-qwen2.gguf"), path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestServeEndToEnd(t *testing.T) {
	s := startServer(t, "--model", r1Model(t), "--ctx", "256", "--alias", "r1-chat", "--cors-origin", "https://app.example")
	var models struct {
		Data []struct{ ID string } `json:"data"`
	}
	resp, err := http.Get(s.url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&models)
	resp.Body.Close()
	if len(models.Data) != 2 || models.Data[0].ID != "r1" || models.Data[1].ID != "r1-chat" {
		t.Fatalf("models = %+v, want r1 and its --alias r1-chat", models)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
		t.Errorf("--cors-origin https://app.example: Access-Control-Allow-Origin %q", got)
	}
	if code, out := s.post(t, "/v1/completions", `{"model":"r1-chat","prompt":"hello","max_tokens":1}`); code != 200 {
		t.Errorf("a completion naming the alias: %d %v", code, out)
	}

	t.Run("chat", func(t *testing.T) {
		code, out := s.post(t, "/v1/chat/completions", `{"model":"r1","messages":[{"role":"user","content":"Hi"}],"max_tokens":12,"seed":5}`)
		if code != 200 {
			t.Fatalf("status %d: %v", code, out)
		}
		choice := out["choices"].([]any)[0].(map[string]any)
		msg := choice["message"].(map[string]any)
		usage := out["usage"].(map[string]any)
		if ct := usage["completion_tokens"].(float64); ct < 1 || ct > 12 {
			t.Errorf("completion_tokens = %v", ct)
		}
		if usage["total_tokens"].(float64) != usage["prompt_tokens"].(float64)+usage["completion_tokens"].(float64) {
			t.Errorf("usage does not add up: %v", usage)
		}
		// The R1 template opens <think>, so a generation that never closes it is all reasoning.
		if r, _ := msg["reasoning_content"].(string); r == "" && choice["finish_reason"] == "length" {
			t.Errorf("R1 output has no reasoning_content: %v", msg)
		}
		code2, out2 := s.post(t, "/v1/chat/completions", `{"model":"r1","messages":[{"role":"user","content":"Hi"}],"max_tokens":12,"seed":5}`)
		if code2 != 200 || fmt.Sprint(out2["choices"]) != fmt.Sprint(out["choices"]) {
			t.Errorf("same seed, different answers:\n%v\n%v", out["choices"], out2["choices"])
		}
	})

	t.Run("stream", func(t *testing.T) {
		body := `{"model":"r1","messages":[{"role":"user","content":"Hi"}],"max_tokens":6,"stream":true,"stream_options":{"include_usage":true}}`
		resp, err := http.Post(s.url+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("Content-Type %q", ct)
		}
		var events []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				continue
			}
			if !strings.HasPrefix(line, "data: ") {
				t.Fatalf("not an SSE data line: %q", line)
			}
			events = append(events, strings.TrimPrefix(line, "data: "))
		}
		if len(events) < 3 || events[len(events)-1] != "[DONE]" {
			t.Fatalf("events = %q", events)
		}
		var first, usage map[string]any
		json.Unmarshal([]byte(events[0]), &first)
		json.Unmarshal([]byte(events[len(events)-2]), &usage)
		if d := first["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any); d["role"] != "assistant" {
			t.Errorf("first delta = %v", d)
		}
		if u, ok := usage["usage"].(map[string]any); !ok || u["completion_tokens"].(float64) != 6 {
			t.Errorf("usage chunk = %v", usage)
		}
	})

	t.Run("completions", func(t *testing.T) {
		code, out := s.post(t, "/v1/completions", `{"model":"r1","prompt":"Once upon a time","max_tokens":5,"temperature":0}`)
		if code != 200 {
			t.Fatalf("status %d: %v", code, out)
		}
		if _, ok := out["choices"].([]any)[0].(map[string]any)["text"].(string); !ok {
			t.Errorf("no text: %v", out)
		}
	})

	t.Run("errors", func(t *testing.T) {
		cases := []struct {
			path, body string
			code       int
		}{
			{"/v1/chat/completions", `{"model":"r1","messages":[`, 400},
			{"/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 404},
			{"/v1/chat/completions", `{"model":"r1","messages":[{"role":"user","content":"x"}],"temperature":9}`, 400},
			{"/v1/completions", `{"model":"r1","prompt":"` + strings.Repeat("word ", 400) + `"}`, 413},
		}
		for _, c := range cases {
			code, out := s.post(t, c.path, c.body)
			if code != c.code {
				t.Errorf("%s %.60s: status %d, want %d (%v)", c.path, c.body, code, c.code, out)
			}
			if e, ok := out["error"].(map[string]any); !ok || e["message"] == "" {
				t.Errorf("%s: no OpenAI error body: %v", c.path, out)
			}
		}
	})

	t.Run("disconnect", func(t *testing.T) {
		// A client that leaves must free the model: the next request must not wait for the abandoned
		// generation. First time a whole one, then abandon the same one after its first event.
		long := `{"model":"r1","prompt":"a","max_tokens":240,"ignore_eos":true`
		start := time.Now()
		if code, out := s.post(t, "/v1/completions", long+`}`); code != 200 {
			t.Fatalf("status %d: %v", code, out)
		}
		full := time.Since(start)
		resp, err := http.Post(s.url+"/v1/completions", "application/json", strings.NewReader(long+`,"stream":true}`))
		if err != nil {
			t.Fatal(err)
		}
		bufio.NewReader(resp.Body).ReadString('\n')
		resp.Body.Close()
		start = time.Now()
		code, out := s.post(t, "/v1/completions", `{"model":"r1","prompt":"b","max_tokens":1}`)
		if code != 200 {
			t.Fatalf("after disconnect: %d %v", code, out)
		}
		if next := time.Since(start); next > full/2 {
			t.Errorf("next request took %v; a whole generation takes %v: the abandoned one was not stopped", next, full)
		}
	})
}

// TestServeConfig: a wrangler.toml with an unknown key or a bad METRICS_NAMES is refused, naming it; a bad
// SPEC, DRAFT_MODEL (resolved against the file's directory) or SPEC_TOKENS naming its flag, var and file; a
// bad plugin limit (PLUGIN_STEP_TIMEOUT,
// PLUGIN_CPU_BUDGET, PLUGIN_MEMORY_MB, PLUGIN_KEEP_MEMORY_MB: not a number or a duration, or out of the
// flag's range) is refused naming the file and the var; a good one serves, its METRICS_NAMES = "vllm" puts
// vLLM's names in /metrics beside wasmoe's and its PLUGIN_CPU_BUDGET = "1ns" stops the built-in policy of a
// response_format request at once. /ready answers 200 once the engine has warmed up.
func TestServeConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	refused := func(vars string, want ...string) { // serve must exit naming each of want, not start serving
		t.Helper()
		os.WriteFile(bad, []byte("name = \"x\"\n[vars]\n"+vars+"\n"), 0o644)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "serve", "--config", bad, "--addr", "127.0.0.1:0").CombinedOutput()
		for _, w := range want {
			if err == nil || ctx.Err() != nil || !strings.Contains(string(out), w) {
				t.Fatalf("%s: accepted or %q not named: %v\n%s", vars, w, err, out)
			}
		}
	}
	in := " in " + bad + ")"
	for _, c := range []struct{ vars, want string }{{"MODLE = \"typo\"", "MODLE"}, {"METRICS_NAMES = \"prom\"", "METRICS_NAMES"},
		{"SPEC = \"magic\"", "--spec (SPEC" + in + " magic"},
		{"SPEC = \"draft\"", "--spec (SPEC" + in + " draft needs --draft-model"},
		{"DRAFT_MODEL = \"nodraft.gguf\"", "--draft-model (DRAFT_MODEL" + in + ": stat " + filepath.Join(dir, "nodraft.gguf")},
		{"SPEC_TOKENS = 99", "--spec-tokens (SPEC_TOKENS" + in + " 99"}} {
		refused(c.vars, c.want)
	}
	for _, c := range []struct{ vars, want string }{
		{`PLUGIN_STEP_TIMEOUT = "soon"`, `"vars.PLUGIN_STEP_TIMEOUT"): time: invalid duration "soon"`},
		{`PLUGIN_STEP_TIMEOUT = 100`, `"vars.PLUGIN_STEP_TIMEOUT"): time: missing unit in duration "100"`},
		{`PLUGIN_STEP_TIMEOUT = "-5ms"`, "--plugin-step-timeout (PLUGIN_STEP_TIMEOUT" + in + " -5ms: must not be negative"},
		{`PLUGIN_CPU_BUDGET = "10"`, `"vars.PLUGIN_CPU_BUDGET"): time: missing unit in duration "10"`},
		{`PLUGIN_CPU_BUDGET = "-1s"`, "--plugin-cpu-budget (PLUGIN_CPU_BUDGET" + in + " -1s: must not be negative"},
		{`PLUGIN_MEMORY_MB = "lots"`, `"vars.PLUGIN_MEMORY_MB"): incompatible types`},
		{`PLUGIN_MEMORY_MB = 5000`, "--plugin-memory-mb (PLUGIN_MEMORY_MB" + in + " 5000: want 1 to 4096"},
		{`PLUGIN_MEMORY_MB = -1`, "--plugin-memory-mb (PLUGIN_MEMORY_MB" + in + " -1: want 1 to 4096"},
		{`PLUGIN_KEEP_MEMORY_MB = 1.5`, `"vars.PLUGIN_KEEP_MEMORY_MB"): incompatible types`},
		{`PLUGIN_KEEP_MEMORY_MB = 600`, "--plugin-keep-memory-mb (PLUGIN_KEEP_MEMORY_MB" + in + " 600: want 1 to --plugin-memory-mb (512)"},
		{"PLUGIN_MEMORY_MB = 64\nPLUGIN_KEEP_MEMORY_MB = 65",
			"--plugin-keep-memory-mb (PLUGIN_KEEP_MEMORY_MB" + in + " 65: want 1 to --plugin-memory-mb (PLUGIN_MEMORY_MB" + in + " (64)"},
	} {
		refused(c.vars, bad, c.want)
	}
	badTenant := filepath.Join(dir, "tenants.toml")
	os.WriteFile(badTenant, []byte("[[tenants]]\nname = \"acme\"\nkey_sha256 = [\"abc\"]\n"), 0o644)
	out, err := exec.Command(bin, "serve", "--config", badTenant).CombinedOutput()
	if err == nil || !strings.Contains(string(out), badTenant+`: tenant: invalid: tenant "acme": key_sha256[0]: want 64 hex digits`) {
		t.Fatalf("a bad key hash is not named with its file and field: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "serve", "--max-header-bytes", "10").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--max-header-bytes") {
		t.Fatalf("--max-header-bytes 10 accepted or not named: %v\n%s", err, out)
	}
	good := filepath.Join(dir, "wrangler.toml")
	os.WriteFile(good, []byte(fmt.Sprintf("name = \"edge\"\nmain = %q\n[vars]\nMODEL = %q\nMETRICS_NAMES = \"vllm\"\nPLUGIN_CPU_BUDGET = \"1ns\"\nALIASES = [\"deepseek\"]\nCORS_ORIGIN = \"*\"\n[limits]\nmax_header_bytes = 2048\n[admin]\nkey_sha256 = %q\n[[tenants]]\nname = \"acme\"\nkey_sha256 = [%q]\n",
		filepath.Join(testutil.Root(), "internal", "builtin", "sampler.wasm"), r1Model(t), sha256Hex("root-key"), sha256Hex("acme-key"))), 0o644)
	s := startServer(t, "--config", good)
	if !strings.Contains(s.log.String(), "wasmoe: 1 tenant; requests need Authorization: Bearer KEY") {
		t.Errorf("the start does not say the node needs keys:\n%s", s.log)
	}
	if code, resp := s.post(t, "/v1/completions", `{"model":"r1","prompt":"hello","max_tokens":2}`); code != 401 {
		t.Fatalf("without a key: status %d: %v", code, resp)
	}
	req, _ := http.NewRequest("POST", s.url+"/v1/completions", strings.NewReader(`{"model":"r1","prompt":"hello","max_tokens":2}`))
	req.Header.Set("Authorization", "Bearer acme-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("with acme's key: status %d, CORS_ORIGIN = \"*\" gave Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	req, _ = http.NewRequest("GET", s.url+"/v1/models/deepseek", nil)
	req.Header.Set("Authorization", "Bearer acme-key")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/v1/models/deepseek with ALIASES = [\"deepseek\"]: status %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(s.url + "/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/ready: %d a minute after start", resp.StatusCode)
		}
	}
	if resp, err := http.Get(s.url + "/metrics"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("/metrics without the admin key: %v %v", resp, err) // it shows every tenant's traffic
	} else {
		resp.Body.Close()
	}
	scrape, _ := http.NewRequest("GET", s.url+"/metrics", nil)
	scrape.Header.Set("Authorization", "Bearer root-key")
	resp2, err := http.DefaultClient.Do(scrape)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp2.Body)
	if resp2.StatusCode != 200 {
		t.Fatalf("/metrics with the admin key: %d %s", resp2.StatusCode, metrics)
	}
	resp2.Body.Close()
	for _, want := range []string{`wasmoe:generation_tokens_total{model_name="r1",tenant="acme"} 2`, `vllm:generation_tokens_total{model_name="r1",tenant="acme"} 2`,
		`vllm:num_requests_waiting{model_name="r1"}`, `vllm:kv_cache_usage_perc{model_name="r1"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}
	big, _ := http.NewRequest("GET", s.url+"/health", nil)
	big.Header.Set("X-Pad", strings.Repeat("p", 3000))
	r, err := http.DefaultClient.Do(big)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 431 {
		t.Errorf("3000 bytes of headers under max_header_bytes = 2048: status %d, want 431", r.StatusCode)
	}
	req, _ = http.NewRequest("POST", s.url+"/v1/chat/completions", strings.NewReader(
		`{"model":"r1","messages":[{"role":"user","content":"hi"}],"max_tokens":2,"response_format":{"type":"json_object"}}`))
	req.Header.Set("Authorization", "Bearer acme-key")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "the request used up its guest CPU budget of 1ns") {
		t.Errorf("response_format under PLUGIN_CPU_BUDGET = \"1ns\": status %d %s; want 400, the budget used up", resp.StatusCode, body)
	}
}
