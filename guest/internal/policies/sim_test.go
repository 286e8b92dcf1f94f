package policies

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

// testModel is a vocabulary and its model_info, with a test's own view of each token's streamed text.
type testModel struct {
	info  sdk.ModelInfo
	table *sdk.TokenTable
	ids   map[string]int32 // the first non-control token of each text
}

// text is a token's streamed bytes as the tests define them: control tokens stream nothing.
func (m *testModel) text(id int32) []byte {
	if int32(m.table.Types[id]) == abi.TokenControl {
		return nil
	}
	return m.table.Tokens[id]
}

// textOf joins the streamed bytes of tokens.
func (m *testModel) textOf(ids []int32) []byte {
	var b []byte
	for _, id := range ids {
		b = append(b, m.text(id)...)
	}
	return b
}

// rawOf joins the raw bytes of tokens, control tokens' text included.
func (m *testModel) rawOf(ids []int32) []byte {
	var b []byte
	for _, id := range ids {
		b = append(b, m.table.Tokens[id]...)
	}
	return b
}

// The special tokens of syntheticModel.
const (
	tokEOS int32 = iota
	tokEOT
	tokThinkOpen
	tokThinkClose
	tokPad // a control token that is none of the above
)

// syntheticModel builds a vocabulary of the special tokens, every single byte, the given fragments and
// random strings over alphabet; the thinking tags are control tokens or plain user-defined ones.
func syntheticModel(rng *rand.Rand, fragments []string, alphabet string, random int, thinkControl bool) *testModel {
	thinkType := uint8(abi.TokenUserDefined)
	if thinkControl {
		thinkType = uint8(abi.TokenControl)
	}
	t := &sdk.TokenTable{}
	add := func(s string, typ uint8) {
		t.Tokens = append(t.Tokens, []byte(s))
		t.Types = append(t.Types, typ)
	}
	add("<|endoftext|>", uint8(abi.TokenControl))
	add("<|im_end|>", uint8(abi.TokenControl))
	add(thinkOpenText, thinkType)
	add(thinkCloseText, thinkType)
	add("<|pad|>", uint8(abi.TokenControl))
	for b := range 256 {
		add(string([]byte{byte(b)}), uint8(abi.TokenNormal))
	}
	for _, f := range fragments {
		add(f, uint8(abi.TokenNormal))
	}
	for range random {
		b := make([]byte, 2+rng.IntN(5))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		add(string(b), uint8(abi.TokenNormal))
	}
	m := &testModel{table: t, ids: map[string]int32{}}
	for i, s := range t.Tokens {
		if _, ok := m.ids[string(s)]; !ok && int32(t.Types[i]) != abi.TokenControl {
			m.ids[string(s)] = int32(i)
		}
	}
	n := len(t.Tokens)
	m.info = sdk.ModelInfo{ABIVersion: 1, NLogits: n + 7, NTokens: n, NCtx: 4096, BOS: -1, EOS: tokEOS, EOT: tokEOT,
		ThinkOpen: tokThinkOpen, ThinkClose: tokThinkClose, MaxForks: 4, MaxSplice: 64, MaxBias: 64}
	return m
}

// tok returns the id of a token by its text.
func (m *testModel) tok(t testing.TB, s string) int32 {
	t.Helper()
	id, ok := m.ids[s]
	if !ok {
		t.Fatalf("no token %q", s)
	}
	return id
}

// weigh is a random model: the weight of sampling token id (0 = never), given the text so far.
type weigh func(rng *rand.Rand, m *testModel, id int32) float64

// outcome is what a simulated request produced.
type outcome struct {
	tokens   []int32 // the sequence's generated tokens at the end (after splices)
	drawn    []int32 // every token sampled, in order, including those a splice took back
	streamed []byte  // what the client received
	end      string  // "stop" (the policy stopped), "eog" (an end token was sampled), "length", "fail"
	failed   string  // with "fail": the policy's last log line
	hidden   bool    // the last step hid tokens
	splices  []int   // len(tokens) before each splice
	masked   int     // steps that sent a mask
}

// host simulates the wasmoe host for one request: it drives a Policy through an sdk.Controller, samples
// from a random model under the policy's mask and bias, applies splices, and streams, holds and hides
// tokens as the ABI says (guest/abi/v1.go), step for step as internal/host/engine/generate.go does.
type host struct {
	t    testing.TB
	m    *testModel
	c    *sdk.Controller
	cfg  *[]byte // the config the next request reads
	logs []string
	// failOK makes a failed step end the run with "fail" instead of failing the test.
	failOK bool
}

func newHost(t testing.TB, m *testModel, config *[]byte) *host {
	t.Helper()
	p, err := New(m.info, m.table, func() ([]byte, error) { return *config, nil })
	if err != nil {
		t.Fatal(err)
	}
	h := &host{t: t, m: m, c: sdk.NewController(p), cfg: config}
	h.c.Log = func(_ uint32, msg string) { h.logs = append(h.logs, msg) }
	if st := h.c.Init(m.info); st != abi.OK {
		t.Fatalf("ctl_init: %d (log %q)", st, h.logs)
	}
	return h
}

// run generates one sequence of at most maxTokens tokens after prompt. Like generate.go: the policy steps
// with the tokens appended since its last step (only those after the first generated one are streamed,
// as its flags say); a sampled end token ends the sequence unreported; appending the maxTokens-th token
// ends it with one last step whose action counts only for its flags; held tokens left at the end are
// streamed.
func (h *host) run(rng *rand.Rand, prompt []int32, maxTokens int, w weigh) outcome {
	h.t.Helper()
	var out outcome
	if st := h.c.Open(0, -1); st != abi.OK {
		h.t.Fatalf("ctl_open: %d (log %q)", st, h.logs)
	}
	defer h.c.Close(0)
	reported := slices.Clone(prompt)
	var held []int32
	step := func() abi.Action { // generate.go's step up to the action: ask, then stream
		generated := len(reported) > 0 && len(out.tokens) > 0 // the prompt is never streamed
		a := abi.UnpackAction(h.c.Step(0, reported))
		if a.Err != 0 {
			if !h.failOK || len(h.logs) == 0 {
				h.t.Fatalf("ctl_step: %d (log %q) after %q", a.Err, h.logs, h.m.textOf(out.tokens))
			}
			out.failed, reported = h.logs[len(h.logs)-1], nil
			return abi.Action{Kind: abi.ActStop}
		}
		if generated {
			switch {
			case a.Flags&abi.FlagHide != 0:
				held = nil
			case a.Flags&abi.FlagHold != 0:
				held = append(held, reported...)
			default:
				out.streamed = append(out.streamed, h.m.textOf(append(held, reported...))...)
				held = nil
			}
		}
		out.hidden = a.Flags&abi.FlagHide != 0
		reported = nil
		return a
	}
	end := func(reason string) outcome { // generate.go's end
		out.end = reason
		if len(reported) > 0 {
			step()
		}
		out.streamed = append(out.streamed, h.m.textOf(held)...)
		return out
	}
	appendTokens := func(toks []int32) bool { // generate.go's appendTokens: true when it ended the sequence
		toks = toks[:min(len(toks), max(maxTokens-len(out.tokens), 0))]
		out.tokens = append(out.tokens, toks...)
		reported = append(reported, toks...)
		return len(toks) == 0 || len(out.tokens) == maxTokens
	}
	for {
		switch a := step(); a.Kind {
		case abi.ActStop:
			if out.failed != "" {
				out.end = "fail"
				return out
			}
			return end("stop")
		case abi.ActSplice:
			if a.Arg > len(out.tokens) {
				h.t.Fatalf("splice takes back %d of %d tokens", a.Arg, len(out.tokens))
			}
			out.splices = append(out.splices, len(out.tokens))
			out.tokens = out.tokens[:len(out.tokens)-a.Arg]
			held = held[:max(len(held)-a.Arg, 0)]
			if toks := slices.Clone(h.c.Buffers().Splice[:a.Count]); len(toks) > 0 && appendTokens(toks) {
				return end("length")
			}
		case abi.ActSample:
			id := h.sample(rng, a, w)
			if a.Flags&abi.FlagMask != 0 {
				out.masked++
			}
			out.drawn = append(out.drawn, id)
			if id == h.m.info.EOS || id == h.m.info.EOT {
				return end("eog")
			}
			if appendTokens([]int32{id}) {
				return end("length")
			}
		default:
			h.t.Fatalf("unexpected action %+v", a)
		}
	}
}

// sample draws a token from the random model, restricted to the mask when the action has one.
func (h *host) sample(rng *rand.Rand, a abi.Action, w weigh) int32 {
	h.t.Helper()
	if a.Flags&(abi.FlagBias|abi.FlagPick) != 0 {
		h.t.Fatalf("the built-in policy asked for bias or pick: %+v", a)
	}
	mask := h.c.Buffers().Mask
	total := 0.0
	weights := make([]float64, h.m.info.NTokens)
	for id := range int32(h.m.info.NTokens) {
		if a.Flags&abi.FlagMask != 0 && mask[id/32]>>(id%32)&1 == 0 {
			continue
		}
		weights[id] = w(rng, h.m, id)
		total += weights[id]
	}
	if a.Flags&abi.FlagMask != 0 {
		for id := h.m.info.NTokens; id < h.m.info.NLogits; id++ {
			if mask[id/32]>>(id%32)&1 != 0 {
				h.t.Fatalf("mask allows token %d past the tokenizer's %d", id, h.m.info.NTokens)
			}
		}
	}
	if total == 0 {
		h.t.Fatalf("the mask allows no token the model can sample")
	}
	x := rng.Float64() * total
	for id, wt := range weights {
		if x < wt {
			return int32(id)
		}
		x -= wt
	}
	for id := len(weights) - 1; ; id-- {
		if weights[id] > 0 {
			return int32(id)
		}
	}
}

// endOrControl sorts a token for the random models: 1 for an end token, -1 for another control token.
func (m *testModel) endOrControl(id int32) int {
	switch {
	case id == m.info.EOS || id == m.info.EOT:
		return 1
	case int32(m.table.Types[id]) == abi.TokenControl:
		return -1
	}
	return 0
}

// uniformModel weighs every token but control ones alike, end tokens by eog.
func uniformModel(eog float64) weigh {
	return func(rng *rand.Rand, m *testModel, id int32) float64 {
		switch m.endOrControl(id) {
		case 1:
			return eog
		case -1:
			return 0
		}
		return 0.5 + rng.Float64()
	}
}

// closingModel favours tokens that close JSON strings, objects and arrays, and end tokens, so that random
// outputs finish.
func closingModel(rng *rand.Rand, m *testModel, id int32) float64 {
	switch m.endOrControl(id) {
	case 1:
		return 200
	case -1:
		return 0
	}
	w := math.Exp(rng.NormFloat64())
	if bytes.ContainsAny(m.text(id), "\"}]") {
		w *= 20
	}
	return w
}
