package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/model"
	"github.com/wasmoe/wasmoe/internal/host/modelgen"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/kernels"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// chainWasm is guest/examples/chain, built once per test binary.
var chainWasm = sync.OnceValues(func() ([]byte, error) {
	return buildGuest(testutil.Root(), "./guest/examples/chain")
})

// TestChain runs the chain guest on both engines: a tiny llama model with the request's model's
// vocabulary writes the first tokens, the request's tiny qwen2 model goes on from them; a tiny model with
// another vocabulary is refused. One Engine serves both: each plugin runtime compiles the guest for it.
func TestChain(t *testing.T) {
	needGo(t)
	bin, err := chainWasm()
	if err != nil {
		t.Fatal(err)
	}
	first := modelgen.Tiny("llama", kernels.F16)
	first.Seed = 5
	coder := filepath.Join(t.TempDir(), "coder.gguf")
	if err := modelgen.WriteFile(modelgen.Tiny("qwen2", kernels.Q8_0), testutil.Vocab(t, "ggml-vocab-deepseek-coder.gguf"), coder); err != nil {
		t.Fatal(err)
	}
	e := openTiny(t, Config{Models: map[string]string{"v3": writeTiny(t, first), "coder": coder}})
	pm, err := e.policyModel()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range wasm.Engines() {
		t.Run(name, func(t *testing.T) {
			rt, err := wasm.NewRuntime(context.Background(), wasm.Config{Engine: name, StepTimeout: 5e9})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rt.Close(context.Background()) })
			p, err := wasm.NewPolicy(rt, bin, pm, 1)
			if err != nil {
				t.Fatal(err)
			}
			t.Run("chain", func(t *testing.T) { testChain(t, e, p, "") })
			t.Run("open", func(t *testing.T) { testChain(t, e, p, "<think>\n") })
			t.Run("vocabulary", func(t *testing.T) { testChainVocabulary(t, e, p) })
		})
	}
}

// testChain checks a chained request with greedy sampling against the two models run directly: the open
// text's tokens, the first model's greedy continuation of the prompt, then the request's model's greedy
// continuation of all that.
func testChain(t *testing.T, e *Engine, p *wasm.Policy, open string) {
	prompt := []int32{785, 6722, 315, 9625, 374}
	const n, m = 8, 6 // tokens of the first model, then of the request's model
	pm, err := e.policyModel()
	if err != nil {
		t.Fatal(err)
	}
	openIDs := refLongestMatch(t, pm, open)
	v := e.vocab
	firstToks := greedyModel(t, e.Pool(), e.models["v3"], prompt, nil, n, len(v.Tokens), v.EOS, v.EOT)
	if len(firstToks) != n {
		t.Fatalf("the first model ended after %d tokens: pick another prompt", len(firstToks))
	}
	t.Logf("open %q = %v, first model %v", open, openIDs, firstToks)
	spliced := append(slices.Clone(openIDs), firstToks...)
	want := append(slices.Clone(spliced), greedyModel(t, e.Pool(), e.Model(), prompt, spliced, m, e.Model().Vocab, -1, -1)...)
	own := greedyModel(t, e.Pool(), e.Model(), prompt, nil, len(want), e.Model().Vocab, -1, -1)
	if slices.Equal(own, want) {
		t.Fatal("the request's model alone writes the chain's output: the test cannot tell them apart")
	}

	sp := DefaultSampling()
	sp.Temperature = 0
	cfg, err := json.Marshal(map[string]any{"first": "v3", "tokens": n, "open": open})
	if err != nil {
		t.Fatal(err)
	}
	got, _, res := collect(t, e, Request{Prompt: prompt, MaxTokens: len(want), Sampling: sp, IgnoreEOS: true, Policy: p, PolicyConfig: cfg})
	if !slices.Equal(got, want) || res.CompletionTokens != len(want) || res.FinishReason != FinishLength {
		t.Fatalf("chain streamed %v (%d tokens, %q)\nwant          %v: open %v, first model %v, then the request's model",
			got, res.CompletionTokens, res.FinishReason, want, openIDs, firstToks)
	}
}

// testChainVocabulary checks that a first model with another vocabulary fails the request, saying why.
func testChainVocabulary(t *testing.T, e *Engine, p *wasm.Policy) {
	coder := e.models["coder"]
	if coder.Vocab == e.Model().Vocab {
		t.Fatalf("both vocabularies have %d tokens", coder.Vocab)
	}
	sp := DefaultSampling()
	sp.Temperature = 0
	var streamed int
	_, err := e.Generate(context.Background(), Request{Prompt: []int32{785, 6722}, MaxTokens: 4, Sampling: sp, Policy: p,
		PolicyConfig: []byte(`{"first": "coder", "tokens": 4}`)}, func(Piece) error { streamed++; return nil })
	want := fmt.Sprintf(`model "coder" has %d logits, the request's model %d: the two models must share a vocabulary`, coder.Vocab, e.Model().Vocab)
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "bad input") || streamed != 0 {
		t.Fatalf("error %v (%d pieces streamed), want one that says %q", err, streamed, want)
	}
}

// greedyModel is argmax decoding on m computed directly with model.Forward: prefill prompt, then the
// forced tokens in one batch (as the engine appends a splice), then up to n tokens one at a time, each the
// argmax of the first nTok logits (lowest id on a tie), stopping before a stop token.
func greedyModel(t *testing.T, pool *kernels.Pool, m *model.Model, prompt, forced []int32, n, nTok int, stop ...int32) []int32 {
	t.Helper()
	s := m.NewState(0)
	logits, err := m.Forward(pool, s, prompt, false)
	if err == nil && len(forced) > 0 {
		logits, err = m.Forward(pool, s, forced, false)
	}
	var out []int32
	for err == nil && len(out) < n {
		l := logits[:nTok]
		tok := int32(slices.Index(l, slices.Max(l)))
		if slices.Contains(stop, tok) && tok >= 0 {
			break
		}
		out = append(out, tok)
		logits, err = m.Forward(pool, s, []int32{tok}, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// refLongestMatch spells text with the model's tokens by brute force, as the chain guest documents it:
// at each position the longest token (normal, control, user-defined or byte) whose bytes come next. It
// checks that the spelling is exact and unambiguous.
func refLongestMatch(t *testing.T, pm *wasm.PolicyModel, text string) []int32 {
	t.Helper()
	var out []int32
	for rest := []byte(text); len(rest) > 0; {
		best, ties := -1, 0
		for id, b := range pm.Pieces {
			ty := abi.TokenNormal
			if id < len(pm.Types) {
				ty = pm.Types[id]
			}
			switch ty {
			case abi.TokenNormal, abi.TokenControl, abi.TokenUserDefined, abi.TokenByte:
			default:
				continue
			}
			switch {
			case len(b) == 0 || !bytes.HasPrefix(rest, b):
			case best < 0 || len(b) > len(pm.Pieces[best]):
				best, ties = id, 0
			case len(b) == len(pm.Pieces[best]):
				ties++
			}
		}
		if best < 0 || ties > 0 {
			t.Fatalf("%q: no token, or several of the same bytes, at %q", text, rest)
		}
		out = append(out, int32(best))
		rest = rest[len(pm.Pieces[best]):]
	}
	var spelled []byte
	for _, id := range out {
		spelled = append(spelled, pm.Pieces[id]...)
	}
	if string(spelled) != text {
		t.Fatalf("%v spells %q, not %q", out, spelled, text)
	}
	return out
}
