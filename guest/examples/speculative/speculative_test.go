package main

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sdk"
	"github.com/wasmoe/wasmoe/guest/sdk/sdktest"
)

const (
	nLogits = 40
	eos     = 2 // ModelInfo.EOS
	control = 3 // a control token of the vocabulary
)

// toyLogits are a toy model's logits after toks: a hash of the model's seed, the last three tokens and
// the token id. Seed 1 is the target; a seed above 1 is a draft that agrees with it on the contexts whose
// hash is not a multiple of the seed, so that it is sometimes right and sometimes wrong.
func toyLogits(seed uint32, toks []int32, n int) []float32 {
	var ctx [4]uint32
	for i := range 3 {
		if len(toks) > i {
			ctx[i+1] = uint32(toks[len(toks)-1-i])
		}
	}
	if seed > 1 && hash(ctx, 99)%seed != 0 {
		seed = 1
	}
	ctx[0] = seed
	out := make([]float32, n)
	for j := range out {
		out[j] = float32(hash(ctx, uint32(j))%1000) / 10
	}
	switch h := hash(ctx, 1000) % 1024; { // the policy must leave these to the host's sampler
	case h < 64:
		out[control] = 1000
	case h == 64:
		out[eos] = 1000
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

// fakeKernels is a host with toy models by name (seeds), with wide[name] logits instead of nLogits.
func fakeKernels(models map[string]uint32, wide map[string]int) *sdktest.Sequences {
	f := &sdktest.Sequences{Models: map[string]sdktest.Model{}}
	for name, seed := range models {
		f.Models[name] = sdktest.Model{Vocab: cmp.Or(wide[name], nLogits), Logits: func(toks []int32, n int) []float32 {
			return toyLogits(seed, toks, n)
		}}
	}
	return f
}

// vocab is a token table whose token control is a control token.
func vocab() (*sdk.TokenTable, error) {
	t := &sdk.TokenTable{Tokens: make([][]byte, nLogits), Types: make([]uint8, nLogits)}
	for i := range t.Types {
		t.Types[i] = uint8(abi.TokenNormal)
	}
	t.Types[control] = uint8(abi.TokenControl)
	return t, nil
}

// greedy is the independent truth: argmax decoding of the toy target, stopping before EOS.
func greedy(seed uint32, prompt []int32, n int) []int32 {
	toks := slices.Clone(prompt)
	for len(toks)-len(prompt) < n {
		l := toyLogits(seed, toks, nLogits)
		best := int32(slices.Index(l, slices.Max(l)))
		if best == eos {
			break
		}
		toks = append(toks, best)
	}
	return toks[len(prompt):]
}

// run drives the guest as the host does (greedy sampling, splices appended, EOS ends) and returns the
// generated tokens and its actions: the length of every splice, 0 for a sample.
func run(t *testing.T, f *sdktest.Sequences, cfg string, prompt []int32, n int) ([]int32, []int) {
	t.Helper()
	c := sdk.NewController(New(f, func() ([]byte, error) { return []byte(cfg), nil }, vocab))
	var logs []string
	c.Log = func(_ uint32, msg string) { logs = append(logs, msg) }
	info := sdk.ModelInfo{ABIVersion: 1, NLogits: nLogits, NTokens: nLogits, NCtx: 1000, BOS: -1, EOS: eos, EOT: -1,
		ThinkOpen: -1, ThinkClose: -1, MaxForks: 4, MaxSplice: 64, MaxBias: 16}
	if st := c.Init(info); st != abi.OK {
		t.Fatalf("ctl_init: %d %q", st, logs)
	}
	if st := c.Open(0, -1); st != abi.OK {
		t.Fatalf("ctl_open: %d %q", st, logs)
	}
	toks, report := slices.Clone(prompt), slices.Clone(prompt)
	var splices []int
	for len(toks)-len(prompt) < n {
		a := abi.UnpackAction(c.Step(0, report))
		switch {
		case a.Err != 0:
			t.Fatalf("ctl_step: %d %q", a.Err, logs)
		case a.Kind == abi.ActSplice && a.Arg == 0 && a.Count > 0:
			report = slices.Clone(c.Buffers().Splice[:a.Count])
			splices = append(splices, a.Count)
			if slices.Contains(report, eos) || slices.Contains(report, control) {
				t.Fatalf("spliced %v: EOS and control tokens are the host sampler's to pick", report)
			}
		case a.Kind == abi.ActSample && a.Flags == 0:
			l := f.Models[""].Logits(toks, nLogits)
			report = []int32{int32(slices.Index(l, slices.Max(l)))}
			splices = append(splices, 0)
			if report[0] == eos {
				c.Close(0)
				return toks[len(prompt):], splices
			}
		default:
			t.Fatalf("unexpected action %+v", a)
		}
		toks = append(toks, report...)
	}
	c.Close(0)
	for i, s := range f.Seqs {
		if !s.Freed {
			t.Errorf("sequence %d not freed", i)
		}
	}
	return toks[len(prompt):], splices
}

// TestMatchesGreedy: the policy's output is the toy target's greedy decoding, whatever the draft, and it
// runs the target once a step rather than once a token.
func TestMatchesGreedy(t *testing.T) {
	prompt := []int32{5, 6, 7}
	const n = 60
	for _, c := range []struct {
		name      string
		draftSeed uint32
		k         int
		wide      int // the draft's logits, when more than the request's model's
	}{{"same", 1, 4, 0}, {"same-k1", 1, 1, 0}, {"other", 2, 4, 0}, {"other-k7", 3, 7, 0}, {"wide-draft", 3, 4, nLogits + 9}} {
		t.Run(c.name, func(t *testing.T) {
			f := fakeKernels(map[string]uint32{"": 1, "d": c.draftSeed}, map[string]int{"d": c.wide})
			got, splices := run(t, f, fmt.Sprintf(`{"draft": "d", "k": %d}`, c.k), prompt, n)
			want := greedy(1, prompt, n)
			if len(got) > n { // the last splice may overshoot; the host cuts it at max_tokens
				got = got[:n]
			}
			if !slices.Equal(got, want) {
				t.Fatalf("speculative %v\ngreedy      %v", got, want)
			}
			// A splice falls short of k+1 tokens when a draft token is rejected or the request's model's next
			// choice is special, which the next step leaves to the host's sampler (a 0 in the actions).
			full, rejected, samples := 0, 0, 0
			for i, s := range splices {
				switch {
				case s > c.k+1:
					t.Fatalf("splice of %d tokens with k = %d", s, c.k)
				case s == c.k+1:
					full++
				case s == 0:
					samples++
				case i+1 < len(splices) && splices[i+1] != 0:
					rejected++
				}
			}
			t.Logf("%d tokens: %d full splices, %d rejections, %d samples; actions %v", len(got), full, rejected, samples, splices)
			if c.draftSeed == 1 && rejected > 0 {
				t.Errorf("a draft equal to the target was rejected %d times: %v", rejected, splices)
			}
			if c.draftSeed != 1 && rejected == 0 {
				t.Errorf("a different draft never got rejected: %v", splices)
			}
			if samples == 0 {
				t.Errorf("the target never chose a special token: the test misses the host's samples")
			}
			// Plain decoding runs the request's model once a token; the policy once a step (one
			// seq_forward_all verifying every draft), plus once for the prompt.
			calls := 0
			for _, s := range f.Seqs {
				if s.Name == "" {
					calls += s.Calls
				}
			}
			if calls != len(splices)+1 || calls >= len(got) {
				t.Errorf("the request's model ran %d times for %d steps and %d tokens, want %d", calls, len(splices), len(got), len(splices)+1)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []string{``, `{`, `{"k": 2}`, `{"draft": "d", "k": -1}`, `{"draft": "d", "k": 65}`, `{"draft": "nope"}`} {
		f := fakeKernels(map[string]uint32{"": 1, "d": 2}, nil)
		c := sdk.NewController(New(f, func() ([]byte, error) { return []byte(cfg), nil }, vocab))
		c.Init(sdk.ModelInfo{ABIVersion: 1, NLogits: nLogits, NTokens: nLogits, MaxSplice: 64, BOS: -1, EOS: -1, EOT: -1})
		want := int32(abi.ErrBadInput)
		if cfg == `{"draft": "nope"}` {
			want = abi.ErrNotFound
		}
		if st := c.Open(0, -1); st != want {
			t.Errorf("config %q: ctl_open = %d, want %d", cfg, st, want)
		}
	}
}
