package engine

import (
	"context"
	"fmt"
	"math"
)

// MaxTopLogprobs is the most alternatives a request may ask for per token (Request.TopLogprobs): OpenAI's
// chat limit, and vLLM's default max_logprobs.
const MaxTopLogprobs = 20

// Logprobs is what the model thought of one generated token: its log-probability and the most likely
// alternatives. They are log_softmax of the raw logits, before temperature, truncation, penalties, biases
// and a policy's masks (OpenAI's definition, vLLM's logprobs_mode=raw_logprobs).
type Logprobs struct {
	Chosen TokenLogprob
	Top    []TokenLogprob // Request.TopLogprobs most likely tokens, most likely first (ties: lower id first)

	// NoContext marks the prompt's first token: nothing before it predicts it, so Chosen has only its
	// Token and Bytes, and Top is empty.
	NoContext bool
}

// TokenLogprob is one token's natural-log probability and its bytes (a token may hold part of a UTF-8
// character: Bytes are then not valid UTF-8 on their own).
type TokenLogprob struct {
	Token   int32
	Logprob float32
	Bytes   []byte
}

// logprober computes Logprobs for a request's worker. Its selection heap is reused across tokens, so
// beyond each result's own slices it allocates nothing.
type logprober struct {
	heap []TokenLogprob // min-heap of the best candidates so far, by (logit, -id)
}

// compute returns chosen's log-probability and the n most likely tokens under logits, with their bytes
// from piece.
func (lp *logprober) compute(ctx context.Context, logits []float32, chosen int32, n int, piece func(context.Context, int32, bool) ([]byte, error)) (*Logprobs, error) {
	lse := logSumExp(logits)
	top := lp.top(logits, n)
	out := &Logprobs{Top: make([]TokenLogprob, len(top))}
	b, err := piece(ctx, chosen, false)
	if err != nil {
		return nil, err
	}
	out.Chosen = TokenLogprob{Token: chosen, Logprob: float32(float64(logits[chosen]) - lse), Bytes: b}
	for i, c := range top {
		if b, err = piece(ctx, c.Token, false); err != nil {
			return nil, err
		}
		out.Top[i] = TokenLogprob{Token: c.Token, Logprob: float32(float64(c.Logprob) - lse), Bytes: b}
	}
	return out, nil
}

// logSumExp is log(sum(exp(logits))), accumulated in float64 around the maximum.
func logSumExp(logits []float32) float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = max(m, float64(v))
	}
	if math.IsInf(m, 0) {
		return m
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - m)
	}
	return m + math.Log(sum)
}

// top returns the n largest logits (in Logprob, not yet normalised) with their ids, largest first, by a
// bounded min-heap: O(V log n), no sort of the vocabulary. The result is lp's buffer, valid until the next call.
func (lp *logprober) top(logits []float32, n int) []TokenLogprob {
	n = min(n, len(logits))
	h := lp.heap[:0]
	for i, v := range logits {
		c := TokenLogprob{Token: int32(i), Logprob: v}
		if len(h) < n {
			h = append(h, c)
			siftUp(h, len(h)-1)
		} else if n > 0 && worse(h[0], c) {
			h[0] = c
			siftDown(h, 0, n)
		}
	}
	for end := len(h) - 1; end > 0; end-- { // heap sort in place: the worst goes last
		h[0], h[end] = h[end], h[0]
		siftDown(h, 0, end)
	}
	lp.heap = h
	return h
}

// worse reports whether a ranks below b: a smaller logit, or an equal one with a larger id.
func worse(a, b TokenLogprob) bool {
	return a.Logprob < b.Logprob || (a.Logprob == b.Logprob && a.Token > b.Token)
}

// siftUp restores the min-heap (worst at the root) after h[i] was added.
func siftUp(h []TokenLogprob, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !worse(h[i], h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

// siftDown restores the min-heap of h[:n] after h[i] was replaced.
func siftDown(h []TokenLogprob, i, n int) {
	for {
		w, l, r := i, 2*i+1, 2*i+2
		if l < n && worse(h[l], h[w]) {
			w = l
		}
		if r < n && worse(h[r], h[w]) {
			w = r
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// promptLogprobs computes the Logprobs of the prompt tokens that rows predict.
func (g *generation) promptLogprobs(rows promptRows) error {
	V, prompt := g.e.model.Vocab, g.req.Prompt
	if g.prompt == nil {
		g.prompt = make([]*Logprobs, len(prompt))
	}
	for k := range len(rows.logits) / V {
		pos := rows.from + k + 1
		lp, err := g.lp.compute(g.ctx, rows.logits[k*V:(k+1)*V], prompt[pos], g.req.TopLogprobs, g.e.tok.Piece)
		if err != nil {
			return err
		}
		g.prompt[pos] = lp
	}
	return nil
}

// sendPromptLogprobs takes the prompt rows the scheduler sent before handing over the prompt's last
// logits (all of them are in the channel by then), and pushes the prompt's Logprobs as one piece.
func (g *generation) sendPromptLogprobs() error {
	for len(g.r.prompt) > 0 {
		if err := g.promptLogprobs(<-g.r.prompt); err != nil {
			return err
		}
	}
	if g.prompt == nil { // a one-token prompt
		g.prompt = make([]*Logprobs, len(g.req.Prompt))
	}
	first := g.req.Prompt[0]
	b, err := g.e.tok.Piece(g.ctx, first, false)
	if err != nil {
		return err
	}
	g.prompt[0] = &Logprobs{Chosen: TokenLogprob{Token: first, Bytes: b}, NoContext: true}
	for i, lp := range g.prompt {
		if lp == nil {
			return fmt.Errorf("engine: prompt position %d has no logprobs", i)
		}
	}
	g.r.out.push(Piece{Index: 0, Token: -1, PromptLogprobs: g.prompt})
	return nil
}
