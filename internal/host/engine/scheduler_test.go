package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// answer is what one request produced: each choice's tokens and text, and how it ended.
type answer struct {
	ids  [][]int32
	text []string
	res  Result
	err  error
}

// generate runs req and gathers its answer.
func generate(ctx context.Context, e *Engine, req Request) answer {
	var a answer
	a.res, a.err = e.Generate(ctx, req, func(p Piece) error {
		for len(a.ids) <= p.Index {
			a.ids, a.text = append(a.ids, nil), append(a.text, "")
		}
		if p.Token >= 0 {
			a.ids[p.Index] = append(a.ids[p.Index], p.Token)
		}
		a.text[p.Index] += p.Text
		return nil
	})
	return a
}

// mixedRequests are requests of varied prompts, lengths, sampling settings and choices, with seeds:
// each must give the same answer whatever runs beside it.
func mixedRequests(r *rand.Rand, n, vocab int) []Request {
	shared := make([]int32, 24) // a common start: prefix-cache hits and shared blocks
	for i := range shared {
		shared[i] = int32(r.IntN(vocab))
	}
	var reqs []Request
	for i := range n {
		prompt := make([]int32, 1+r.IntN(40))
		for j := range prompt {
			prompt[j] = int32(r.IntN(vocab))
		}
		if i%2 == 0 {
			prompt = append(slices.Clone(shared), prompt...)
		}
		sp := DefaultSampling()
		sp.Temperature, sp.TopK, sp.Seed = float32(r.IntN(3))*0.7, r.IntN(50), r.Uint64()
		req := Request{Prompt: prompt, MaxTokens: 4 + r.IntN(20), Sampling: sp, IgnoreEOS: true}
		if r.IntN(4) == 0 {
			req.N = 2 + r.IntN(2)
		}
		reqs = append(reqs, req)
	}
	return reqs
}

// together runs every request at once and returns their answers in order.
func together(e *Engine, reqs []Request) []answer {
	out := make([]answer, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() { out[i] = generate(context.Background(), e, req) })
	}
	wg.Wait()
	return out
}

// sameAnswer fails unless got is want (the cached token count aside).
func sameAnswer(t *testing.T, what string, got, want answer) {
	t.Helper()
	if got.err != nil || want.err != nil {
		t.Fatalf("%s: errors %v and %v", what, got.err, want.err)
	}
	got.res.CachedTokens, want.res.CachedTokens = 0, 0
	if fmt.Sprint(got.ids, got.res) != fmt.Sprint(want.ids, want.res) || !slices.Equal(got.text, want.text) {
		t.Fatalf("%s:\n got %v %q %+v\nwant %v %q %+v", what, got.ids, got.text, got.res, want.ids, want.text, want.res)
	}
}

// idle waits until the scheduler has nothing running or waiting and every block is free (or only the
// prefix cache holds it); it fails after a second.
func idle(t *testing.T, e *Engine) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		st := e.Stats()
		if st.Running == 0 && st.Waiting == 0 && st.KVBlocksUsed == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a second after the last request: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAnswersDoNotDependOnLoad: with seeds, every request's answer (tokens, text, choices) is the same
// alone and among many others, with a small and a large step budget, on both architectures. This rests
// on batch-invariant logits (internal/host/model's TestBatchInvariance).
func TestAnswersDoNotDependOnLoad(t *testing.T) {
	for _, arch := range []string{"qwen2", "deepseek2"} {
		t.Run(arch, func(t *testing.T) {
			alone := openModel(t, Config{Parallel: 1}, modelgen.Tiny(arch, kernels.Q8_0))
			reqs := mixedRequests(rand.New(rand.NewPCG(1, 2)), 12, alone.Info().VocabSize)
			var want []answer
			for _, req := range reqs {
				want = append(want, generate(context.Background(), alone, req))
			}
			for _, cfg := range []Config{{Parallel: 16, BatchTokens: 7}, {Parallel: 5, BatchTokens: 512}} {
				e := openModel(t, cfg, modelgen.Tiny(arch, kernels.Q8_0))
				for i, got := range together(e, reqs) {
					sameAnswer(t, fmt.Sprintf("%+v request %d", cfg, i), got, want[i])
				}
				idle(t, e)
			}
		})
	}
}

// TestPrefixCacheHit: a request whose prompt shares full blocks with an earlier one reuses them, says so
// in CachedTokens, and answers exactly as without the cache.
func TestPrefixCacheHit(t *testing.T) {
	e := openTiny(t, Config{})
	prompt := make([]int32, 50)
	for i := range prompt {
		prompt[i] = int32(100 + i)
	}
	sp := DefaultSampling()
	sp.Seed = 9
	req := Request{Prompt: prompt, MaxTokens: 12, Sampling: sp, IgnoreEOS: true}
	cold := generate(context.Background(), e, req)
	if cold.res.CachedTokens != 0 {
		t.Fatalf("the first request found %d cached tokens", cold.res.CachedTokens)
	}
	warm := generate(context.Background(), e, req)
	if warm.res.CachedTokens != 48 { // three full blocks of 16; the 50th token runs for its logits
		t.Fatalf("the second request reused %d tokens, want 48", warm.res.CachedTokens)
	}
	sameAnswer(t, "prefix hit", warm, cold)
	req.NoPromptCache = true
	opt := generate(context.Background(), e, req)
	if opt.res.CachedTokens != 0 {
		t.Fatalf("NoPromptCache reused %d tokens", opt.res.CachedTokens)
	}
	sameAnswer(t, "NoPromptCache", opt, cold)
	longer := req
	longer.NoPromptCache, longer.Prompt = false, append(slices.Clone(prompt), 7, 8, 9)
	if a := generate(context.Background(), e, longer); a.res.CachedTokens != 48 || a.err != nil {
		t.Fatalf("a longer prompt reused %d tokens (%v), want 48", a.res.CachedTokens, a.err)
	}
	idle(t, e)
}

// TestPreemptionLosesNothing: with a KV cache far too small for the load, sequences are preempted and
// recomputed, and every answer is still exactly the one a large cache gives.
func TestPreemptionLosesNothing(t *testing.T) {
	big := openTiny(t, Config{})
	reqs := mixedRequests(rand.New(rand.NewPCG(3, 4)), 10, big.Info().VocabSize)
	want := together(big, reqs)
	small := openTiny(t, Config{Parallel: 10, KVCacheTokens: 112, Context: 96})
	for i, got := range together(small, reqs) {
		sameAnswer(t, fmt.Sprintf("request %d", i), got, want[i])
	}
	if small.Stats().Preemptions == 0 {
		t.Fatal("a 112-token cache under 10 requests preempted nothing: the test does not test preemption")
	}
	idle(t, small)
}

// TestCancelFreesBlocks: a running request whose context is cancelled, and queued ones whose clients are
// gone, let go of everything within a second; the queued ones never reach the model.
func TestCancelFreesBlocks(t *testing.T) {
	e := openTiny(t, Config{Parallel: 1, Context: 512})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		_, err := e.Generate(ctx, Request{Prompt: []int32{1, 2, 3}, Sampling: DefaultSampling(), IgnoreEOS: true},
			func(Piece) error { signal(started); return nil })
		done <- err
	}()
	<-started
	qctx, qcancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			_, err := e.Generate(qctx, Request{Prompt: []int32{4, 5}, Sampling: DefaultSampling()}, func(Piece) error {
				t.Error("a request cancelled while queued produced a token")
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("a request cancelled while queued: %v", err)
			}
		})
	}
	for e.Stats().Waiting < 5 {
		time.Sleep(time.Millisecond)
	}
	qcancel()
	wg.Wait()
	if st := e.Stats(); st.Running != 1 {
		t.Fatalf("after the queued requests left: %+v", st)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled request returned %v", err)
	}
	idle(t, e)
}

// TestStalledReader: a request whose reader stops taking pieces is paused, then cut off after the write
// timeout with its blocks freed, while another request runs at its own pace.
func TestStalledReader(t *testing.T) {
	e := openTiny(t, Config{Context: 1024, WriteTimeout: 300 * time.Millisecond})
	sp := DefaultSampling()
	normal := Request{Prompt: []int32{7, 8, 9}, MaxTokens: 200, Sampling: sp, IgnoreEOS: true}
	start := time.Now()
	generate(context.Background(), e, normal)
	aloneTime := time.Since(start)

	hold := make(chan struct{})
	stalled := make(chan error, 1)
	go func() {
		_, err := e.Generate(context.Background(), Request{Prompt: []int32{1, 2}, Sampling: sp, IgnoreEOS: true},
			func(Piece) error { <-hold; return nil })
		stalled <- err
	}()
	for e.Stats().Running == 0 {
		time.Sleep(time.Millisecond)
	}
	start = time.Now()
	if a := generate(context.Background(), e, normal); a.err != nil || len(a.ids[0]) != 200 {
		t.Fatalf("the normal request beside a stalled one: %v, %d tokens", a.err, len(a.ids[0]))
	}
	// The two shared steps while the stalled request computed; past outboxPieces it computes nothing.
	if took := time.Since(start); took > 3*aloneTime+time.Second {
		t.Errorf("beside a stalled reader a request took %v, alone %v", took, aloneTime)
	}
	deadline := time.After(5 * time.Second)
	for e.Stats().Running > 0 {
		select {
		case <-deadline:
			t.Fatalf("the stalled request still runs: %+v", e.Stats())
		default:
			time.Sleep(5 * time.Millisecond)
		}
	}
	if st := e.Stats(); st.KVBlocksUsed != 0 {
		t.Fatalf("the cut-off request's blocks are still used: %+v", st)
	}
	close(hold)
	if err := <-stalled; !errors.Is(err, ErrWriteTimeout) {
		t.Fatalf("the stalled request ended with %v, want ErrWriteTimeout", err)
	}
}

// TestSoak runs a few hundred requests, some cancelled at random moments, through a small cache: at the
// end every block is free and the goroutines are back to where they started.
func TestSoak(t *testing.T) {
	e := openTiny(t, Config{Parallel: 6, KVCacheTokens: 400, Context: 128, MaxQueue: 1000})
	base := runtime.NumGoroutine()
	r := rand.New(rand.NewPCG(5, 6))
	reqs := mixedRequests(r, 300, e.Info().VocabSize)
	var wg sync.WaitGroup
	for i, req := range reqs {
		delay := time.Duration(r.IntN(40)) * time.Millisecond
		cancelAt := -1
		if i%3 == 0 {
			cancelAt = r.IntN(6)
		}
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if cancelAt == 0 {
				time.AfterFunc(delay, cancel)
			}
			n := 0
			_, err := e.Generate(ctx, req, func(Piece) error {
				if n++; n == cancelAt {
					cancel()
				}
				return nil
			})
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("request %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	idle(t, e)
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Fatalf("%d goroutines after the soak, %d before", n, base)
	}
}
