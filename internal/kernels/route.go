package kernels

import (
	"fmt"
	"math"
)

// Router chooses the experts of a Mixture-of-Experts layer for one token and weighs them, as DeepSeek's
// gate does (spec §3.3): score every expert (softmax for V2, sigmoid for V3), optionally limit the choice to
// the best groups, take the K best by score plus bias, and weigh them by their unbiased scores.
type Router struct {
	Experts    int       // E, routed experts
	K          int       // experts chosen per token
	Sigmoid    bool      // scoring function: sigmoid (V3/R1); softmax over all E (V2) when false
	Bias       []float32 // [E] selection bias (exp_probs_b); chooses experts, never weighs them; nil if none
	Groups     int       // expert groups (expert_group_count); <= 1 disables group limiting
	GroupsUsed int       // groups kept (expert_group_used_count)
	Norm       bool      // divide the K weights by their sum (expert_weights_norm)
	Scale      float32   // multiply the weights by this (expert_weights_scale); 0 means 1
}

// Validate reports a router whose settings cannot work.
func (r *Router) Validate() error {
	switch {
	case r.Experts <= 0 || r.K <= 0 || r.K > r.Experts:
		return fmt.Errorf("kernels: router picks %d of %d experts", r.K, r.Experts)
	case r.Bias != nil && len(r.Bias) != r.Experts:
		return fmt.Errorf("kernels: router bias has %d values for %d experts", len(r.Bias), r.Experts)
	case r.Groups > 1 && (r.Experts%r.Groups != 0 || r.GroupsUsed <= 0 || r.GroupsUsed > r.Groups ||
		r.GroupsUsed*(r.Experts/r.Groups) < r.K):
		return fmt.Errorf("kernels: router keeps %d of %d groups of %d experts, too few for %d",
			r.GroupsUsed, r.Groups, r.Experts/max(r.Groups, 1), r.K)
	case math.IsNaN(float64(r.Scale)) || math.IsInf(float64(r.Scale), 0):
		return fmt.Errorf("kernels: router weight scale %v", r.Scale)
	}
	return nil
}

// RouteScratch is the per-token working memory of Route; the zero value is ready and grows once.
type RouteScratch struct {
	scores, choice, group []float32
	kept                  []bool
}

// Route turns one token's router logits ([E]) into the chosen expert ids and their mixing weights
// (ids and weights have K entries, in order of decreasing selection score; equal scores keep the lower
// expert id first). The K ids are always distinct. Scores are computed in float32 as ggml does (Softmax,
// or sigmoid 1/(1+e^-z)); with Norm the weights are divided by max(their sum, 2^-14), the sum taken in
// float64 and rounded, as llama.cpp does. It panics if the router is not valid or a slice is short; it
// allocates nothing once s has grown.
func (r *Router) Route(ids []int32, weights []float32, logits []float32, s *RouteScratch) {
	E, K := r.Experts, r.K
	ids, weights, logits = ids[:K], weights[:K], logits[:E]
	s.scores, s.choice = grow(s.scores, E), grow(s.choice, E)
	scores, choice := s.scores, s.choice
	if r.Sigmoid {
		for i, z := range logits {
			scores[i] = 1 / (1 + exp32(-z))
		}
	} else {
		copy(scores, logits)
		Softmax(scores)
	}
	if r.Bias != nil {
		bias := r.Bias[:E]
		for i, v := range scores {
			choice[i] = v + bias[i]
		}
	} else {
		copy(choice, scores)
	}
	groups, per := 1, E
	var kept []bool
	if r.Groups > 1 {
		groups, per = r.Groups, E/r.Groups
		s.group, s.kept = grow(s.group, groups), grow(s.kept, groups)
		kept = s.kept
		r.keepGroups(choice, s.group, kept)
	}

	// Partial selection: keep the best K seen so far in ids/weights (weights holding their choice scores
	// for now), sorted, a later expert passing an earlier one only when strictly better.
	n := 0
	for g := range groups {
		if kept != nil && !kept[g] {
			continue
		}
		for i := g * per; i < (g+1)*per; i++ {
			v := choice[i]
			if n < K {
				n++
			} else if !(v > weights[K-1]) {
				continue
			}
			j := n - 1
			for ; j > 0 && v > weights[j-1]; j-- {
				ids[j], weights[j] = ids[j-1], weights[j-1]
			}
			ids[j], weights[j] = int32(i), v
		}
	}

	var sum float64
	for k, id := range ids {
		weights[k] = scores[id]
		sum += float64(weights[k])
	}
	if r.Norm {
		d := max(float32(sum), 6.103515625e-5) // ggml's clamp of the normalizer
		for k := range weights {
			weights[k] /= d
		}
	}
	if r.Scale != 0 && r.Scale != 1 {
		for k := range weights {
			weights[k] *= r.Scale
		}
	}
}

// RouteBatch routes n tokens: token t's logits are logits[t·E:(t+1)·E] and its choice goes to
// ids[t·K:(t+1)·K] and weights[t·K:(t+1)·K], exactly as Route computes it.
func (r *Router) RouteBatch(ids []int32, weights []float32, logits []float32, n int, s *RouteScratch) {
	E, K := r.Experts, r.K
	for t := range n {
		r.Route(ids[t*K:(t+1)*K], weights[t*K:(t+1)*K], logits[t*E:(t+1)*E], s)
	}
}

// keepGroups marks in kept the GroupsUsed best groups; Route considers no expert outside them (the spec
// sets their selection scores to -inf). A group scores the sum of its two best choice scores when there is
// a bias (V3's noaux_tc), its best otherwise (V2's group_limited_greedy); equal scores keep the lower group.
func (r *Router) keepGroups(choice, group []float32, kept []bool) {
	per := r.Experts / r.Groups
	for g := range group {
		b1, b2 := float32(math.Inf(-1)), float32(math.Inf(-1))
		for _, v := range choice[g*per : (g+1)*per] {
			if v > b1 {
				b1, b2 = v, b1
			} else if v > b2 {
				b2 = v
			}
		}
		if r.Bias != nil && per > 1 {
			group[g] = b1 + b2
		} else {
			group[g] = b1
		}
		kept[g] = false
	}
	for range r.GroupsUsed {
		best := -1
		for g, v := range group {
			if !kept[g] && (best < 0 || v > group[best]) {
				best = g
			}
		}
		kept[best] = true
	}
}
