//go:build !wasip1

package policies

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/internal/bpe"
	"github.com/wasmoe/wasmoe/guest/sdk"
	"github.com/wasmoe/wasmoe/internal/host/gguf"
	hostvocab "github.com/wasmoe/wasmoe/internal/host/vocab"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

var (
	qwenOnce  sync.Once
	qwenModel *testModel
	qwenErr   error
)

// qwen is Qwen2's real vocabulary (151,936 logits) from testdata, each token's bytes as the host's vocab
// import gives them (the tokenizer's pieces, control tokens with their text).
func qwen(t testing.TB) *testModel {
	if testing.Short() {
		t.Skip("the real vocabulary takes seconds")
	}
	qwenOnce.Do(func() {
		f, err := gguf.Open(testutil.Vocab(t, "ggml-vocab-qwen2.gguf"))
		if err != nil {
			qwenErr = err
			return
		}
		defer f.Close()
		v, err := hostvocab.FromGGUF(f)
		if err != nil {
			qwenErr = err
			return
		}
		tok, err := bpe.New(v)
		if err != nil {
			qwenErr = err
			return
		}
		n := len(v.Tokens)
		m := &testModel{table: &sdk.TokenTable{Tokens: make([][]byte, n), Types: make([]uint8, n)}, ids: map[string]int32{}}
		for i := range n {
			m.table.Tokens[i] = tok.Piece(int32(i), true)
			m.table.Types[i] = uint8(abi.TokenNormal)
			if i < len(v.Types) {
				m.table.Types[i] = uint8(v.Types[i])
			}
			if _, ok := m.ids[string(m.table.Tokens[i])]; !ok && int32(m.table.Types[i]) != abi.TokenControl {
				m.ids[string(m.table.Tokens[i])] = int32(i)
			}
		}
		m.info = sdk.ModelInfo{ABIVersion: 1, NLogits: 151936, NTokens: n, NCtx: 4096, BOS: v.BOS, EOS: v.EOS, EOT: v.EOT,
			ThinkOpen: -1, ThinkClose: -1, MaxForks: 16, MaxSplice: 4096, MaxBias: 65536}
		qwenModel = m
	})
	if qwenErr != nil {
		t.Fatal(qwenErr)
	}
	return qwenModel
}

// TestQwenVocabulary runs the constraints, stop strings, banned words and the thinking budget (spelled
// as text: this vocabulary has no thinking tokens) over a real 151k-token vocabulary.
func TestQwenVocabulary(t *testing.T) {
	m := qwen(t)
	if m.info.EOS < 0 && m.info.EOT < 0 {
		t.Fatal("no end token")
	}
	schema := `{"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "n": {"type": "integer"}},
	  "required": ["name", "n"], "additionalProperties": false}`
	var decoded any
	d := json.NewDecoder(bytes.NewReader([]byte(schema)))
	d.UseNumber()
	if err := d.Decode(&decoded); err != nil {
		t.Fatal(err)
	}
	pattern := `(yes|no|maybe), [a-z]{1,8}\.`
	re := regexp.MustCompile(`^(?:` + pattern + `)$`)
	prompt := []int32{m.tok(t, "Hi")}
	var cfg []byte
	h := newHost(t, m, &cfg) // one instance serves every request, as in the guest
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 21))

		cfg, _ = json.Marshal(map[string]any{"json_schema": json.RawMessage(schema)})
		out := h.run(rng, prompt, 120, closingModel)
		t.Logf("seed %d json_schema: %s %q", seed, out.end, m.textOf(out.tokens))
		if out.end != "length" {
			v, err := decodeJSON(m.textOf(out.tokens))
			if err == nil {
				err = validate(v, decoded)
			}
			if err != nil {
				t.Fatalf("seed %d: %q: %v", seed, m.textOf(out.tokens), err)
			}
		}

		cfg, _ = json.Marshal(map[string]any{"regex": pattern, "think_budget": 5, "ban": []string{"no"}})
		opens := append(slices.Clone(prompt), m.tok(t, "<"), m.tok(t, "think"), m.tok(t, ">\n"))
		h.failOK = true
		out = h.run(rng, opens, 120, uniformModel(1e5))
		h.failOK = false
		full := m.textOf(out.tokens)
		t.Logf("seed %d regex, think_budget, ban: %s %q", seed, out.end, full)
		// The regex and the ban conflict in one state only: after an answer of "n" the regex takes nothing
		// but "o", which completes the banned word. Bans never backtrack, so there the sequence fails with
		// an error that says so; it must fail nowhere else.
		switch {
		case out.end == "fail":
			if ans := answer(t, m, out.tokens, true); string(ans) != "n" || !strings.Contains(out.failed, "no token can follow") {
				t.Fatalf("seed %d: failed (%q) after the answer %q of %q", seed, out.failed, ans, full)
			}
		case bytes.Contains(full, []byte("no")):
			t.Fatalf("seed %d: banned word in %q", seed, full)
		default:
			selfClosed := bytes.Contains(m.rawOf(out.tokens[:min(5, len(out.tokens))]), []byte(thinkCloseText))
			if !selfClosed && (len(out.splices) != 1 || out.splices[0] != 5) {
				t.Fatalf("seed %d: splices %v in %q", seed, out.splices, full)
			}
			if out.end == "eog" {
				if ans := answer(t, m, out.tokens, true); !re.Match(ans) {
					t.Fatalf("seed %d: %q does not match %s (text %q)", seed, ans, pattern, full)
				}
			}
		}

		stops := []string{"the", "\n\n"}
		cfg, _ = json.Marshal(map[string]any{"stop": stops})
		out = h.run(rng, prompt, 200, uniformModel(0))
		t.Logf("seed %d stop: %s %q", seed, out.end, out.streamed)
		if bytes.Contains(out.streamed, []byte("the")) || bytes.Contains(out.streamed, []byte("\n\n")) {
			t.Fatalf("seed %d: a stop string reached the client: %q", seed, out.streamed)
		}
		if want, _ := stopCut(m.textOf(out.drawn), stops); out.end == "stop" && !bytes.Equal(out.streamed, want) {
			t.Fatalf("seed %d: streamed %q, want %q", seed, out.streamed, want)
		}
	}
	// A token with text before the stop string: that text is spelled with the vocabulary's tokens.
	s := h.stepper(`{"stop": ["the"]}`, prompt...)
	a := s.step(m.tok(t, " other"))
	spliced := slices.Clone(h.c.Buffers().Splice[:a.Count])
	if a.Kind != abi.ActSplice || a.Flags != abi.FlagHide || a.Arg != 1 || string(m.textOf(spliced)) != " o" {
		t.Fatalf("after \" other\" with stop \"the\": %+v splicing %q, want \" o\" for 1 token", a, m.textOf(spliced))
	}
}

// BenchmarkQwenStep is one policy step over the real vocabulary: a JSON schema's mask in the middle of a
// string, a regex's, and banned words alone.
func BenchmarkQwenStep(b *testing.B) {
	m := qwen(b)
	for _, c := range []struct{ name, cfg, text string }{
		{"json_schema", `{"json_schema": {"type": "object", "properties": {"name": {"type": "string"}}}}`, `{"name": "ab`},
		{"regex", `{"regex": "[a-z ]+(, [a-z ]+)*\\."}`, "hello wor"},
		{"ban", `{"ban": ["the", "and", "but"]}`, "hello th"},
	} {
		b.Run(c.name, func(b *testing.B) {
			cfg := []byte(c.cfg)
			h := newHost(b, m, &cfg)
			if h.c.Open(0, -1) != abi.OK {
				b.Fatal(h.logs)
			}
			h.c.Step(0, []int32{1})
			var ids []int32
			for _, r := range c.text {
				ids = append(ids, m.tok(b, string(r)))
			}
			for _, id := range ids[:len(ids)-1] {
				h.c.Step(0, []int32{id})
			}
			h.c.Open(1, 0)
			last := ids[len(ids)-1]
			for i := 0; b.Loop(); i++ {
				h.c.Open(int32(i+2), 1)
				if a := abi.UnpackAction(h.c.Step(int32(i+2), []int32{last})); a.Flags&abi.FlagMask == 0 {
					b.Fatalf("%+v %q", a, h.logs)
				}
				h.c.Close(int32(i + 2))
			}
		})
	}
}

// TestQwenContaining checks the banned words' lookup on the real vocabulary.
func TestQwenContaining(t *testing.T) { checkContaining(t, qwen(t)) }

// BenchmarkQwenNew is a policy's set-up for the real vocabulary (ctl_init).
func BenchmarkQwenNew(b *testing.B) {
	m := qwen(b)
	for b.Loop() {
		if _, err := New(m.info, m.table, nil); err != nil {
			b.Fatal(err)
		}
	}
}
