package model

import (
	"math"
	"sort"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// EvalStep is the next-token distribution after one position, in llama-ref's format.
type EvalStep struct {
	Pos   int          `json:"pos"`
	Token int32        `json:"token"`
	Top   [][2]float64 `json:"top"` // [token id, probability], highest first
}

// Eval runs tokens through a fresh sequence and returns, at every position, the k most likely next tokens
// with their probabilities (softmax of the logits at temperature 1, normalised in float64).
func (m *Model) Eval(p *kernels.Pool, tokens []int32, k int) ([]EvalStep, error) {
	s := m.NewState(len(tokens))
	logits, err := m.Forward(p, s, tokens, true)
	if err != nil {
		return nil, err
	}
	out := make([]EvalStep, len(tokens))
	for i, t := range tokens {
		out[i] = EvalStep{Pos: i, Token: t, Top: TopProbs(logits[i*m.Vocab:(i+1)*m.Vocab], k)}
	}
	return out, nil
}

// TopProbs returns the k most likely entries of softmax(logits), computed in float64.
func TopProbs(logits []float32, k int) [][2]float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	k = min(k, len(idx))
	top := make([][2]float64, k)
	for i := range top {
		top[i] = [2]float64{float64(idx[i]), math.Exp(float64(logits[idx[i]])-mx) / sum}
	}
	return top
}
