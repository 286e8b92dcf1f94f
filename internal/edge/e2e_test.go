package edge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// startServer serves models on a free loopback port and returns the base URL.
func startServer(t *testing.T, cfg Config, models ...Model) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, ln, cfg, models...)
}

// serveOn serves models on ln until the test ends and returns the base URL. It logs to cfg.Logger, or
// nowhere.
func serveOn(t *testing.T, ln net.Listener, cfg Config, models ...Model) (*Server, string) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	s := NewServer(cfg, models...)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, "http://" + ln.Addr().String()
}

// sseReader reads a stream's events line by line, as a client does.
type sseReader struct {
	t    *testing.T
	body io.ReadCloser
	sc   *bufio.Scanner
}

func openStream(t *testing.T, ctx context.Context, url, body string) *sseReader {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-cache" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, headers %v: %s", resp.StatusCode, resp.Header, b)
	}
	return &sseReader{t: t, body: resp.Body, sc: bufio.NewScanner(resp.Body)}
}

// next returns the next event's data, or "" at the end of the stream.
func (r *sseReader) next() string {
	r.t.Helper()
	if !r.sc.Scan() {
		return ""
	}
	data, ok := strings.CutPrefix(r.sc.Text(), "data: ")
	if !ok || !r.sc.Scan() || r.sc.Text() != "" {
		r.t.Fatalf("not an SSE data event followed by a blank line: %q", data)
	}
	return data
}

func TestEndToEnd(t *testing.T) {
	m := &fakeModel{info: engine.ModelInfo{ChatTemplate: "{{ messages[0]['content'] }}<think>\n"},
		pieces: []string{"Hmm", "</think>", "\n\nHi", " there"}}
	_, url := startServer(t, DefaultConfig(), m)

	s := openStream(t, context.Background(), url+"/v1/chat/completions",
		`{"model":"fake","messages":[{"role":"user","content":"Hello"}],"stream":true,"stream_options":{"include_usage":true}}`)
	defer s.body.Close()
	var evs []string
	for ev := s.next(); ev != ""; ev = s.next() {
		evs = append(evs, ev)
	}
	want := []string{`"delta":{"role":"assistant","content":""}`, `"delta":{"reasoning_content":"Hmm","reasoning":"Hmm"}`, `"delta":{"content":"Hi"}`,
		`"delta":{"content":" there"}`, `"delta":{},"logprobs":null,"finish_reason":"stop"`, `"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":4,"total_tokens":5`, `[DONE]`}
	if len(evs) != len(want) {
		t.Fatalf("events %q", evs)
	}
	for i := range want {
		if !strings.Contains(evs[i], want[i]) {
			t.Errorf("event %d = %s, want it to contain %s", i, evs[i], want[i])
		}
	}

	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"a b","max_tokens":2}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Choices []struct {
			Text         string `json:"text"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || out.Choices[0].Text != "Hmm</think>" || out.Choices[0].FinishReason != "length" {
		t.Errorf("completion: %d %+v %v", resp.StatusCode, out, err)
	}
}

// TestDisconnectStopsGeneration leaves a stream early: the model's next emit must fail and the generation end.
func TestDisconnectStopsGeneration(t *testing.T) {
	m := &fakeModel{pieces: []string{"tok "}, repeat: true, delay: time.Millisecond, ended: make(chan struct{})}
	_, url := startServer(t, DefaultConfig(), m)
	ctx, cancel := context.WithCancel(context.Background())
	s := openStream(t, ctx, url+"/v1/completions", `{"prompt":"x","stream":true,"max_tokens":100000}`)
	for range 3 {
		if s.next() == "" {
			t.Fatal("stream ended early")
		}
	}
	cancel()
	s.body.Close()
	select {
	case <-m.ended:
	case <-time.After(5 * time.Second):
		t.Fatalf("the generation went on after the client left: %d tokens", m.emitted.Load())
	}
	if n := m.emitted.Load(); n > 1000 || m.emitErrs != 1 {
		t.Errorf("%d tokens emitted, %d failed emits; want few and 1", n, m.emitErrs)
	}
}

// TestShutdown checks that Shutdown waits for open streams, and cancels them when its context ends.
func TestShutdown(t *testing.T) {
	m := &fakeModel{pieces: []string{"tok "}, repeat: true, delay: time.Millisecond, ended: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Logger = quiet
	srv := NewServer(cfg, m)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s := openStream(t, context.Background(), "http://"+ln.Addr().String()+"/v1/completions", `{"prompt":"x","stream":true,"max_tokens":100000}`)
	defer s.body.Close()
	if s.next() == "" {
		t.Fatal("no first event")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with a stream open: %v", err)
	}
	var last []string
	for ev := s.next(); ev != ""; ev = s.next() {
		last = append(last, ev)
	}
	if n := len(last); n < 2 || last[n-1] != "[DONE]" || !strings.Contains(last[n-2], `"code":"shutting_down"`) {
		t.Errorf("stream after shutdown ends with %q", last[max(0, len(last)-2):])
	}
	select {
	case <-m.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the generation survived Shutdown")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// A body over the limit gets its 413 in OpenAI's shape, small or large: the answer reaches a client still
// sending the rest, instead of a reset that loses it (the server lingers before closing).
func TestBodyLimit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxBodyBytes = 1024
	_, url := startServer(t, cfg, &fakeModel{pieces: []string{"x"}})
	for i := range 20 {
		size := 2000
		if i%2 == 1 {
			size = 4 << 20
		}
		resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"`+strings.Repeat("a", size)+`"}`))
		if err != nil {
			t.Fatalf("a %d-byte body: %v", size, err)
		}
		var out struct {
			Error *errorJSON `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 413 || out.Error == nil || *out.Error.Code != "request_too_large" {
			t.Fatalf("a %d-byte body: status %d, %+v, %v", size, resp.StatusCode, out.Error, err)
		}
	}
}
