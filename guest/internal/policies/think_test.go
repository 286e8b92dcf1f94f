package policies

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
)

func thinkModel(control bool) *testModel {
	return syntheticModel(rand.New(rand.NewPCG(5, 5)), []string{"\n\n", "<", "think", ">", "</", "hm", "ok"}, "hmok.", 100, control)
}

func TestThinkScenario(t *testing.T) {
	for _, control := range []bool{true, false} {
		m := thinkModel(control)
		nl, nn := m.tok(t, "\n"), m.tok(t, "\n\n")
		// The prompt ends inside the block: after 3 thinking tokens the step splices the close.
		s := newStepper(t, m, `{"think_budget": 3}`, m.tok(t, "h"), tokThinkOpen, nl)
		s.expect(m, "hm", abi.ActSample, 0)
		s.expect(m, "ok", abi.ActSample, 0)
		a := s.step(m.tok(t, "."))
		if a.Kind != abi.ActSplice || a.Arg != 0 || !slices.Equal(s.h.c.Buffers().Splice[:a.Count], []int32{nl, tokThinkClose, nn}) {
			t.Fatalf("control %v: %+v, splice %v; want [\\n </think> \\n\\n]", control, a, s.h.c.Buffers().Splice[:a.Count])
		}
		if a := s.step(nl, tokThinkClose, nn); a.Kind != abi.ActSample || a.Flags != 0 {
			t.Fatalf("after the splice: %+v", a)
		}
		for range 10 { // no second splice
			if a := s.step(m.tok(t, "hm")); a.Kind != abi.ActSample {
				t.Fatalf("after the answer started: %+v", a)
			}
		}

		// The model closes the block itself: nothing is spliced.
		s = newStepper(t, m, `{"think_budget": 2}`, tokThinkOpen)
		s.expect(m, "hm", abi.ActSample, 0)
		s.step(tokThinkClose)
		for range 5 {
			s.expect(m, "ok", abi.ActSample, 0)
		}

		// Budget 0 with the block open: the first step splices.
		s = newStepper(t, m, `{"think_budget": 0}`, tokThinkOpen)
		if s.first.Kind != abi.ActSplice {
			t.Fatalf("budget 0: %+v, want a splice at once", s.first)
		}

		// The prompt's block is closed, and the model opens one with the text "<think>" over three tokens.
		s = newStepper(t, m, `{"think_budget": 1}`, tokThinkOpen, m.tok(t, "hm"), tokThinkClose)
		s.expect(m, "<", abi.ActSample, 0)
		s.expect(m, "think", abi.ActSample, 0)
		s.expect(m, ">", abi.ActSample, 0)
		if a := s.step(m.tok(t, "hm")); a.Kind != abi.ActSplice {
			t.Fatalf("control %v: after <think> and one token: %+v, want the splice", control, a)
		}
	}
}

// TestThinkProperty runs random models on prompts that open the block and checks that the close is
// spliced after exactly the budget's tokens, unless the model closed the block (by id or text) first.
func TestThinkProperty(t *testing.T) {
	for _, control := range []bool{true, false} {
		m := thinkModel(control)
		spliced, closed := 0, 0
		var cfg []byte
		h := newHost(t, m, &cfg) // one instance serves every request
		for seed := range uint64(300) {
			rng := rand.New(rand.NewPCG(seed, 4))
			budget := rng.IntN(25)
			cfg = []byte(fmt.Sprintf(`{"think_budget": %d}`, budget))
			prompt := []int32{m.tok(t, "h"), tokThinkOpen}
			if rng.IntN(2) == 0 {
				prompt = []int32{m.tok(t, "h"), m.tok(t, "<"), m.tok(t, "think"), m.tok(t, ">")}
			}
			closeWeight := []float64{0, 0.01, 0.3}[rng.IntN(3)]
			model := func(rng *rand.Rand, m *testModel, id int32) float64 {
				switch id {
				case tokThinkClose:
					return closeWeight * 100
				case tokEOS, tokEOT:
					return 0.05
				case tokPad, tokThinkOpen:
					return 0
				}
				return 0.5 + rng.Float64()
			}
			out := h.run(rng, prompt, 60, model)
			// Where did the model close the block itself (id or text), before any splice?
			self := -1
			var raw []byte
			for i, id := range out.tokens {
				raw = append(raw, m.table.Tokens[id]...)
				if id == tokThinkClose || bytes.Contains(raw, []byte(thinkCloseText)) {
					self = i
					break
				}
			}
			switch {
			case len(out.splices) > 1:
				t.Fatalf("seed %d: %d splices", seed, len(out.splices))
			case len(out.splices) == 1:
				spliced++
				at := out.splices[0]
				if at != budget || self != budget+1 {
					t.Fatalf("seed %d: budget %d: spliced after %d tokens, first close at %d", seed, budget, at, self)
				}
			case self >= 0:
				closed++
				if self >= budget {
					t.Fatalf("seed %d: budget %d, the model closed at %d and nothing was spliced", seed, budget, self)
				}
			default:
				if len(out.tokens) >= budget && out.end == "length" {
					t.Fatalf("seed %d: budget %d, %d tokens, no close", seed, budget, len(out.tokens))
				}
			}
		}
		if spliced < 100 || closed < 20 {
			t.Fatalf("control %v: %d spliced, %d closed by the model: too few", control, spliced, closed)
		}
	}
}
