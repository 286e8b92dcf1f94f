// Package sampling picks the next token from logits the way llama.cpp's default sampler chain does:
//
//	logit bias → repeat / presence / frequency penalties → greedy if temperature <= 0, else
//	top-k → top-p → min-p → temperature → softmax → a draw from a PCG stream seeded per request.
//
// Top-p and min-p see the probabilities at temperature 1 (llama.cpp applies the temperature last). It is
// built for 150k-token vocabularies: no pass sorts the vocabulary (top-k keeps a k-heap, top-p sorts only
// the histogram bucket where its mass is reached), and no call allocates once the buffers have grown.
// Its float arithmetic is the same natively and in WebAssembly, so a seed picks the same tokens on both.
//
// The built-in sampler guest is this package behind the ABI (guest/sampler); a custom sampler guest can
// start from it.
package sampling

import (
	"math"
	"math/rand/v2"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// DefaultRepeatLastN is the penalty window when SamplerParams.RepeatLastN is 0 (llama.cpp's default).
const DefaultRepeatLastN = 64

// Sampler holds one request's parameters, token history and random stream. The zero value samples
// greedily; Configure starts a request. It is not safe for concurrent use.
type Sampler struct {
	p    abi.SamplerParams
	bias []candidate // p.LogitBias as a list
	pcg  rand.PCG
	hist history

	cand []candidate // survivors of the truncation, reused across calls
	edge []candidate // top-p's boundary bucket, reused across calls
	cl   []float32   // the candidates' logits, for weigh, reused across calls
	w    []float32   // weights, up to one per token, reused across calls
}

// candidate is a token and its logit.
type candidate struct {
	id    int32
	logit float32
}

// New returns a sampler configured with p.
func New(p abi.SamplerParams) *Sampler {
	s := new(Sampler)
	s.Configure(p)
	return s
}

// Configure starts a request: new parameters, an empty history, the random stream seeded from p.Seed
// (the same seed gives the same tokens).
func (s *Sampler) Configure(p abi.SamplerParams) {
	s.p = p
	s.bias = s.bias[:0]
	for id, b := range p.LogitBias {
		s.bias = append(s.bias, candidate{id, b})
	}
	s.pcg.Seed(p.Seed, p.Seed^0x9e3779b97f4a7c15)
	window := int(p.RepeatLastN)
	if window <= 0 {
		window = DefaultRepeatLastN
	}
	s.hist.reset(window)
}

// Accept appends a token to the history the penalties look at: the prompt's tokens, then each sampled one.
func (s *Sampler) Accept(id int32) { s.hist.add(id) }

// Sample picks the next token from logits, which it uses as scratch space (the bias and penalties are
// applied in place). It returns abi.ErrNoToken when every logit is -Inf or NaN. NaN logits are never
// picked; +Inf logits (a bias of +Inf) are picked with equal probability among themselves.
func (s *Sampler) Sample(logits []float32) int32 {
	for _, b := range s.bias {
		if b.id >= 0 && int(b.id) < len(logits) {
			logits[b.id] += b.logit
		}
	}
	s.penalize(logits)
	invTemp := 1 / s.p.Temperature
	if s.p.Temperature <= 0 || math.IsInf(float64(invTemp), 1) {
		best, _ := argmax(logits)
		if best < 0 {
			return abi.ErrNoToken
		}
		return best
	}
	var c []candidate
	var mx float32
	if k := int(s.p.TopK); k > 0 && k < len(logits) {
		c = s.topK(logits, k)
		mx = c[0].logit
	} else {
		_, mx = argmax(logits)
	}
	switch {
	case math.IsInf(float64(mx), -1):
		return abi.ErrNoToken
	case math.IsInf(float64(mx), 1):
		return s.drawForced(logits)
	}
	topP := s.p.TopP > 0 && s.p.TopP < 1
	// min-p keeps p_i >= MinP·p_max, i.e. l_i >= l_max + ln MinP; above 1 it keeps only the best.
	minPFloor := mx + float32(math.Log(float64(min(s.p.MinP, 1))))
	switch {
	case c != nil:
		if topP {
			c = c[:s.cutTopP(c, mx)]
		}
	case topP:
		c = s.nucleus(logits, mx)
	case s.p.MinP > 0:
		return s.draw(s.above(logits, minPFloor), mx)
	default:
		return s.drawAll(logits, mx, invTemp)
	}
	if s.p.MinP > 0 {
		c = minP(c, minPFloor)
	}
	return s.draw(c, mx)
}

// argmax returns the first index of the largest logit and the logit, or -1 and -Inf if no logit is above
// -Inf. NaNs never win. It is all that greedy decoding costs, so it is shaped for the wasm guest, where
// Go's code is slow and a loop's speed falls with the variables it keeps alive: the maximum in four
// independent lanes, then a scan for its first index.
func argmax(logits []float32) (int32, float32) {
	ninf := float32(math.Inf(-1))
	m0, m1, m2, m3 := ninf, ninf, ninf, ninf
	i := 0
	for ; i+4 <= len(logits); i += 4 {
		l := logits[i : i+4 : i+4]
		if l[0] > m0 {
			m0 = l[0]
		}
		if l[1] > m1 {
			m1 = l[1]
		}
		if l[2] > m2 {
			m2 = l[2]
		}
		if l[3] > m3 {
			m3 = l[3]
		}
	}
	for ; i < len(logits); i++ {
		if logits[i] > m0 {
			m0 = logits[i]
		}
	}
	if m := max(m0, m1, m2, m3); m > ninf { // the lanes hold no NaN
		for i, l := range logits {
			if l == m {
				return int32(i), m
			}
		}
	}
	return -1, ninf
}
