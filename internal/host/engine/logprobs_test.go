package engine

import (
	"context"
	"math"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/wasmoe/wasmoe/internal/host/model"
)

// refLogSoftmax is log_softmax of logits computed directly: log(exp(x_i) / sum exp(x_j)) in float64.
func refLogSoftmax(logits []float32) []float64 {
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v))
	}
	out := make([]float64, len(logits))
	for i, v := range logits {
		out[i] = math.Log(math.Exp(float64(v)) / sum)
	}
	return out
}

// TestLogprobsMatchForward samples with temperature, top_k and a logit bias that forces one token, and
// checks each piece's Logprobs against log_softmax of the model's own forward pass over the same tokens:
// the chosen token's logprob (the raw one, not the forced ~0), the top N sorted and equal to the N
// largest, and each token's bytes equal to its detokenized text.
func TestLogprobsMatchForward(t *testing.T) {
	e := openTiny(t, Config{})
	ctx := context.Background()
	prompt := []int32{10, 20, 30}
	const forced, topN = 77, 5
	sp := DefaultSampling()
	sp.Temperature, sp.TopK, sp.Seed = 0.7, 2, 1
	sp.LogitBias = map[int32]float32{forced: 100}
	var pieces []Piece
	_, err := e.Generate(ctx, Request{Prompt: prompt, MaxTokens: 6, Sampling: sp, IgnoreEOS: true, Logprobs: true, TopLogprobs: topN},
		func(p Piece) error { pieces = append(pieces, p); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(pieces) != 6 {
		t.Fatalf("%d pieces, want 6", len(pieces))
	}
	m, pool := e.Model(), e.Pool()
	st := m.NewState(0)
	logits, err := m.Forward(pool, st, prompt, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pieces {
		if p.Token != forced || p.Logprobs == nil {
			t.Fatalf("piece %d: token %d, logprobs %v; want the forced token %d with logprobs", i, p.Token, p.Logprobs, forced)
		}
		want := refLogSoftmax(logits)
		lp := p.Logprobs
		if lp.Chosen.Token != p.Token || math.Abs(float64(lp.Chosen.Logprob)-want[forced]) > 1e-5 {
			t.Errorf("piece %d: chosen %d logprob %g, forward's log_softmax %g", i, lp.Chosen.Token, lp.Chosen.Logprob, want[forced])
		}
		if want[forced] > -0.1 {
			t.Fatalf("piece %d: the forced token's raw logprob is %g: the test cannot tell raw from biased", i, want[forced])
		}
		order := make([]int, len(want))
		for j := range order {
			order[j] = j
		}
		slices.SortStableFunc(order, func(a, b int) int { return -cmpFloat(want[a], want[b]) })
		if len(lp.Top) != topN {
			t.Fatalf("piece %d: %d top logprobs, want %d", i, len(lp.Top), topN)
		}
		for j, c := range lp.Top {
			if int(c.Token) != order[j] || math.Abs(float64(c.Logprob)-want[order[j]]) > 1e-5 {
				t.Errorf("piece %d top %d: token %d logprob %g, want token %d logprob %g", i, j, c.Token, c.Logprob, order[j], want[order[j]])
			}
			text, _ := e.Detokenize(ctx, []int32{c.Token})
			if utf8.Valid(c.Bytes) && text != string(c.Bytes) { // a partial character detokenizes to U+FFFD
				t.Errorf("piece %d top %d: bytes %q, detokenized %q", i, j, c.Bytes, text)
			}
		}
		if logits, err = m.Forward(pool, st, []int32{p.Token}, false); err != nil {
			t.Fatal(err)
		}
	}
}

// cmpFloat orders two floats.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestLogprobsOff checks that pieces carry no Logprobs unless asked, and that a top count out of range
// is refused.
func TestLogprobsOff(t *testing.T) {
	e := openTiny(t, Config{})
	_, err := e.Generate(context.Background(), Request{Prompt: []int32{1, 2}, MaxTokens: 3, Sampling: DefaultSampling(), IgnoreEOS: true},
		func(p Piece) error {
			if p.Logprobs != nil {
				t.Errorf("piece %+v has logprobs, none asked", p)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Generate(context.Background(), Request{Prompt: []int32{1, 2}, Logprobs: true, TopLogprobs: MaxTopLogprobs + 1}, func(Piece) error { return nil })
	if err == nil {
		t.Error("TopLogprobs past MaxTopLogprobs was accepted")
	}
}

// TestPromptLogprobs asks for a prompt's logprobs, in chunks of 8 prompt tokens per step or of
// maxPromptLogitRows under the default budget (and again once the prompt is in the prefix cache), and
// checks them against log_softmax of the model's forward pass over the prompt, every row: one piece
// before the generated ones carries them, the first token's with NoContext.
func TestPromptLogprobs(t *testing.T) {
	// Chunks of 8 by the step budget; and under the default budget, chunks of maxPromptLogitRows.
	t.Run("budget", func(t *testing.T) { testPromptLogprobs(t, 8, 2*model.BlockTokens+5) })
	t.Run("capped", func(t *testing.T) { testPromptLogprobs(t, 0, 2*maxPromptLogitRows+21) })
}

// testPromptLogprobs checks a prompt of n tokens' logprobs, twice, with the step budget batchTokens.
func testPromptLogprobs(t *testing.T, batchTokens, n int) {
	e := openTiny(t, Config{Parallel: 1, BatchTokens: batchTokens})
	ctx := context.Background()
	prompt := make([]int32, n) // whole blocks the prefix cache keeps, and some
	for i := range prompt {
		prompt[i] = int32(i*997+5) % 5000
	}
	const topN = 4
	m, pool := e.Model(), e.Pool()
	all, err := m.Forward(pool, m.NewState(0), prompt, true)
	if err != nil {
		t.Fatal(err)
	}
	V := m.Vocab
	for round := range 2 {
		var got []*Logprobs
		n := 0
		_, err := e.Generate(ctx, Request{Prompt: prompt, MaxTokens: 2, Sampling: DefaultSampling(), IgnoreEOS: true, PromptLogprobs: true, TopLogprobs: topN},
			func(p Piece) error {
				if p.PromptLogprobs != nil {
					if n > 0 || got != nil || p.Token != -1 || p.Index != 0 {
						t.Errorf("prompt logprobs on piece %d %+v", n, p)
					}
					got = p.PromptLogprobs
				}
				n++
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(prompt) || !got[0].NoContext || got[0].Chosen.Token != prompt[0] {
			t.Fatalf("round %d: %d prompt logprobs for %d tokens, first %+v", round, len(got), len(prompt), got[0])
		}
		for i := 1; i < len(prompt); i++ {
			want := refLogSoftmax(all[(i-1)*V : i*V])
			lp := got[i]
			if lp.NoContext || lp.Chosen.Token != prompt[i] || math.Abs(float64(lp.Chosen.Logprob)-want[prompt[i]]) > 1e-5 {
				t.Errorf("round %d position %d: %+v, want token %d logprob %g", round, i, lp.Chosen, prompt[i], want[prompt[i]])
			}
			best := slices.Max(want)
			if len(lp.Top) != topN || math.Abs(float64(lp.Top[0].Logprob)-best) > 1e-5 {
				t.Errorf("round %d position %d: top %+v, the likeliest's logprob is %g", round, i, lp.Top, best)
			}
		}
	}
}
