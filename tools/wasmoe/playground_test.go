package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServePlayground: `wasmoe serve` serves the web playground at /, NO_PLAYGROUND = true in
// wrangler.toml turns it off (404 with an OpenAI error), and --no-playground=false on the command line
// overrides the file.
func TestServePlayground(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "wrangler.toml")
	if err := os.WriteFile(cfg, []byte("name = \"edge\"\n[vars]\nNO_PLAYGROUND = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	get := func(s *server) (int, string, string) {
		resp, err := http.Get(s.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	off := startServer(t, "--config", cfg)
	code, ctype, body := get(off)
	var e struct{ Error struct{ Message string } }
	if code != 404 || json.Unmarshal([]byte(body), &e) != nil || e.Error.Message == "" {
		t.Errorf("NO_PLAYGROUND = true: GET / is %d %s %q, want 404 with an OpenAI error", code, ctype, body)
	}
	if strings.Contains(off.log.String(), "playground") {
		t.Errorf("NO_PLAYGROUND = true, yet the start mentions the playground:\n%s", off.log)
	}
	on := startServer(t, "--config", cfg, "--no-playground=false")
	if code, ctype, body := get(on); code != 200 || ctype != "text/html; charset=utf-8" || !strings.Contains(body, "<title>wasmoe playground</title>") {
		t.Errorf("--no-playground=false over NO_PLAYGROUND = true: GET / is %d %s %.80q", code, ctype, body)
	}
	if !strings.Contains(on.log.String(), "wasmoe: web playground at "+on.url+"/\n") {
		t.Errorf("the start does not give the playground's address:\n%s", on.log)
	}
}
