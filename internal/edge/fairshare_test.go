package edge

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/tenant"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// firstByte posts a streamed completion as the holder of key and returns how long its first event took.
func firstByte(ctx context.Context, url, key, body string) (time.Duration, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	var first time.Duration
	for sc.Scan() {
		if first == 0 && strings.HasPrefix(sc.Text(), "data: ") {
			first = time.Since(start)
		}
	}
	return first, sc.Err()
}

// twoTenants serves the real engine on a tiny qwen2 model with a 32k vocabulary to tenants a and b (keys
// "key-a" and "key-b"), two sequences at once, and returns it with the server's URL.
func twoTenants(t *testing.T) (*engine.Engine, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := modelgen.WriteFile(modelgen.Tiny("qwen2", kernels.Q8_0), testutil.Vocab(t, "ggml-vocab-deepseek-coder.gguf"), path); err != nil {
		t.Fatal(err)
	}
	rt, err := wasm.NewRuntime(context.Background(), wasm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(engine.Config{ModelPath: path, ID: "tiny", Context: 256, Threads: 1, Parallel: 2, MaxQueue: 64,
		Runtime: rt, TokenizerWasm: builtin.Tokenizer, SamplerWasm: builtin.Sampler})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	reg, err := tenant.New(tenant.Config{Tenants: []tenant.Tenant{
		{Name: "a", KeySHA256: []string{hashKey("key-a")}}, {Name: "b", KeySHA256: []string{hashKey("key-b")}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, url := startServer(t, Config{Tenants: reg}, e)
	return e, url
}

// TestFairShareHTTP: tenant a keeps 32 streamed completions in flight while tenant b sends one at a time;
// b's time to first token p99 stays within twice that of b alone (the engine's fair share, reached
// through keys, not arrival order). A run on this shared machine may be disturbed, so the comparison gets
// three tries, each against the quietest p99 of b alone so far.
func TestFairShareHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real engine under a flood")
	}
	e, url := twoTenants(t)
	<-e.Warmed()
	light := `{"prompt":[11,12,13,14,15,16,17,18],"max_tokens":2,"temperature":0,"ignore_eos":true,"stream":true}`
	ttfts := func(n int) time.Duration {
		var ds []time.Duration
		for range n {
			d, err := firstByte(context.Background(), url, "key-b", light)
			if err != nil {
				t.Fatal(err)
			}
			ds = append(ds, d)
		}
		slices.Sort(ds)
		return ds[(len(ds)*99+99)/100-1]
	}
	ttfts(3) // the first requests start the guests' instances
	alone, loaded := time.Duration(1<<62), time.Duration(0)
	for try := 1; try <= 3; try++ {
		alone = min(alone, ttfts(60)) // the quietest measurement of b alone: noise must not loosen the bound
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i := range 32 {
			body := fmt.Sprintf(`{"prompt":[%d,21,22,23,24,25,26,27],"max_tokens":%d,"temperature":0,"ignore_eos":true,"stream":true}`, 100+i, 6+i%3)
			wg.Go(func() {
				for ctx.Err() == nil {
					firstByte(ctx, url, "key-a", body) // errors: the flood ending
				}
			})
		}
		for deadline := time.Now().Add(10 * time.Second); e.Stats().Waiting < 16; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("10 s into a's flood: %+v", e.Stats())
			}
		}
		loaded = ttfts(60)
		cancel()
		wg.Wait()
		t.Logf("try %d: b's time to first token p99 alone %v, beside a's 32 clients %v", try, alone, loaded)
		if loaded <= 2*alone {
			return
		}
	}
	t.Errorf("b's time to first token p99 beside a's 32 clients is %v, alone %v: more than twice", loaded, alone)
}

// cachedTokens posts a completion as the holder of key and returns its usage's cached prompt tokens.
func cachedTokens(t *testing.T, url, key, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Usage struct {
			Details struct {
				Cached int `json:"cached_tokens"`
			} `json:"prompt_tokens_details"`
		} `json:"usage"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	return out.Usage.Details.Cached
}

// TestPrefixCachePerTenantHTTP: a tenant's repeated prompt is served from the prefix cache; the same
// prompt from another tenant is not (a hit would tell it, by its speed, what the first one asked).
func TestPrefixCachePerTenantHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real engine")
	}
	_, url := twoTenants(t)
	ids := make([]string, 40)
	for i := range ids {
		ids[i] = fmt.Sprint(300 + i)
	}
	body := `{"prompt":[` + strings.Join(ids, ",") + `],"max_tokens":1}`
	for i, want := range []int{0, 32} { // two whole blocks of 16 positions
		if got := cachedTokens(t, url, "key-a", body); got != want {
			t.Fatalf("a's request %d: %d cached tokens, want %d", i+1, got, want)
		}
	}
	if got := cachedTokens(t, url, "key-b", body); got != 0 {
		t.Fatalf("b reused %d tokens of a's prompt", got)
	}
	if got := cachedTokens(t, url, "key-b", body); got != 32 {
		t.Fatalf("b's own repeat: %d cached tokens, want 32", got)
	}
}
