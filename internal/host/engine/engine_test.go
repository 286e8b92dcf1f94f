package engine

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

func openTiny(t *testing.T, cfg Config) *Engine {
	t.Helper()
	return openModel(t, cfg, modelgen.Tiny("qwen2", kernels.Q8_0))
}

// openModel opens an engine on a random-weight model with the Qwen2 tokenizer.
func openModel(t *testing.T, cfg Config, o modelgen.Options) *Engine {
	t.Helper()
	return openModelVocab(t, cfg, o, "ggml-vocab-qwen2.gguf")
}

// openModelVocab opens an engine on a random-weight model with the tokenizer of a testdata/vocab file.
func openModelVocab(t *testing.T, cfg Config, o modelgen.Options, vocab string) *Engine {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := modelgen.WriteFile(o, testutil.Vocab(t, vocab), path); err != nil {
		t.Fatal(err)
	}
	rt, err := wasm.NewRuntime(context.Background(), wasm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.ModelPath, cfg.Runtime, cfg.TokenizerWasm, cfg.SamplerWasm = path, rt, builtin.Tokenizer, builtin.Sampler
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })

	return e
}

func collect(t *testing.T, e *Engine, req Request) ([]int32, string, Result) {
	t.Helper()
	var ids []int32
	var text string
	res, err := e.Generate(context.Background(), req, func(p Piece) error {
		if p.Token >= 0 {
			ids = append(ids, p.Token)
		}
		text += p.Text
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids, text, res
}

// TestGreedyMatchesForward checks greedy generation through the guests against an argmax loop over the
// model's own forward pass.
func TestGreedyMatchesForward(t *testing.T) {
	e := openTiny(t, Config{})
	prompt, err := e.Tokenize(context.Background(), "The capital of France is", false, false)
	if err != nil {
		t.Fatal(err)
	}
	sp := DefaultSampling()
	sp.Temperature = 0
	ids, text, res := collect(t, e, Request{Prompt: prompt, MaxTokens: 12, Sampling: sp, IgnoreEOS: true})

	m, pool := e.Model(), e.Pool()
	s := m.NewState(0)
	logits, _ := m.Forward(pool, s, prompt, false)
	var want []int32
	for len(want) < 12 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		want = append(want, int32(best))
		logits, _ = m.Forward(pool, s, []int32{int32(best)}, false)
	}
	if len(ids) != 12 || res.CompletionTokens != 12 || res.FinishReason != FinishLength {
		t.Fatalf("generated %d tokens, result %+v", len(ids), res)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("token %d: %d, forward argmax %d", i, ids[i], want[i])
		}
	}
	back, _ := e.Detokenize(context.Background(), ids)
	if back != text {
		t.Errorf("streamed text %q, detokenized %q", text, back)
	}
}

func TestStopsOnEOS(t *testing.T) {
	e := openTiny(t, Config{})
	eos := e.vocab.EOS
	sp := DefaultSampling()
	sp.LogitBias = map[int32]float32{eos: 1000}
	ids, _, res := collect(t, e, Request{Prompt: []int32{1, 2, 3}, MaxTokens: 10, Sampling: sp})
	if len(ids) != 0 || res.FinishReason != FinishStop || res.CompletionTokens != 0 {
		t.Fatalf("forced EOS: %d tokens, %+v", len(ids), res)
	}
}

func TestSeedDeterminism(t *testing.T) {
	e := openTiny(t, Config{})
	sp := DefaultSampling()
	sp.Seed = 42
	a, _, _ := collect(t, e, Request{Prompt: []int32{10, 20}, MaxTokens: 16, Sampling: sp, IgnoreEOS: true})
	b, _, _ := collect(t, e, Request{Prompt: []int32{10, 20}, MaxTokens: 16, Sampling: sp, IgnoreEOS: true})
	sp.Seed = 43
	c, _, _ := collect(t, e, Request{Prompt: []int32{10, 20}, MaxTokens: 16, Sampling: sp, IgnoreEOS: true})
	if len(a) != 16 || len(b) != 16 {
		t.Fatalf("lengths %d %d", len(a), len(b))
	}
	same := func(x, y []int32) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("same seed, different tokens")
	}
	if same(a, c) {
		t.Error("different seeds, same 16 tokens")
	}
}

func TestLimits(t *testing.T) {
	e := openTiny(t, Config{Context: 16, MaxQueue: 1, Parallel: 1})
	ctx := context.Background()
	noop := func(Piece) error { return nil }
	if _, err := e.Generate(ctx, Request{Prompt: make([]int32, 16)}, noop); !errors.Is(err, ErrPromptTooLong) {
		t.Errorf("16-token prompt in a 16-token context: %v", err)
	}
	// The context bounds generation: 10 prompt tokens leave room for 6.
	ids, _, res := collect(t, e, Request{Prompt: make([]int32, 10), Sampling: DefaultSampling(), IgnoreEOS: true})
	if len(ids) != 6 || res.FinishReason != FinishLength {
		t.Errorf("context-bounded generation: %d tokens, %+v", len(ids), res)
	}
	// A cancelled context stops generation at once.
	cctx, cancel := context.WithCancel(ctx)
	n := 0
	_, err := e.Generate(cctx, Request{Prompt: []int32{1}, Sampling: DefaultSampling(), IgnoreEOS: true}, func(Piece) error {
		if n++; n == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 2 {
		t.Errorf("cancel: err %v after %d tokens", err, n)
	}
	// With the one running place taken (a request whose reader stalls keeps it: it pauses with its
	// output buffer full) and the one queue place taken, the next request is refused.
	e.Close()
	e = openTiny(t, Config{Context: 512, MaxQueue: 1, Parallel: 1})
	hold := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		e.Generate(ctx, Request{Prompt: []int32{1}, Sampling: DefaultSampling(), IgnoreEOS: true}, func(Piece) error {
			select {
			case started <- struct{}{}:
			default:
			}
			<-hold
			return errors.New("done")
		})
	}()
	<-started
	go func() { // waits in the queue
		defer wg.Done()
		e.Generate(ctx, Request{Prompt: []int32{1}, MaxTokens: 1}, noop)
	}()
	for e.Stats().Waiting < 1 {
		time.Sleep(time.Millisecond)
	}
	if _, err := e.Generate(ctx, Request{Prompt: []int32{1}, MaxTokens: 1}, noop); !errors.Is(err, ErrOverloaded) {
		t.Errorf("third request with queue 1: %v", err)
	}
	close(hold)
	wg.Wait()
	e.Close()
	if _, err := e.Generate(ctx, Request{Prompt: []int32{1}, MaxTokens: 1}, noop); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestCompleteUTF8(t *testing.T) {
	cases := []struct {
		in   string
		want int
	}{{"abc", 3}, {"a\xe4\xbd", 1}, {"\xe4\xbd\xa0", 3}, {"a\xff", 2}, {"\xf0\x9f\x98", 0}, {"", 0}}
	for _, c := range cases {
		if got := completeUTF8([]byte(c.in)); got != c.want {
			t.Errorf("completeUTF8(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}
