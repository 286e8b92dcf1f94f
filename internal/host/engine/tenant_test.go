package engine

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// p99 is the nearest-rank 99th percentile of ds.
func p99(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[(len(s)*99+99)/100-1]
}

// flood keeps n requests of req running at once, each sent again as soon as it ends, with req.MaxTokens
// varied so that they do not all end in the same step; stop ends them and waits for them.
func flood(t *testing.T, e *Engine, req Request, n int) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range n {
		r := req
		r.Prompt = append([]int32{int32(i)}, req.Prompt...)
		r.MaxTokens = req.MaxTokens + i%3
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := e.Generate(ctx, r, func(Piece) error { return nil }); err != nil && !errors.Is(err, context.Canceled) {
					t.Error(err)
					return
				}
			}
		})
	}
	for deadline := time.Now().Add(5 * time.Second); e.Stats().Waiting < n-e.parallel-2; {
		if time.Now().After(deadline) {
			cancel()
			wg.Wait()
			t.Fatalf("5 s into a flood of %d requests: %+v", n, e.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// TestFairShareAcrossTenants: with two running places, tenant a floods the engine with 16 requests at a
// time and tenant b sends one request after another. Admission by service counters lets each of b's
// requests in at the next free place, so its time to first token p99 stays within twice what it is alone
// (where it includes the 10 ms a lone prompt waits for company, coalesceQuiet); admission in arrival order
// queues it behind a's backlog, four to eight times alone on a shared 2-core machine. The small-vocabulary
// model keeps a step short beside that. One try of 100 requests can catch a stray pause of the
// machine, so the bound must hold in one of three tries.
func TestFairShareAcrossTenants(t *testing.T) {
	e := openSmallVocab(t, Config{Parallel: 2, Context: 256})
	sp := DefaultSampling()
	sp.Temperature = 0 // greedy: sampling stays cheap beside the step
	light := Request{Prompt: []int32{11, 12, 13, 14, 15, 16, 17, 18}, MaxTokens: 2, Sampling: sp, IgnoreEOS: true,
		Tenant: "b"}
	heavy := Request{Prompt: []int32{21, 22, 23, 24, 25, 26, 27}, MaxTokens: 6, Sampling: sp, IgnoreEOS: true,
		Tenant: "a"}
	<-e.Warmed()
	firstTokens(t, e, light, 1) // the first request starts the guests' instances
	alone, loaded := time.Duration(1<<62), time.Duration(0)
	for try := 1; try <= 3; try++ {
		alone = min(alone, p99(firstTokens(t, e, light, 100))) // the quietest: noise must not loosen the bound
		stop := flood(t, e, heavy, 16)
		loaded = p99(firstTokens(t, e, light, 100))
		stop()
		t.Logf("try %d: b's time to first token p99 alone %v, beside a's flood %v", try, alone, loaded)
		if loaded <= 2*alone {
			break
		}
	}
	if loaded > 2*alone {
		t.Errorf("b's time to first token p99 beside a's flood is %v, alone %v: more than twice", loaded, alone)
	}
	idle(t, e)
}

// TestPrefixCachePerTenant: a tenant's second request of a prompt hits the prefix cache; the same prompt
// from another tenant does not (a hit would tell it, by its time to first token, what the first asked).
func TestPrefixCachePerTenant(t *testing.T) {
	e := openTiny(t, Config{})
	prompt := make([]int32, 40)
	for i := range prompt {
		prompt[i] = int32(300 + i)
	}
	req := Request{Prompt: prompt, MaxTokens: 2, Sampling: DefaultSampling(), IgnoreEOS: true, Tenant: "a"}
	for i, want := range []int{0, 32} { // two full blocks of 16; the 40th token runs for its logits
		if _, _, res := collect(t, e, req); res.CachedTokens != want {
			t.Fatalf("tenant a's request %d reused %d cached tokens, want %d", i+1, res.CachedTokens, want)
		}
	}
	for _, other := range []string{"b", ""} {
		req.Tenant = other
		if _, _, res := collect(t, e, req); res.CachedTokens != 0 {
			t.Fatalf("tenant %q reused %d tokens of tenant a's prompt", other, res.CachedTokens)
		}
	}
	req.Tenant = "b"
	if _, _, res := collect(t, e, req); res.CachedTokens != 32 {
		t.Fatalf("tenant b's second request reused %d cached tokens, want 32", res.CachedTokens)
	}
	idle(t, e)
}
