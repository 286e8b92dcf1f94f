package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestServeBindsBeforeLoading starts `wasmoe serve` with an empty cache, so that it compiles its guests
// while loading, and polls it from the start: before the model is in, /health answers 200, /ready 503 and a
// chat completion 503 with Retry-After and "model is loading", all before the log says it is serving; then
// /ready turns 200 and the same completion is answered.
func TestServeBindsBeforeLoading(t *testing.T) {
	model := r1Model(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "http://" + addr
	var log lockedBuffer
	cmd := exec.Command(bin, "serve", "--addr", addr, "--model", model, "--ctx", "256")
	cmd.Env = append(os.Environ(), "WASMOE_CACHE="+t.TempDir())
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", log.String())
		}
	})
	get := func(path string) (*http.Response, string, error) {
		resp, err := http.Get(url + path)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b), nil
	}
	body := `{"model":"r1","messages":[{"role":"user","content":"Hi"}],"max_tokens":2}`
	complete := func() (*http.Response, string) {
		resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	var ready *http.Response
	var readyBody string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if ready, readyBody, err = get("/ready"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the port did not answer in 30 s: %v", err)
		}
	}
	if ready.StatusCode != http.StatusServiceUnavailable || !strings.Contains(readyBody, "loading") {
		t.Fatalf("first /ready: %d %s; want 503 while the model loads", ready.StatusCode, readyBody)
	}
	if resp, b, err := get("/health"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/health while loading: %v %v %s", err, resp, b)
	}
	if resp, b := complete(); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(b, `"message":"model is loading"`) {
		t.Errorf("completion while loading: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	for deadline := time.Now().Add(60 * time.Second); ready.StatusCode != 200; time.Sleep(50 * time.Millisecond) {
		if ready, readyBody, err = get("/ready"); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("/ready: %d %s a minute after start", ready.StatusCode, readyBody)
		}
	}
	if resp, b := complete(); resp.StatusCode != 200 {
		t.Errorf("completion once ready: %d %s", resp.StatusCode, b)
	}
}
