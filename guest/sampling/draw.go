package sampling

import "math"

// draw picks one of the candidates c with probability softmax(logit / temperature). mx is the largest
// logit of the vocabulary (c's largest too).
func (s *Sampler) draw(c []candidate, mx float32) int32 {
	w := s.weights(len(c))
	z := weigh(w, s.logitsOf(c), mx, 1/s.p.Temperature)
	return c[pick(w, z, s.uniform())].id
}

// drawAll picks any token with probability softmax(logit · invTemp): no truncation.
func (s *Sampler) drawAll(logits []float32, mx, invTemp float32) int32 {
	w := s.weights(len(logits))
	z := weigh(w, logits, mx, invTemp)
	return int32(pick(w, z, s.uniform()))
}

// drawForced picks uniformly among the tokens whose logit is +Inf.
func (s *Sampler) drawForced(logits []float32) int32 {
	c := s.above(logits, float32(math.Inf(1)))
	return c[int(s.uniform()*float64(len(c)))].id
}

// pick returns the index where the running sum of w first exceeds u·z (z = the sum of w in order, u in
// [0, 1)). A weight of 0 never moves the sum, so its index is never returned.
func pick(w []float32, z, u float64) int {
	target, cum := u*z, 0.0
	for i, x := range w {
		if cum += float64(x); target < cum {
			return i
		}
	}
	for i := len(w) - 1; i > 0; i-- { // u·z rounded up to z: the last positive weight
		if w[i] > 0 {
			return i
		}
	}
	return 0
}

// weights returns the weight scratch buffer with length n.
func (s *Sampler) weights(n int) []float32 {
	if cap(s.w) < n {
		s.w = make([]float32, n)
	}
	return s.w[:n]
}

// logitsOf gathers the candidates' logits into a scratch buffer, for weigh.
func (s *Sampler) logitsOf(c []candidate) []float32 {
	l := s.cl[:0]
	for _, x := range c {
		l = append(l, x.logit)
	}
	s.cl = l
	return l
}

// uniform returns the next number of the request's random stream, in [0, 1).
func (s *Sampler) uniform() float64 { return float64(s.pcg.Uint64()>>11) * 0x1p-53 }
