package policies

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
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
	s.expect(m, "\n", abi.ActStop, abi.FlagHide)

	s = newStepper(t, m, `{"stop": ["END"]}`)
	s.expect(m, "xEND", abi.ActStop, abi.FlagHide) // a stop string inside one token
	s = newStepper(t, m, `{"stop": ["END"]}`)
	s.expect(m, "E", abi.ActSample, abi.FlagHold)
	s.expect(m, "ND", abi.ActStop, abi.FlagHide) // across tokens
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

func TestStopProperty(t *testing.T) {
	m := stopModel()
	stopped := 0
	var cfg []byte
	h := newHost(t, m, &cfg)
	for seed := range uint64(300) {
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
		full := m.textOf(out.tokens)
		contains := func(b []byte) bool {
			for _, s := range stops {
				if bytes.Contains(b, []byte(s)) {
					return true
				}
			}
			return false
		}
		if contains(out.streamed) {
			t.Fatalf("seed %d: stops %q reached the client: %q", seed, stops, out.streamed)
		}
		if !bytes.HasPrefix(full, out.streamed) {
			t.Fatalf("seed %d: streamed %q is not a prefix of the text %q", seed, out.streamed, full)
		}
		switch out.end {
		case "stop":
			stopped++
			if !contains(full) || contains(m.textOf(out.tokens[:len(out.tokens)-1])) || !out.hidden {
				t.Fatalf("seed %d: stopped on %q with stops %q (hidden %v)", seed, full, stops, out.hidden)
			}
			if want := m.textOf(out.tokens[:heldFrom(m, out.tokens, stops)]); !bytes.Equal(out.streamed, want) {
				t.Fatalf("seed %d: stops %q, text %q: streamed %q, want %q", seed, stops, full, out.streamed, want)
			}
		default:
			if !bytes.Equal(out.streamed, full) {
				t.Fatalf("seed %d: ended by %s: streamed %q, text %q", seed, out.end, out.streamed, full)
			}
		}
	}
	if stopped < 100 {
		t.Fatalf("only %d of 300 runs hit a stop string: the test is too weak", stopped)
	}
}
