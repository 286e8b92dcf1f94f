package main

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sdk"
	"github.com/wasmoe/wasmoe/guest/sdk/sdktest"
)

const (
	nLogits = 40
	eos     = 2 // ModelInfo.EOS
	eot     = 4 // ModelInfo.EOT
)

// testInfo is the request's model as model_info describes it.
var testInfo = sdk.ModelInfo{ABIVersion: 1, NLogits: nLogits, NTokens: nLogits, NCtx: 1000, BOS: -1, EOS: eos, EOT: eot,
	ThinkOpen: -1, ThinkClose: -1, MaxForks: 4, MaxSplice: 64, MaxBias: 16}

// toyLogits are a toy model's logits after toks: a hash of the model's seed, the last three tokens and the
// token id. Its argmax is never EOS or EOT, except that a model with an ending e picks e after one context
// in eight.
func toyLogits(seed uint32, ending int32, toks []int32, n int) []float32 {
	var ctx [4]uint32
	ctx[0] = seed
	for i := range 3 {
		if len(toks) > i {
			ctx[i+1] = uint32(toks[len(toks)-1-i])
		}
	}
	out := make([]float32, n)
	for j := range out {
		out[j] = float32(hash(ctx, uint32(j))%1000) / 10
	}
	for _, id := range []int32{eos, eot} {
		if int(id) < n {
			out[id] = -1
		}
	}
	if ending >= 0 && int(ending) < n && hash(ctx, 1000)%8 == 0 {
		out[ending] = 1000
	}
	return out
}

// hash is FNV-1a of a context and a token id.
func hash(ctx [4]uint32, j uint32) uint32 {
	h := fnv.New32a()
	binary.Write(h, binary.LittleEndian, ctx)
	binary.Write(h, binary.LittleEndian, j)
	return h.Sum32()
}

// toy is a toy model of the fake host.
type toy struct {
	seed   uint32
	ending int32 // a token it ends with now and then, or -1
	vocab  int   // its logits; 0 = nLogits
}

// fakeKernels is a host with toy models by name (room: tokens a sequence holds; 0 = any number).
func fakeKernels(models map[string]toy, room int) *sdktest.Sequences {
	f := &sdktest.Sequences{Models: map[string]sdktest.Model{}, Room: room}
	for name, m := range models {
		f.Models[name] = sdktest.Model{Vocab: cmp.Or(m.vocab, nLogits), Logits: func(toks []int32, n int) []float32 {
			return toyLogits(m.seed, m.ending, toks, n)
		}}
	}
	return f
}

// testVocab is a token table: token i is "t<i>" except for a few tokens the open text is spelled with.
var testTokens = map[int]string{10: "<", 11: "think", 12: ">", 13: "\n", 14: "<think>", 15: "th", 16: ">\n"}

func vocab() (*sdk.TokenTable, error) {
	t := &sdk.TokenTable{Tokens: make([][]byte, nLogits), Types: make([]uint8, nLogits)}
	for i := range t.Tokens {
		t.Tokens[i] = []byte(cmp.Or(testTokens[i], fmt.Sprintf("t%d", i)))
		t.Types[i] = uint8(abi.TokenNormal)
	}
	t.Types[14] = uint8(abi.TokenUserDefined)
	return t, nil
}

// greedy is the independent truth: argmax decoding of a toy model for up to n tokens, stopping before EOS
// or EOT.
func greedy(m toy, prompt []int32, n int) []int32 {
	toks := slices.Clone(prompt)
	for len(toks)-len(prompt) < n {
		l := toyLogits(m.seed, m.ending, toks, nLogits)
		best := int32(slices.Index(l, slices.Max(l)))
		if best == eos || best == eot {
			break
		}
		toks = append(toks, best)
	}
	return toks[len(prompt):]
}

// newChain returns a Controller running the policy on f with a config, and its log.
func newChain(t *testing.T, f *sdktest.Sequences, cfg string) (*sdk.Controller, *[]string) {
	t.Helper()
	var logs []string
	logf := func(_ uint32, msg string) { logs = append(logs, msg) }
	c := sdk.NewController(New(f, func() ([]byte, error) { return []byte(cfg), nil }, vocab, logf))
	c.Log = logf
	if st := c.Init(testInfo); st != abi.OK {
		t.Fatalf("ctl_init: %d %q", st, logs)
	}
	if n := len(c.Buffers().Splice); n != testInfo.MaxSplice {
		t.Fatalf("splice buffer of %d tokens, want max_splice %d", n, testInfo.MaxSplice)
	}
	return c, &logs
}

// firstSplice opens a request, reports the prompt and returns the spliced tokens: none when the policy
// samples instead (it has nothing to splice).
func firstSplice(t *testing.T, c *sdk.Controller, logs *[]string, prompt []int32) []int32 {
	t.Helper()
	if st := c.Open(0, -1); st != abi.OK {
		t.Fatalf("ctl_open: %d %q", st, *logs)
	}
	a := abi.UnpackAction(c.Step(0, prompt))
	switch {
	case a == abi.Action{Kind: abi.ActSample}:
		return nil
	case a.Err != 0 || a.Kind != abi.ActSplice || a.Flags != 0 || a.Arg != 0 || a.Count == 0:
		t.Fatalf("first step: %+v, want a splice taking nothing back (log %q)", a, *logs)
	}
	return slices.Clone(c.Buffers().Splice[:a.Count])
}

// wantSample checks that a step samples freely.
func wantSample(t *testing.T, c *sdk.Controller, seq int32, ids []int32) {
	t.Helper()
	if a := abi.UnpackAction(c.Step(seq, ids)); a != (abi.Action{Kind: abi.ActSample}) {
		t.Fatalf("step %d %v: %+v, want free sampling", seq, ids, a)
	}
}

func TestChain(t *testing.T) {
	prompt := []int32{5, 6}
	first := toy{seed: 2, ending: -1}
	for _, c := range []struct {
		name  string
		first toy
		cfg   string
		open  []int32
		n     int
	}{
		{"plain", first, `{"first": "v3", "tokens": 12}`, nil, 12},
		{"one", first, `{"first": "v3", "tokens": 1}`, nil, 1},
		{"open", first, `{"first": "v3", "tokens": 12, "open": "<think>\n"}`, []int32{14, 13}, 12},
		{"open-pieces", first, `{"first": "v3", "tokens": 5, "open": "<th>\n"}`, []int32{10, 15, 16}, 5},
		{"eos", toy{seed: 5, ending: eos}, `{"first": "v3", "tokens": 60}`, nil, 60},
		{"eot", toy{seed: 4, ending: eot}, `{"first": "v3", "tokens": 60, "open": "\n"}`, []int32{13}, 60},
		{"eos-at-once", toy{seed: 7, ending: eos}, `{"first": "v3", "tokens": 60}`, nil, 60},
		{"eot-at-once-open", toy{seed: 7, ending: eot}, `{"first": "v3", "tokens": 60, "open": ">"}`, []int32{12}, 60},
		{"default-tokens", first, `{"first": "v3", "open": "<"}`, []int32{10}, testInfo.MaxSplice - 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := fakeKernels(map[string]toy{"": {seed: 1, ending: -1}, "v3": c.first}, 0)
			ctl, logs := newChain(t, f, c.cfg)
			got := firstSplice(t, ctl, logs, prompt)
			ref := greedy(c.first, prompt, c.n)
			if c.first.ending >= 0 && len(ref) == c.n {
				t.Fatalf("the first model never ended within %d tokens: the test misses the early stop", c.n)
			}
			if want := append(slices.Clone(c.open), ref...); !slices.Equal(got, want) {
				t.Fatalf("spliced %v\nwant    %v (open %v, then the first model's greedy tokens)", got, want, c.open)
			}
			if s := f.Seqs[0]; !s.Freed || !slices.Equal(s.Tokens[:len(prompt)], prompt) {
				t.Fatalf("the first model's sequence: freed %v, tokens %v; want freed, starting with the prompt", s.Freed, s.Tokens)
			}
			wantSample(t, ctl, 0, got)
			wantSample(t, ctl, 0, []int32{7})
			if st := ctl.Open(1, 0); st != abi.OK {
				t.Fatalf("fork: ctl_open %d", st)
			}
			wantSample(t, ctl, 1, nil)
			wantSample(t, ctl, 1, []int32{8})
			ctl.Close(1)
			ctl.Close(0)
			if len(f.Seqs) != 1 {
				t.Fatalf("%d sequences opened, want 1", len(f.Seqs))
			}

			// The next request on the same instance starts afresh.
			if got2 := firstSplice(t, ctl, logs, prompt); !slices.Equal(got2, got) {
				t.Fatalf("second request spliced %v, the first %v", got2, got)
			}
			ctl.Close(0)
		})
	}
}

func TestVocabularyMismatch(t *testing.T) {
	for _, n := range []int{nLogits + 9, nLogits - 8, 1} {
		f := fakeKernels(map[string]toy{"": {seed: 1}, "other": {seed: 2, vocab: n}}, 0)
		ctl, logs := newChain(t, f, `{"first": "other", "tokens": 4}`)
		if st := ctl.Open(0, -1); st != abi.ErrBadInput {
			t.Fatalf("first model of %d logits: ctl_open = %d, want %d", n, st, abi.ErrBadInput)
		}
		want := fmt.Sprintf(`model "other" has %d logits, the request's model %d: the two models must share a vocabulary`, n, nLogits)
		if !strings.Contains(strings.Join(*logs, "\n"), want) {
			t.Fatalf("log %q does not say %q", *logs, want)
		}
		if !f.Seqs[0].Freed {
			t.Fatal("the probed sequence was not freed")
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  string
		want int32
	}{
		{``, abi.ErrBadInput},
		{`{`, abi.ErrBadInput},
		{`{"tokens": 2}`, abi.ErrBadInput},
		{`{"first": "v3", "tokens": 0}`, abi.ErrBadInput},
		{`{"first": "v3", "tokens": -1}`, abi.ErrBadInput},
		{`{"first": "v3", "tokens": 65}`, abi.ErrBadInput},
		{`{"first": "v3", "tokens": 63, "open": "<>"}`, abi.ErrBadInput}, // 2 + 63 tokens > max_splice
		{`{"first": "v3", "tokens": 4, "open": "x"}`, abi.ErrBadInput},   // no token starts with "x"
		{`{"first": "v3", "token": 4}`, abi.ErrBadInput},
		{`{"first": "nope", "tokens": 4}`, abi.ErrNotFound},
	} {
		f := fakeKernels(map[string]toy{"": {seed: 1}, "v3": {seed: 2}}, 0)
		ctl, logs := newChain(t, f, c.cfg)
		if st := ctl.Open(0, -1); st != c.want {
			t.Errorf("config %q: ctl_open = %d, want %d", c.cfg, st, c.want)
		} else if len(*logs) == 0 {
			t.Errorf("config %q: refused without a log line", c.cfg)
		}
	}
	// At the limit it fits.
	f := fakeKernels(map[string]toy{"": {seed: 1}, "v3": {seed: 2}}, 0)
	ctl, logs := newChain(t, f, `{"first": "v3", "tokens": 62, "open": "<>"}`)
	if st := ctl.Open(0, -1); st != abi.OK {
		t.Fatalf("62 + 2 tokens: ctl_open = %d %q", st, *logs)
	}
}

func TestSequenceFull(t *testing.T) {
	prompt := []int32{5, 6, 7}
	first := toy{seed: 2, ending: -1}
	f := fakeKernels(map[string]toy{"": {seed: 1}, "v3": first}, len(prompt)+5)
	ctl, logs := newChain(t, f, `{"first": "v3", "tokens": 20}`)
	got := firstSplice(t, ctl, logs, prompt)
	// 5 tokens fit behind the prompt; the logits after the 5th give a 6th.
	if want := greedy(first, prompt, 6); !slices.Equal(got, want) {
		t.Fatalf("spliced %v, want %v", got, want)
	}
	if !strings.Contains(strings.Join(*logs, "\n"), "stopped after 6 tokens") {
		t.Fatalf("log %q does not say the first model stopped", *logs)
	}

	f = fakeKernels(map[string]toy{"": {seed: 1}, "v3": first}, 2)
	ctl, logs = newChain(t, f, `{"first": "v3", "tokens": 20}`)
	if st := ctl.Open(0, -1); st != abi.OK {
		t.Fatal(st)
	}
	if a := abi.UnpackAction(ctl.Step(0, prompt)); a.Err != abi.ErrLimit || !strings.Contains(strings.Join(*logs, "\n"), "prompt's 3 tokens") {
		t.Fatalf("a prompt too long for the first model: %+v, log %q", a, *logs)
	}
}

// refEncode is the longest-match spelling by brute force: at each position the longest token of an
// allowed type whose bytes come next (a normal token first, then the lowest id, among equals).
func refEncode(t *sdk.TokenTable, text []byte) ([]int32, bool) {
	var out []int32
	for len(text) > 0 {
		best := -1
		for id, b := range t.Tokens {
			ty := int32(t.Types[id])
			if len(b) == 0 || !bytes.HasPrefix(text, b) || ty == abi.TokenUnknown || ty == abi.TokenUnused || ty == abi.TokenUndefined {
				continue
			}
			if best < 0 || len(b) > len(t.Tokens[best]) ||
				len(b) == len(t.Tokens[best]) && ty == abi.TokenNormal && int32(t.Types[best]) != abi.TokenNormal {
				best = id
			}
		}
		if best < 0 {
			return nil, false
		}
		out = append(out, int32(best))
		text = text[len(t.Tokens[best]):]
	}
	return out, true
}

func TestEncode(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := 1 + r.IntN(60)
		tt := &sdk.TokenTable{Tokens: make([][]byte, n), Types: make([]uint8, n)}
		for i := range tt.Tokens {
			tt.Tokens[i] = make([]byte, r.IntN(5))
			for j := range tt.Tokens[i] {
				tt.Tokens[i][j] = "abc"[r.IntN(3)]
			}
			tt.Types[i] = uint8(r.IntN(7))
		}
		e := newEncoder(tt)
		for range 20 {
			text := make([]byte, r.IntN(12))
			for j := range text {
				text[j] = "abc"[r.IntN(3)]
			}
			got, err := e.encode(string(text))
			want, ok := refEncode(tt, text)
			if ok != (err == nil) || ok && !slices.Equal(got, want) {
				t.Fatalf("encode %q: %v %v, want %v (ok %v)\ntokens %q types %v", text, got, err, want, ok, tt.Tokens, tt.Types)
			}
			var spelled []byte
			for _, id := range got {
				spelled = append(spelled, tt.Tokens[id]...)
			}
			if ok && !bytes.Equal(spelled, text) {
				t.Fatalf("encode %q spells %q", text, spelled)
			}
		}
	}
}
