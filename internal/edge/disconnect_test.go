package edge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// rawRequest is a POST of a JSON body as it goes on the wire.
func rawRequest(path, body string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		path, len(body), body)
}

// send opens a connection to the server at url with d and writes req on it.
func send(t *testing.T, d *net.Dialer, url, req string) net.Conn {
	t.Helper()
	conn, err := d.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return conn
}

// waitFor polls cond for up to 2 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// started reports whether m's Generate has been called.
func started(m *fakeModel) func() bool {
	return func() bool { return m.lastRequest().Prompt != nil }
}

// endedByClient waits up to within for m's generation to end, and checks that its client ended it.
func endedByClient(t *testing.T, m *fakeModel, within time.Duration) {
	t.Helper()
	select {
	case <-m.ended:
	case <-time.After(within):
		t.Fatalf("the generation went on %v after its client left: %d tokens", within, m.emitted.Load())
	}
	if err := m.lastErr(); !errors.Is(err, errClientGone) {
		t.Errorf("the generation ended with %v, want %v", err, errClientGone)
	}
}

// noWatchers checks that every client watcher has ended.
func noWatchers(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	waitFor(t, "the client watchers to end", func() bool {
		return !bytes.Contains(buf[:runtime.Stack(buf, true)], []byte("edge.watchClient"))
	})
}

// TestWholeResponseClientLeaves closes the connection of a non-streamed request mid-generation.
func TestWholeResponseClientLeaves(t *testing.T) {
	m := &fakeModel{pieces: []string{"tok "}, repeat: true, delay: time.Millisecond, ended: make(chan struct{})}
	_, url := startServer(t, DefaultConfig(), m)
	conn := send(t, &net.Dialer{}, url, rawRequest("/v1/completions", `{"prompt":"x","max_tokens":100000}`))
	waitFor(t, "the first token", func() bool { return m.emitted.Load() > 0 })
	conn.Close()
	endedByClient(t, m, time.Second)
	noWatchers(t)
}

// TestQueuedStreamClientLeaves closes the connection of a stream still waiting for its first token.
func TestQueuedStreamClientLeaves(t *testing.T) {
	m := &fakeModel{pieces: []string{"x"}, queued: make(chan struct{}), ended: make(chan struct{})}
	_, url := startServer(t, DefaultConfig(), m)
	conn := send(t, &net.Dialer{}, url, rawRequest("/v1/chat/completions", `{`+hi+`,"stream":true}`))
	waitFor(t, "the generation to start", started(m))
	conn.Close()
	endedByClient(t, m, time.Second)
	if n := m.emitted.Load(); n != 0 {
		t.Errorf("%d tokens generated for a client that left while queued", n)
	}
	noWatchers(t)
}

// TestPipelinedRequests sends a second request on a keep-alive connection while the first generates: the
// watcher sees its bytes waiting, must take it for a live client and must leave the bytes to fasthttp.
func TestPipelinedRequests(t *testing.T) {
	m := &fakeModel{pieces: []string{"a", "b", "c", "d", "e", "f"}, delay: 100 * time.Millisecond}
	_, url := startServer(t, DefaultConfig(), m)
	conn := send(t, &net.Dialer{}, url, rawRequest("/v1/completions", `{"prompt":"x","max_tokens":6}`))
	waitFor(t, "the first token", func() bool { return m.emitted.Load() > 0 })
	if _, err := io.WriteString(conn, rawRequest("/v1/completions", `{"prompt":"y","max_tokens":2}`)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	for _, want := range []string{"abcdef", "ab"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the answer %q: %v", want, err)
		}
		var out completion
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || len(out.Choices) != 1 || out.Choices[0].Text == nil || *out.Choices[0].Text != want {
			t.Fatalf("status %d, %+v (%v); want the text %q", resp.StatusCode, out, err, want)
		}
	}
	noWatchers(t)
}

// TestKeepAliveAfterStream sends a request on a connection whose stream ended longer than WriteTimeout
// ago: the stream's write deadline must be gone by then.
func TestKeepAliveAfterStream(t *testing.T) {
	cfg := DefaultConfig()
	cfg.WriteTimeout = 100 * time.Millisecond
	_, url := startServer(t, cfg, &fakeModel{pieces: []string{"a", "b"}})
	conn := send(t, &net.Dialer{}, url, rawRequest("/v1/completions", `{"prompt":"x","stream":true}`))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	for i, want := range []string{"data: [DONE]", `"text":"ab"`} {
		if i > 0 {
			time.Sleep(2 * cfg.WriteTimeout)
			io.WriteString(conn, rawRequest("/v1/completions", `{"prompt":"x"}`))
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("response %d: status %d, %q (%v)", i, resp.StatusCode, b, err)
		}
	}
}

// setBuffer returns a socket control function that sets the socket's send or receive buffer size.
func setBuffer(opt, bytes int) func(string, string, syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, bytes) }); cerr != nil {
			return cerr
		}
		return err
	}
}

// TestStalledReaderCutOff opens a stream and never reads it: once the socket buffers are full, an event
// waits WriteTimeout and the stream and its generation are cut off. A stream beside it that is read as it
// comes runs well past WriteTimeout.
func TestStalledReaderCutOff(t *testing.T) {
	lc := net.ListenConfig{Control: setBuffer(unix.SO_SNDBUF, 4096)} // accepted sockets inherit it
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.WriteTimeout = 300 * time.Millisecond
	stalled := &fakeModel{info: engine.ModelInfo{ID: "stalled"}, pieces: []string{strings.Repeat("x", 100)}, repeat: true,
		ended: make(chan struct{})}
	steady := &fakeModel{pieces: strings.Split("abcdefghij", ""), delay: 3 * cfg.WriteTimeout / 10}
	_, url := serveOn(t, ln, cfg, stalled, steady)

	begin := time.Now()
	send(t, &net.Dialer{Control: setBuffer(unix.SO_RCVBUF, 4096)}, url,
		rawRequest("/v1/completions", `{"model":"stalled","prompt":"x","stream":true,"max_tokens":100000}`))
	waitFor(t, "the stalled stream to begin", func() bool { return stalled.emitted.Load() > 10 })

	s := openStream(t, context.Background(), url+"/v1/completions", `{"model":"fake","prompt":"x","stream":true}`)
	defer s.body.Close()
	var text string
	for ev := s.next(); ev != "" && ev != "[DONE]"; ev = s.next() {
		var c chunk
		if err := json.Unmarshal([]byte(ev), &c); err != nil || c.Error != nil || len(c.Choices) != 1 || c.Choices[0].Text == nil {
			t.Fatalf("the steady stream's event %s (%v)", ev, err)
		}
		text += *c.Choices[0].Text
	}
	if text != "abcdefghij" {
		t.Errorf("the steady stream, read as it came, gave %q", text)
	}

	endedByClient(t, stalled, 3*time.Second)
	if took := time.Since(begin); took < cfg.WriteTimeout {
		t.Errorf("cut off after %v, before the write timeout %v", took, cfg.WriteTimeout)
	}
	if n := stalled.emitted.Load(); n >= 100000 {
		t.Errorf("the stalled stream ran to its end: %d tokens", n)
	}
	noWatchers(t)
}

// newWatchedRun is a run that never generates, for watchClient alone.
func newWatchedRun() *run {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &run{ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// TestWatchClient checks the watcher on a socket pair: bytes waiting are a live client and stay unread,
// a closed peer stops the run, stop ends the watcher, and a connection that is no socket is not watched.
func TestWatchClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	r := newWatchedRun()
	stop := watchClient(server, r)
	io.WriteString(client, "next")
	time.Sleep(3 * pollInterval)
	stop()
	if err := context.Cause(r.ctx); err != nil {
		t.Fatalf("a client with a request waiting was taken for gone: %v", err)
	}
	server.SetReadDeadline(time.Now().Add(time.Second))
	if b, err := io.ReadAll(io.LimitReader(server, 4)); string(b) != "next" {
		t.Fatalf("the waiting bytes were consumed: read %q, %v", b, err)
	}

	r = newWatchedRun()
	stop = watchClient(server, r)
	defer stop()
	client.Close()
	waitFor(t, "the watcher to see the client leave", func() bool { return r.ctx.Err() != nil })
	if err := context.Cause(r.ctx); !errors.Is(err, errClientGone) {
		t.Errorf("stopped for %v, want %v", err, errClientGone)
	}

	noWatchers(t)

	a, b := net.Pipe()
	defer a.Close()
	b.Close()
	r = newWatchedRun()
	stop = watchClient(a, r)
	defer stop()
	noWatchers(t) // nothing to watch on an in-memory connection
	if r.ctx.Err() != nil {
		t.Error("an in-memory connection was taken for a gone client")
	}
}
