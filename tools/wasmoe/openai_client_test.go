package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

// TestOpenAIClient runs tools/openai-client's tests, the official openai npm client (pinned by its
// package-lock.json) against `wasmoe serve` on the random-weight default model: models.list and
// models.retrieve (NotFoundError for an unknown id), chat non-streamed and streamed (the stream
// reassembles the whole answer), completions with logprobs and echo, chat logprobs, json_schema output
// validated by ajv, a bad parameter as BadRequestError with the server's message, and AbortController
// (the server counts the request aborted). `make test` installs node and the client (make
// openai-client); a plain `go test` without them skips, saying so (testutil.NodeClient).
func TestOpenAIClient(t *testing.T) {
	node, dir := testutil.NodeClient(t)
	s := startServer(t, "--ctx", "2048")
	start := time.Now()
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
	t.Logf("ready after %v", time.Since(start))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "client.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WASMOE_URL="+s.url, "WASMOE_MODEL="+servedModel(t, s))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test client.test.mjs: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// servedModel returns the id of the model a server serves, the first /v1/models lists.
func servedModel(t *testing.T, s *server) string {
	t.Helper()
	resp, err := http.Get(s.url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct{ ID string } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Data) == 0 {
		t.Fatalf("/v1/models: %v %+v", err, list)
	}
	return list.Data[0].ID
}
