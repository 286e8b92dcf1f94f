package edge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a buffer the server's goroutines write its log to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is everything written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// exchange writes req on a new connection to the server at url and reads the response, whose body is
// read to its end.
func exchange(t *testing.T, url, req string) (*http.Response, []byte) {
	t.Helper()
	conn := send(t, &net.Dialer{}, url, req)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no HTTP response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// apiErrorOf decodes an OpenAI error body.
func apiErrorOf(t *testing.T, body []byte) errorJSON {
	t.Helper()
	var out struct {
		Error *errorJSON `json:"error"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Error == nil {
		t.Fatalf("not an OpenAI error body (%v): %s", err, body)
	}
	return *out.Error
}

// TestUnreadableRequestQuotesNothing: a request fasthttp cannot read, next to an Authorization header,
// gets a JSON error naming the class of the problem, and neither the answer nor the server's log
// repeats any of the request's bytes.
func TestUnreadableRequestQuotesNothing(t *testing.T) {
	const secret = "sk-test-7Hq2ZxVb9"
	var log syncBuffer
	cfg := DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, url := startServer(t, cfg, &fakeModel{pieces: []string{"x"}})
	auth := "Authorization: Bearer " + secret + "\r\n"
	for _, c := range []struct {
		name, req string
		status    int
		class     string
	}{
		{"malformed request line", "HELLO-" + secret + "\r\nHost: test\r\n" + auth + "\r\n", 400, "malformed HTTP request"},
		{"malformed header", "GET /health HTTP/1.1\r\nHost: test\r\n" + auth + "Bad Header " + secret + "\r\n\r\n", 400, "malformed HTTP request"},
		{"headers too large", "GET /health HTTP/1.1\r\nHost: test\r\n" + auth + "X-Pad: " + strings.Repeat("p", 20<<10) + "\r\n\r\n",
			431, "request headers too large"},
	} {
		resp, body := exchange(t, url, c.req)
		e := apiErrorOf(t, body)
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != contentJSON || !strings.HasPrefix(e.Message, c.class) {
			t.Errorf("%s: status %d, %s: %s; want %d with a JSON error saying %q", c.name, resp.StatusCode,
				resp.Header.Get("Content-Type"), body, c.status, c.class)
		}
		var head bytes.Buffer
		resp.Header.Write(&head)
		if strings.Contains(string(body), secret) || strings.Contains(head.String(), secret) {
			t.Errorf("%s: the answer quotes the request:\n%s%s", c.name, head.String(), body)
		}
	}
	// fasthttp logs a connection's error after it has answered: wait for the two malformed requests'.
	waitFor(t, "the log of the malformed requests", func() bool { return strings.Count(log.String(), "connection") >= 2 })
	if strings.Contains(log.String(), secret) || !strings.Contains(log.String(), "malformed HTTP request") {
		t.Errorf("the log quotes the request or not its problem:\n%s", log.String())
	}
}

// TestHeaderLimit: request headers up to MaxHeaderBytes (16 KiB by default) are read; larger ones get
// 431 with an OpenAI error.
func TestHeaderLimit(t *testing.T) {
	_, url := startServer(t, DefaultConfig(), &fakeModel{pieces: []string{"x"}})
	for _, c := range []struct {
		pad    int
		status int
	}{{12 << 10, 200}, {20 << 10, 431}} {
		req, _ := http.NewRequest("GET", url+"/health", nil)
		req.Header.Set("X-Pad", strings.Repeat("p", c.pad))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%d KiB of headers: status %d, want %d: %s", c.pad>>10, resp.StatusCode, c.status, body)
			continue
		}
		if c.status == 431 {
			if e := apiErrorOf(t, body); e.Code == nil || *e.Code != "request_headers_too_large" || !strings.Contains(e.Message, "16384 bytes") {
				t.Errorf("%d KiB of headers: %s", c.pad>>10, body)
			}
		}
	}
}

// TestFasthttpLoggerWithholdsArguments: a fasthttp message not known to quote nothing of a request is
// logged without its arguments; one known to is logged whole.
func TestFasthttpLoggerWithholdsArguments(t *testing.T) {
	var log syncBuffer
	cfg := DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
	l := fasthttpLogger{NewServer(cfg)}
	l.Printf("cannot serve path with nil byte at position %d: %q", 3, "/v1/models?key=sk-secret")
	l.Printf("The number of connections from %s exceeds MaxConnsPerIP=%d", "192.0.2.7", 10)
	got := log.String()
	if strings.Contains(got, "sk-secret") || !strings.Contains(got, "withheld") || !strings.Contains(got, "from 192.0.2.7 exceeds MaxConnsPerIP=10") {
		t.Errorf("log:\n%s", got)
	}
}
