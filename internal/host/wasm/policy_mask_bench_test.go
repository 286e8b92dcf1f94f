package wasm

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// deepSeekV3PolicyModel describes DeepSeek-V3's vocabulary (testdata/vocab) to policy guests the way the
// engine does (internal/host/engine's policyModel): every token's bytes from the tokenizer guest.
func deepSeekV3PolicyModel(b testing.TB) *PolicyModel {
	return vocabPolicyModel(b, "ggml-vocab-deepseek-v3.gguf")
}

// vocabPolicyModel is deepSeekV3PolicyModel for the vocabulary of testdata/vocab's file.
func vocabPolicyModel(b testing.TB, file string) *PolicyModel {
	v := loadVocab(b, file)
	tok, err := NewTokenizer(newRuntime(b), builtin.Tokenizer, v, 1)
	if err != nil {
		b.Fatal(err)
	}
	m := &PolicyModel{NLogits: len(v.Tokens), NCtx: 4096, Pieces: make([][]byte, len(v.Tokens)), Types: v.Types,
		BOS: v.BOS, EOS: v.EOS, EOT: v.EOT, ThinkOpen: -1, ThinkClose: -1}
	for id := range m.Pieces {
		if m.Pieces[id], err = tok.Piece(context.Background(), int32(id), true); err != nil {
			b.Fatal(err)
		}
	}
	return m
}

// BenchmarkPolicyMask is the built-in policy guest's step while a JSON schema or a regex constrains the
// output, at the vocabularies of DeepSeek-V3, Qwen2 and Llama 3, on wazero with a per-call deadline (as plugins run): one ctl_step
// reporting no new token, so the guest masks the same state every time, in each kind of state (the same
// states as guest/constraint's BenchmarkMask, which gives the native figures). ms/first is the step that
// reports the output so far and masks the state the first time, building what that state needs (the
// states run in order on one instance, so later ones find some of it built).
func BenchmarkPolicyMask(b *testing.B) {
	const schema = `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},` +
		`"tags":{"type":"array","items":{"type":"string","maxLength":20}}},"required":["name"]}`
	const jsonish = `\{"name": "[^"\\]{0,40}", "n": -?\d+(\.\d+)?\}`
	states := []struct{ name, config, prefix string }{
		{"json-string", schema, `{"name":"ab`},
		{"json-string-maxlength", schema, `{"name":"a","tags":["ab`},
		{"json-string-escape", schema, `{"name":"ab\`},
		{"json-key", schema, `{"name":"ab","a`},
		{"json-number", schema, `{"name":"a","age":12`},
		{"json-after-value", schema, `{"name":"ab"`},
		{"json-array", schema, `{"name":"a","tags":[`},
		{"json-any-value", `{}`, `[1, `},
		{"json-any-key", `{}`, `[1, {"x`},
		{"regex-class", "", "Hello"},
		{"regex-json-ish-class", "", `{"name": "ab`},
		{"regex-json-ish-literal", "", `{"na`},
	}
	regexes := map[string]string{"regex-class": `[A-Za-z ,.!?]{0,400}`, "regex-json-ish-class": jsonish, "regex-json-ish-literal": jsonish}
	for _, vocab := range []struct{ name, file string }{
		{"deepseek-v3", "ggml-vocab-deepseek-v3.gguf"},
		{"qwen2", "ggml-vocab-qwen2.gguf"},
		{"llama3", "ggml-vocab-llama-bpe.gguf"},
	} {
		m := vocabPolicyModel(b, vocab.file)
		p, err := NewPolicy(newRuntimeConfig(b, Config{Engine: EngineWazero, StepTimeout: 100e6, CPUBudget: 1e12}), builtin.Policy, m, 1)
		if err != nil {
			b.Fatal(err)
		}
		for _, st := range states {
			cfg := map[string]any{"json_schema": json.RawMessage(st.config)}
			if re, ok := regexes[st.name]; ok {
				cfg = map[string]any{"regex": re}
			}
			config, err := json.Marshal(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(vocab.name+"/"+st.name, func(b *testing.B) { benchMaskState(b, p, m, config, st.prefix) })
		}
	}
}

// benchMaskState is BenchmarkPolicyMask in one state: a session of config on p that takes the text
// prefix, then masks the state again and again.
func benchMaskState(b *testing.B, p *Policy, m *PolicyModel, config []byte, text string) {
	prefix := spellBytes(b, singleByteTokens(m), text)
	s, done := openSequence(b, p, config)
	defer done()
	if _, err := s.Step(0, []int32{m.BOS}); err != nil { // the prompt
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := s.Step(0, prefix); err != nil { // the output so far, and the first mask in this state
		b.Fatal(err)
	}
	first := time.Since(start)
	maskAgain(b, s)
	b.ReportMetric(float64(first.Microseconds())/1e3, "ms/first")
}

// openSequence acquires a session of config on p and opens its sequence 0; done closes and releases it.
func openSequence(tb testing.TB, p *Policy, config []byte) (s *PolicySession, done func()) {
	tb.Helper()
	s, err := p.Acquire(context.Background(), config, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Open(0, -1); err != nil {
		s.Release()
		tb.Fatal(err)
	}
	return s, func() {
		s.Close(0)
		s.Release()
	}
}

// singleByteTokens maps each byte to a normal token of m that spells it alone (the first such id).
func singleByteTokens(m *PolicyModel) map[byte]int32 {
	byteToken := map[byte]int32{}
	for id, p := range m.Pieces {
		if len(p) == 1 && (len(m.Types) == 0 || m.Types[id] == abi.TokenNormal) {
			if _, ok := byteToken[p[0]]; !ok {
				byteToken[p[0]] = int32(id)
			}
		}
	}
	return byteToken
}

// spellBytes is text as single-byte tokens (singleByteTokens), one per byte.
func spellBytes(tb testing.TB, byteToken map[byte]int32, text string) []int32 {
	var ids []int32
	for i := 0; i < len(text); i++ {
		id, ok := byteToken[text[i]]
		if !ok {
			tb.Fatalf("no token spells %q", text[i])
		}
		ids = append(ids, id)
	}
	return ids
}

// maskAgain times, as the benchmark's µs/med, a step of s that takes no token and masks the same state.
func maskAgain(b *testing.B, s *PolicySession) {
	testutil.LoopMedian(b, func() {
		a, err := s.Step(0, nil)
		if err != nil {
			b.Fatal(err)
		}
		if a.mask == nil {
			b.Fatal("the step has no mask")
		}
	})
}
