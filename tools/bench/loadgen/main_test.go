package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeServer streams n text chunks per request, then a usage chunk when withUsage, then [DONE].
func fakeServer(t *testing.T, n int, withUsage bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			fmt.Fprint(w, `{"data":[{"id":"m"}]}`)
			return
		}
		var req completionRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "m" || !req.Stream || !req.IgnoreEOS {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"choices\":[{\"text\":\"\"}]}\n\n") // a role/empty chunk: not a token
		for i := range n {
			fmt.Fprintf(w, "data: {\"choices\":[{\"text\":\"t%d\"}],\"usage\":null}\n\n", i)
			w.(http.Flusher).Flush()
		}
		if withUsage {
			fmt.Fprintf(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":%d}}\n\n", n+1)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRun(t *testing.T) {
	for _, withUsage := range []bool{false, true} {
		srv := fakeServer(t, 5, withUsage)
		res, err := run(config{baseURL: srv.URL, clients: 3, requests: 7, promptTokens: 20, maxTokens: 5,
			timeout: 5 * time.Second, label: "fake"})
		if err != nil {
			t.Fatal(err)
		}
		want := 7 * 5
		if withUsage {
			want = 7 * 6 // the usage count wins over counted chunks
		}
		if res.Errors != 0 || res.GeneratedTokens != want || res.Requests != 7 || res.TTFTp50 <= 0 {
			t.Errorf("usage %v: %+v, want %d tokens and no errors", withUsage, res, want)
		}
	}
}

func TestRunErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "data: {\"error\":{\"message\":\"boom\"}}\n\n")
	}))
	defer srv.Close()
	res, err := run(config{baseURL: srv.URL, model: "m", clients: 2, requests: 3, promptTokens: 4, maxTokens: 2,
		timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 3 || !strings.Contains(res.FirstError, "boom") {
		t.Errorf("got %+v, want 3 errors naming boom", res)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:1/", "http://[::1]:8080"} {
		if _, err := loopbackURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://example.com", "https://127.0.0.1", "http://10.0.0.1:80", "http://127.0.0.1.nip.io"} {
		if _, err := loopbackURL(u); err == nil {
			t.Errorf("%s: allowed", u)
		}
	}
}

func TestPrompts(t *testing.T) {
	a, b := buildPrompt(0, 64), buildPrompt(1, 64)
	if a == b || !strings.HasPrefix(a, "Request 0:") || buildPrompt(0, 64) != a {
		t.Errorf("prompts should differ per request and repeat per run: %q %q", a, b)
	}
	if n := len(strings.Fields(a)); n < 55 || n > 70 {
		t.Errorf("64-token prompt has %d words", n)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if p50, p99 := percentileMS(ds, 50), percentileMS(ds, 99); p50 != 50 || p99 != 99 {
		t.Errorf("p50 %v p99 %v", p50, p99)
	}
	if percentileMS(nil, 50) != 0 || percentileMS(ds[:1], 99) != 1 {
		t.Error("edge cases")
	}
}

func TestSummary(t *testing.T) {
	var lines []string
	for round := 1; round <= 3; round++ {
		for _, c := range []int{1, 32} {
			for label, tps := range map[string]float64{"wasmoe": 10, "llama-np8": 20, "llama-np32": 40} {
				r := Result{Label: label, Round: round, Clients: c, GenTokPerSec: tps * float64(c),
					TTFTp99: 100, ITLp99: 50 * float64(c)}
				b, _ := json.Marshal(r)
				lines = append(lines, string(b))
			}
		}
	}
	path := filepath.Join(t.TempDir(), "r.jsonl")
	if err := os.WriteFile(path, []byte("noise\n"+strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := summarize(&out, path, "wasmoe", []string{"llama-np8", "llama-np32"}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"llama-np32", "0.25", "at 32 clients / at 1: 32.00"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	t.Log("\n" + s)
}
