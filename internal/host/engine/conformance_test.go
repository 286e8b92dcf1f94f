package engine

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// conformanceGuests are the builds of the conformance guest, one per SDK (make guests builds them).
var conformanceGuests = map[string]string{
	"go": "guest/examples/conformance/conformance.wasm",
	"c":  "guest/c/conformance.wasm",
	"as": "guest/as/policy.wasm",
}

// conformanceConfig is the conformance guest's config: mode, X, Y (guest/examples/conformance).
func conformanceConfig(mode byte, x, y int32) []byte {
	b := make([]byte, 12)
	b[0] = mode
	binary.LittleEndian.PutUint32(b[4:], uint32(x))
	binary.LittleEndian.PutUint32(b[8:], uint32(y))
	return b
}

// TestConformance runs every SDK's conformance guest on both engines through the whole generation loop
// and checks each action against what it must do to the model's own greedy output.
func TestConformance(t *testing.T) {
	for _, engineName := range wasm.Engines() {
		t.Run(engineName, func(t *testing.T) {
			rt, err := wasm.NewRuntime(context.Background(), wasm.Config{Engine: engineName, StepTimeout: 5e9})
			if err != nil {
				t.Fatal(err)
			}
			e := openTiny(t, Config{PluginRuntime: rt})
			for sdk := range conformanceGuests {
				t.Run(sdk, func(t *testing.T) {
					p, err := e.LoadPolicy(readConformance(t, sdk))
					if err != nil {
						t.Fatal(err)
					}
					checkConformance(t, e, p)
				})
			}
		})
	}
}

func checkConformance(t *testing.T, e *Engine, p *wasm.Policy) {
	const n = 6
	const x, y = 1000, 2000
	prompt := []int32{9707, 11, 1879}
	sp := DefaultSampling()
	sp.Temperature = 0
	greedy, _, _ := collect(t, e, Request{Prompt: prompt, MaxTokens: n, Sampling: sp, IgnoreEOS: true})
	run := func(mode byte) ([]Piece, Result) {
		t.Helper()
		var pieces []Piece
		res, err := e.Generate(context.Background(), Request{Prompt: prompt, MaxTokens: n, Sampling: sp, IgnoreEOS: true,
			Policy: p, PolicyConfig: conformanceConfig(mode, x, y)}, func(pc Piece) error {
			if pc.Token >= 0 {
				pieces = append(pieces, pc)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("mode %d: %v", mode, err)
		}
		return pieces, res
	}
	ids := func(ps []Piece) []int32 {
		var out []int32
		for _, p := range ps {
			out = append(out, p.Token)
		}
		return out
	}
	repeat := func(v int32, k int) []int32 { return slices.Repeat([]int32{v}, k) }
	for _, c := range []struct {
		mode   byte
		what   string
		want   []int32
		tokens int
		finish string
	}{
		{0, "free", greedy, n, FinishLength},
		{1, "mask allowing only X", repeat(x, n), n, FinishLength},
		{2, "bias +Inf on X", repeat(x, n), n, FinishLength},
		{3, "splice [X Y], stop", []int32{x, y}, 2, FinishStop},
		{5, "pick the 4th best", fourthBest(t, e, prompt, n), n, FinishLength},
		{6, "hold 1, hide 1 and 2", greedy[2:], n, FinishLength},
		{7, "splice X, take it back, splice Y", []int32{x, y}, 1, FinishStop},
	} {
		pieces, res := run(c.mode)
		if got := ids(pieces); !slices.Equal(got, c.want) || res.CompletionTokens != c.tokens || res.FinishReason != c.finish {
			t.Errorf("mode %d (%s): streamed %v, %d tokens, %q; want %v, %d, %q", c.mode, c.what, got, res.CompletionTokens, res.FinishReason, c.want, c.tokens, c.finish)
		}
	}
	pieces, res := run(4) // fork into 2, one token each
	var byIndex [2][]int32
	for _, pc := range pieces {
		if pc.Index > 1 {
			t.Fatalf("fork: piece of sequence %d", pc.Index)
		}
		byIndex[pc.Index] = append(byIndex[pc.Index], pc.Token)
	}
	if len(res.Choices) != 2 || res.CompletionTokens != 2 || !slices.Equal(byIndex[0], greedy[:1]) || !slices.Equal(byIndex[1], greedy[:1]) ||
		res.Choices[1].FinishReason != FinishStop {
		t.Errorf("fork: %v, %+v; want two choices of %v", byIndex, res, greedy[:1])
	}
}

// fourthBest is what a policy that always picks the 4th best candidate generates: computed on the model.
func fourthBest(t *testing.T, e *Engine, prompt []int32, n int) []int32 {
	m, pool := e.Model(), e.Pool()
	s := m.NewState(0)
	logits, err := m.Forward(pool, s, prompt, false)
	if err != nil {
		t.Fatal(err)
	}
	var out []int32
	for len(out) < n {
		idx := make([]int, len(logits))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
		tok := int32(idx[3])
		out = append(out, tok)
		if logits, err = m.Forward(pool, s, []int32{tok}, false); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestForkMidGeneration: a fork after the first sequence has streamed text makes a choice that starts with
// that text (replayed as one piece), so every choice reads as a whole answer.
func TestForkMidGeneration(t *testing.T) {
	bin, err := buildGuest(testutil.Root(), "./internal/host/engine/testdata/forklate")
	if err != nil {
		t.Fatal(err)
	}
	e := openTiny(t, Config{})
	p, err := e.LoadPolicy(bin)
	if err != nil {
		t.Fatal(err)
	}
	sp := DefaultSampling()
	sp.Temperature = 0
	prompt := []int32{9707, 11, 1879}
	_, greedyText, _ := collect(t, e, Request{Prompt: prompt, MaxTokens: 4, Sampling: sp, IgnoreEOS: true})
	texts := map[int]string{}
	res, err := e.Generate(context.Background(), Request{Prompt: prompt, MaxTokens: 16, Sampling: sp, IgnoreEOS: true, Policy: p},
		func(pc Piece) error { texts[pc.Index] += pc.Text; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Choices) != 2 || texts[0] != greedyText || texts[1] != greedyText {
		t.Errorf("choices %+v: texts %v, want both %q (greedy, 4 tokens)", res.Choices, texts, greedyText)
	}
}

// TestPolicyAfterCancel: a request cancelled in the middle leaves its sequences open in the guest; they are
// closed when the instance goes back, so the next request on the same (only) instance starts cleanly.
func TestPolicyAfterCancel(t *testing.T) {
	e := openTiny(t, Config{GuestPool: 1})
	p, err := e.LoadPolicy(readConformance(t, "c"))
	if err != nil {
		t.Fatal(err)
	}
	sp := DefaultSampling()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err = e.Generate(ctx, Request{Prompt: []int32{1, 2}, MaxTokens: 10, Sampling: sp, IgnoreEOS: true, Policy: p,
		PolicyConfig: conformanceConfig(0, 0, 0)}, func(Piece) error {
		if n++; n == 2 {
			cancel()
		}
		return nil
	})
	if err == nil {
		t.Fatal("cancelled request: no error")
	}
	ids, _, _ := collect(t, e, Request{Prompt: []int32{1, 2}, MaxTokens: 3, Sampling: sp, IgnoreEOS: true, Policy: p,
		PolicyConfig: conformanceConfig(1, 42, 0)})
	if !slices.Equal(ids, []int32{42, 42, 42}) {
		t.Errorf("next request after a cancel: %v, want the mask's 3 × 42", ids)
	}
}

// readConformance reads an SDK's build of the conformance guest.
func readConformance(t *testing.T, sdk string) []byte {
	t.Helper()
	bin, err := os.ReadFile(filepath.Join(testutil.Root(), conformanceGuests[sdk]))
	if err != nil {
		t.Fatalf("%v (make guests builds it)", err)
	}
	return bin
}

// TestChoices: Request.N forks the prompt's sequence after prefill. Greedy choices all equal the single
// greedy answer; sampled ones each have their own reproducible stream.
func TestChoices(t *testing.T) {
	e := openTiny(t, Config{})
	prompt := []int32{9707, 11, 1879}
	run := func(sp SamplingParams, n int) (map[int][]int32, Result) {
		t.Helper()
		got := map[int][]int32{}
		res, err := e.Generate(context.Background(), Request{Prompt: prompt, MaxTokens: 5, Sampling: sp, IgnoreEOS: true, N: n},
			func(pc Piece) error {
				if pc.Token >= 0 {
					got[pc.Index] = append(got[pc.Index], pc.Token)
				}
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		return got, res
	}
	greedy := DefaultSampling()
	greedy.Temperature = 0
	one, _ := run(greedy, 1)
	three, res := run(greedy, 3)
	if len(res.Choices) != 3 || res.CompletionTokens != 15 {
		t.Fatalf("n=3: %+v", res)
	}
	for i := range 3 {
		if !slices.Equal(three[i], one[0]) {
			t.Errorf("greedy choice %d: %v, want %v", i, three[i], one[0])
		}
	}
	sp := DefaultSampling()
	sp.Seed = 7
	a, _ := run(sp, 3)
	b, _ := run(sp, 3)
	for i := range 3 {
		if !slices.Equal(a[i], b[i]) {
			t.Errorf("seed 7, choice %d: %v then %v", i, a[i], b[i])
		}
	}
	if slices.Equal(a[0], a[1]) && slices.Equal(a[1], a[2]) {
		t.Errorf("three sampled choices are the same: %v", a[0])
	}
	if _, err := e.Generate(context.Background(), Request{Prompt: prompt, N: MaxChoices + 1}, func(Piece) error { return nil }); err == nil {
		t.Error("too many choices: no error")
	}
}
