package policies

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// stepper drives one sequence token by token, for scenarios.
type stepper struct {
	t     testing.TB
	h     *host
	first abi.Action // the answer to the prompt
}

func newStepper(t testing.TB, m *testModel, cfg string, prompt ...int32) *stepper {
	var b []byte
	return newHost(t, m, &b).stepper(cfg, prompt...)
}

// stepper starts a request on the host's instance (closing sequence 0 first) and steps its prompt.
func (h *host) stepper(cfg string, prompt ...int32) *stepper {
	h.c.Close(0)
	*h.cfg = []byte(cfg)
	s := &stepper{t: h.t, h: h}
	if st := h.c.Open(0, -1); st != abi.OK {
		h.t.Fatalf("ctl_open: %d (log %q)", st, h.logs)
	}
	s.first = s.step(prompt...)
	return s
}

func (s *stepper) step(ids ...int32) abi.Action {
	a := abi.UnpackAction(s.h.c.Step(0, ids))
	if a.Err != 0 {
		s.t.Fatalf("ctl_step(%v): %d (log %q)", ids, a.Err, s.h.logs)
	}
	return a
}

// expect steps with the token of each text and checks the action's kind and stream flags.
func (s *stepper) expect(m *testModel, text string, kind, flags int) {
	s.t.Helper()
	a := s.step(m.tok(s.t, text))
	if a.Kind != kind || a.Flags&(abi.FlagHold|abi.FlagHide) != flags {
		s.t.Fatalf("after %q: %+v, want kind %d flags %#x", text, a, kind, flags)
	}
}

func stopModel() *testModel {
	return syntheticModel(rand.New(rand.NewPCG(7, 7)), []string{"ab", "END", "EN", "ND", "xEND", "ENDx", "Ex", "\n\n"},
		"abEND \n", 150, true)
}

// expectSplice steps with the token of text, expects a hidden splice that takes back back tokens and
// appends the tokens of want, then steps with those and expects a stop that streams them.
func (s *stepper) expectSplice(m *testModel, text string, back int, want ...string) {
	s.t.Helper()
	a := s.step(m.tok(s.t, text))
	got := slices.Clone(s.h.c.Buffers().Splice[:a.Count])
	var ids []int32
	for _, w := range want {
		ids = append(ids, m.tok(s.t, w))
	}
	if a.Kind != abi.ActSplice || a.Flags != abi.FlagHide || a.Arg != back || !slices.Equal(got, ids) {
		s.t.Fatalf("after %q: %+v splicing %v, want a hidden splice of %v taking back %d", text, a, got, ids, back)
	}
	if a := s.step(got...); a.Kind != abi.ActStop || a.Flags != 0 {
		s.t.Fatalf("after the splice of %q: %+v, want a stop that streams it", want, a)
	}
}

func TestStopScenario(t *testing.T) {
	m := stopModel()
	s := newStepper(t, m, `{"stop": ["END", "\n\n"]}`, m.tok(t, "a"))
	s.expect(m, "ab", abi.ActSample, 0)
	s.expect(m, "E", abi.ActSample, abi.FlagHold) // "E" may start "END"
	s.expect(m, "x", abi.ActSample, 0)            // "Ex": released
	s.expect(m, "EN", abi.ActSample, abi.FlagHold)
	s.expect(m, "ND", abi.ActSample, 0) // "ENND": no stop, no partial one
	s.expect(m, "EN", abi.ActSample, abi.FlagHold)
	s.expect(m, "\n", abi.ActSample, abi.FlagHold) // "EN\n": still held, now for "\n\n"
	s.expectSplice(m, "\n", 3, "EN")               // "EN" is text before "\n\n": kept whole

	s = newStepper(t, m, `{"stop": ["END"]}`)
	s.expectSplice(m, "xEND", 1, "x") // a stop string inside one token: the text before it is kept
	s = newStepper(t, m, `{"stop": ["END"]}`)
	s.expect(m, "E", abi.ActSample, abi.FlagHold)
	s.expect(m, "ND", abi.ActStop, abi.FlagHide) // across tokens, nothing before it
	s = newStepper(t, m, `{"stop": ["ND"]}`)
	s.expect(m, "ab", abi.ActSample, 0)
	s.expect(m, "EN", abi.ActSample, abi.FlagHold)
	s.expectSplice(m, "D", 2, "E") // "EN" straddles the stop string: "E" is spelled anew
	s = newStepper(t, m, `{"stop": ["ND"]}`)
	s.expect(m, "EN", abi.ActSample, abi.FlagHold)
	s.expectSplice(m, "ND", 2, "EN") // "ENND": the first "ND" begins after "EN"
	s = newStepper(t, m, `{"stop": ["D", "ND"]}`)
	s.expect(m, "E", abi.ActSample, 0)
	s.expect(m, "EN", abi.ActSample, abi.FlagHold)
	s.expectSplice(m, "xEND", 2, "EN", "x", "E") // "ENxEND": the first stop string is "ND", not "D"
	s = newStepper(t, m, `{"stop": ["END"]}`)
	s.expect(m, "E", abi.ActSample, abi.FlagHold)
	s.expect(m, "E", abi.ActSample, abi.FlagHold)
	if a := s.step(tokEOS); a.Kind != abi.ActStop || a.Flags != 0 { // an end token (ignore_eos) streams the held text
		t.Fatalf("after EE and an end token: %+v, want a stop that streams", a)
	}
}

// TestStopFork: a child starts with its parent's held tokens, and the two keep their own.
func TestStopFork(t *testing.T) {
	m := stopModel()
	s := newStepper(t, m, `{"stop": ["ND"]}`)
	s.expect(m, "ab", abi.ActSample, 0)
	s.expect(m, "EN", abi.ActSample, abi.FlagHold)
	c := s.h.c
	if st := c.Open(1, 0); st != abi.OK {
		t.Fatal(st, s.h.logs)
	}
	if a := abi.UnpackAction(c.Step(1, nil)); a.Kind != abi.ActSample || a.Flags != abi.FlagHold {
		t.Fatalf("the child's first step: %+v, want a hold", a)
	}
	s.expect(m, "ab", abi.ActSample, 0) // the parent releases "EN"
	a := abi.UnpackAction(c.Step(1, []int32{m.tok(t, "D")}))
	if got := c.Buffers().Splice[:a.Count]; a.Kind != abi.ActSplice || a.Arg != 2 || !slices.Equal(got, []int32{m.tok(t, "E")}) {
		t.Fatalf("child after END: %+v splicing %v, want EN and D taken back for E", a, got)
	}
	s.expect(m, "EN", abi.ActSample, abi.FlagHold)
	s.expectSplice(m, "ND", 2, "EN") // the parent holds only its own "EN"
}

// heldFrom is where the tokens a stop hides begin, by the ABI's rule: the client has everything up to the
// last token after which the text did not end in a proper prefix of a stop string.
func heldFrom(m *testModel, tokens []int32, stops []string) int {
	j := len(tokens) - 1
	for j > 0 {
		text := m.textOf(tokens[:j])
		partial := false
		for _, s := range stops {
			for i := 1; i < len(s); i++ {
				partial = partial || bytes.HasSuffix(text, []byte(s[:i]))
			}
		}
		if !partial {
			break
		}
		j--
	}
	return j
}

// boundaries lists where the text of each token begins in the text of tokens.
func boundaries(m *testModel, tokens []int32) []int {
	var at []int
	n := 0
	for _, id := range tokens {
		at = append(at, n)
		n += len(m.text(id))
	}
	return at
}

// stopCut is the reference: the text up to the first stop string in it (the earliest one to begin), and
// whether there is one.
func stopCut(text []byte, stops []string) ([]byte, bool) {
	cut := -1
	for _, s := range stops {
		if i := bytes.Index(text, []byte(s)); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut < 0 {
		return text, false
	}
	return text[:cut], true
}

// TestStopProperty: over random stop strings and random text from tokens that straddle them, the client
// receives exactly the generated text up to the first stop string.
func TestStopProperty(t *testing.T) {
	m := stopModel()
	stopped, spliced, straddled := 0, 0, 0
	var cfg []byte
	h := newHost(t, m, &cfg)
	for seed := range uint64(600) {
		rng := rand.New(rand.NewPCG(seed, 1))
		var stops []string
		for range 1 + rng.IntN(3) {
			b := make([]byte, 1+rng.IntN(4))
			for i := range b {
				b[i] = "abEND \n"[rng.IntN(7)]
			}
			stops = append(stops, string(b))
		}
		cfg, _ = json.Marshal(map[string]any{"stop": stops})
		out := h.run(rng, nil, 60, uniformModel(0.3))
		drawn := m.textOf(out.drawn)
		want, found := stopCut(drawn, stops)
		if _, leaked := stopCut(out.streamed, stops); leaked {
			t.Fatalf("seed %d: stops %q reached the client: %q", seed, stops, out.streamed)
		}
		switch {
		case out.end == "stop":
			stopped++
			if _, early := stopCut(m.textOf(out.drawn[:len(out.drawn)-1]), stops); !found || early {
				t.Fatalf("seed %d: stopped on %q with stops %q", seed, drawn, stops)
			}
			seqText := m.textOf(out.tokens) // the text before the stop string, then a hidden token when nothing was spliced
			if !bytes.Equal(out.streamed, want) || !bytes.HasPrefix(seqText, want) || len(out.splices) > 0 && !bytes.Equal(seqText, want) {
				t.Fatalf("seed %d: stops %q, text %q: streamed %q, sequence %q, want %q", seed, stops, drawn,
					out.streamed, m.textOf(out.tokens), want)
			}
			if len(out.splices) > 0 {
				spliced++
			}
			if len(want) > 0 {
				if !bytes.HasPrefix(want, m.textOf(out.drawn[:heldFrom(m, out.drawn, stops)])) {
					t.Fatalf("seed %d: the text the client had before the held tokens is not a prefix of %q", seed, want)
				}
				if !slices.Contains(boundaries(m, out.drawn), len(want)) {
					straddled++ // the stop string begins inside a token: the text before it is spelled anew
				}
			}
		case found:
			// The stop string completed at the last step of the length limit (no splice then) or the
			// splice was cut short by it: the client gets part of the text.
			if out.end != "length" || !bytes.HasPrefix(want, out.streamed) {
				t.Fatalf("seed %d: ended by %s: streamed %q, want a prefix of %q", seed, out.end, out.streamed, want)
			}
		default:
			if !bytes.Equal(out.streamed, drawn) {
				t.Fatalf("seed %d: ended by %s: streamed %q, text %q", seed, out.end, out.streamed, drawn)
			}
		}
	}
	t.Logf("%d of 600 runs stopped, %d after a splice, %d with the stop string beginning inside a token", stopped, spliced, straddled)
	if stopped < 200 || spliced < 100 || straddled < 50 {
		t.Fatalf("%d stopped, %d spliced, %d straddled: the test is too weak", stopped, spliced, straddled)
	}
}
