package sampling

import (
	"cmp"
	"math"
	"slices"
)

// topK returns the k candidates with the highest logits, sorted (ties: lower id first). A min-heap of k
// candidates sees every token, but most tokens cost one comparison with the heap's root: no sort of the
// vocabulary.
func (s *Sampler) topK(logits []float32, k int) []candidate {
	h := s.cand[:0]
	for i, l := range logits[:k] {
		if l != l {
			l = float32(math.Inf(-1)) // NaN never ranks
		}
		h = append(h, candidate{int32(i), l})
	}
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	floor := h[0].logit
	for i := k; i < len(logits); i++ {
		// Equal logits never displace the root: its id is lower, so it ranks first. NaN never passes.
		if l := logits[i]; l > floor {
			h[0] = candidate{int32(i), l}
			siftDown(h, 0)
			floor = h[0].logit
		}
	}
	slices.SortFunc(h, byLogit)
	s.cand = h
	return h
}

// siftDown restores the heap below i, whose root is the worst candidate (lowest logit, then highest id).
func siftDown(h []candidate, i int) {
	for {
		worst, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && byLogit(h[l], h[worst]) > 0 {
			worst = l
		}
		if r < len(h) && byLogit(h[r], h[worst]) > 0 {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}

// byLogit orders candidates by descending logit, ties by ascending id.
func byLogit(a, b candidate) int {
	switch {
	case a.logit > b.logit:
		return -1
	case a.logit < b.logit:
		return 1
	}
	return cmp.Compare(a.id, b.id)
}

// cutTopP returns how many of the sorted candidates c top-p keeps: the fewest whose probability (at
// temperature 1, normalised over c) reaches TopP. mx is c's largest logit.
func (s *Sampler) cutTopP(c []candidate, mx float32) int {
	w := s.weights(len(c))
	z := weigh(w, s.logitsOf(c), mx, 1)
	target, cum := float64(s.p.TopP)*z, 0.0
	for i, wi := range w {
		if cum += float64(wi); cum >= target {
			return i + 1
		}
	}
	return len(c)
}

// nucleus applies top-p to the whole vocabulary and returns the survivors, unsorted. mx is the largest
// logit. It sorts no more than it must: a histogram of the probability mass (massBucket) finds the
// bucket where the cumulative mass reaches TopP; every token of the buckets before it is kept unsorted,
// and only that bucket is sorted and cut where the mass is reached.
func (s *Sampler) nucleus(logits []float32, mx float32) []candidate {
	var mass [massBuckets]float64
	w := s.weights(len(logits))
	z := weigh(w, logits, mx, 1)
	histogram(&mass, w)
	target, cum := float64(s.p.TopP)*z, 0.0
	edge := 0
	for edge < massBuckets-2 && cum+mass[edge] < target { // the last bucket holds the weights of 0
		cum += mass[edge]
		edge++
	}
	keep, cut := s.cand[:0], s.edge[:0]
	for i, wi := range w {
		switch b := massBucket(wi); {
		case b < edge:
			keep = append(keep, candidate{int32(i), logits[i]})
		case b == edge:
			cut = append(cut, candidate{int32(i), logits[i]})
		}
	}
	slices.SortFunc(cut, byLogit)
	for i, x := range cut {
		if cum += float64(w[x.id]); cum >= target {
			cut = cut[:i+1]
			break
		}
	}
	s.cand, s.edge = append(keep, cut...), cut
	return s.cand
}

// above returns the tokens whose logit is at least floor, in id order. NaN never passes.
func (s *Sampler) above(logits []float32, floor float32) []candidate {
	c := s.cand[:0]
	for i, l := range logits {
		if l >= floor {
			c = append(c, candidate{int32(i), l})
		}
	}
	s.cand = c
	return c
}

// minP keeps, in order, the candidates whose logit is at least floor.
func minP(c []candidate, floor float32) []candidate {
	n := 0
	for _, x := range c {
		if x.logit >= floor {
			c[n] = x
			n++
		}
	}
	return c[:n]
}
