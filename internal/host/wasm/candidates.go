package wasm

import (
	"container/heap"
	"math"
)

// TopCandidates returns the k best tokens of logits (after mask and bias), best first, each with its
// log-probability over the whole vocabulary at temperature 1; -Inf and NaN logits are never candidates.
// It reuses dst.
func TopCandidates(logits []float32, k int, dst []Candidate) []Candidate {
	h := candHeap(dst[:0])
	best := float32(math.Inf(-1))
	for i, v := range logits {
		if v != v || math.IsInf(float64(v), -1) {
			continue
		}
		best = max(best, v)
		if len(h) < k {
			heap.Push(&h, Candidate{ID: int32(i), Logit: v})
		} else if v > h[0].Logit {
			h[0] = Candidate{ID: int32(i), Logit: v}
			heap.Fix(&h, 0)
		}
	}
	var sum float64
	for _, v := range logits {
		if v == v && !math.IsInf(float64(v), -1) {
			sum += math.Exp(float64(v - best))
		}
	}
	lse := float64(best) + math.Log(sum)
	out := []Candidate(h)
	for i := len(out) - 1; i > 0; i-- { // heap order → best first
		out[0], out[i] = out[i], out[0]
		hh := candHeap(out[:i])
		heap.Fix(&hh, 0)
	}
	for i := range out {
		out[i].LogProb = float32(float64(out[i].Logit) - lse)
	}
	return out
}

// candHeap is a min-heap of candidates by logit (ties: the higher id is smaller, so lower ids win).
type candHeap []Candidate

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	if h[i].Logit != h[j].Logit {
		return h[i].Logit < h[j].Logit
	}
	return h[i].ID > h[j].ID
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(Candidate)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
