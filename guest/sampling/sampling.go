// Package sampling picks the next token from logits: logit bias, repetition / presence / frequency
// penalties, then greedy or top-k → top-p → min-p → temperature → a seeded draw, as llama.cpp's default
// sampler chain does. The built-in sampler guest is this package behind the ABI; a custom sampler guest
// can start from it.
package sampling

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// Sampler holds one request's parameters, history and random stream. Buffers are reused across calls.
type Sampler struct {
	p       abi.SamplerParams
	rng     *rand.Rand
	history []int32 // last RepeatLastN tokens
	counts  map[int32]int
	cand    []candidate
}

type candidate struct {
	id    int32
	logit float32
	p     float64
}

// New returns a sampler configured with p.
func New(p abi.SamplerParams) *Sampler {
	s := &Sampler{counts: map[int32]int{}}
	s.Configure(p)
	return s
}

// Configure starts a new request: new parameters, empty history, PRNG seeded from p.Seed.
func (s *Sampler) Configure(p abi.SamplerParams) {
	if p.RepeatLastN <= 0 {
		p.RepeatLastN = 64
	}
	if p.RepeatPenalty == 0 {
		p.RepeatPenalty = 1
	}
	s.p = p
	s.rng = rand.New(rand.NewPCG(p.Seed, p.Seed^0x9E3779B97F4A7C15))
	s.history = s.history[:0]
	clear(s.counts)
}

// Accept appends a token to the history the penalties look at.
func (s *Sampler) Accept(id int32) {
	s.history = append(s.history, id)
	s.counts[id]++
	if n := len(s.history) - int(s.p.RepeatLastN); n > 0 {
		old := s.history[0]
		if s.counts[old]--; s.counts[old] == 0 {
			delete(s.counts, old)
		}
		s.history = append(s.history[:0], s.history[1:]...)
	}
}

// Sample picks a token. It modifies logits in place (bias and penalties are applied to them).
func (s *Sampler) Sample(logits []float32) int32 {
	n := int32(len(logits))
	for id, b := range s.p.LogitBias {
		if id >= 0 && id < n {
			logits[id] += b
		}
	}
	s.penalize(logits)
	if s.p.Temperature <= 0 {
		return argmax(logits)
	}
	c := s.truncate(logits)
	return s.draw(c)
}

// penalize applies llama.cpp's penalties over the history window: the repeat penalty divides positive
// logits and multiplies negative ones; presence and frequency subtract (count>0)·presence + count·frequency.
func (s *Sampler) penalize(logits []float32) {
	p := s.p
	if p.RepeatPenalty == 1 && p.PresencePenalty == 0 && p.FrequencyPenalty == 0 {
		return
	}
	for id, c := range s.counts {
		if id < 0 || int(id) >= len(logits) {
			continue
		}
		l := logits[id]
		if l > 0 {
			l /= p.RepeatPenalty
		} else {
			l *= p.RepeatPenalty
		}
		logits[id] = l - float32(c)*p.FrequencyPenalty - p.PresencePenalty
	}
}

func argmax(logits []float32) int32 {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return int32(best)
}

// cutoff is how far below the best logit (in units of max(1, temperature)) a candidate may lie and still be
// considered: e^-30 ≈ 1e-13 relative probability each, under 1.4e-8 together for a 150k vocabulary.
const cutoff = 30

// truncate applies top-k, top-p and min-p (their probabilities at temperature 1: llama.cpp's chain applies
// the temperature last) and returns the survivors with p set to the softmax at the request's temperature.
// Only top-k sorts, and only k candidates; top-p sorts one histogram bucket.
func (s *Sampler) truncate(logits []float32) []candidate {
	mx := float32(math.Inf(-1))
	for _, v := range logits {
		mx = max(mx, v) // NaN never wins a max
	}
	if math.IsInf(float64(mx), -1) { // everything banned: fall back to the first token
		return append(s.cand[:0], candidate{id: 0, p: 1})
	}
	floor := mx - cutoff*max(1, s.p.Temperature)
	if s.p.MinP > 0 { // min-p keeps exp(l - mx) >= MinP
		floor = max(floor, mx+float32(math.Log(float64(s.p.MinP))))
	}
	c := s.cand[:0]
	for i, v := range logits {
		if v >= floor {
			c = append(c, candidate{id: int32(i), logit: v})
		}
	}
	s.cand = c
	if s.p.TopK > 0 && int(s.p.TopK) < len(c) {
		topK(c, int(s.p.TopK))
		c = c[:s.p.TopK]
	}
	if s.p.TopP > 0 && s.p.TopP < 1 {
		c = c[:s.nucleus(c, mx)]
	}
	softmax(c, s.p.Temperature)
	return c
}

// nucleus returns how many candidates top-p keeps and moves them to the front of c: the fewest, most likely
// ones whose probability (temperature 1, normalised over c) reaches TopP. A histogram of the logits finds
// the bucket where the cumulative mass crosses TopP; only that bucket is sorted.
func (s *Sampler) nucleus(c []candidate, mx float32) int {
	const buckets = 1024
	lo := mx
	for i := range c {
		lo = min(lo, c[i].logit)
		c[i].p = math.Exp(float64(c[i].logit - mx))
	}
	width := (mx - lo) / buckets
	if width == 0 {
		return len(c) // all equal: all stay
	}
	bucket := func(l float32) int { return min(int((mx-l)/width), buckets-1) }
	var mass [buckets]float64
	var z float64
	for _, x := range c {
		mass[bucket(x.logit)] += x.p
		z += x.p
	}
	target := float64(s.p.TopP) * z
	var cum float64
	b := 0
	for ; b < buckets-1 && cum+mass[b] < target; b++ {
		cum += mass[b]
	}
	// Move buckets < b to the front, then bucket b after them, sorted.
	n := partition(c, func(x candidate) bool { return bucket(x.logit) < b })
	m := n + partition(c[n:], func(x candidate) bool { return bucket(x.logit) == b })
	slices.SortFunc(c[n:m], byLogit)
	for i := n; i < m; i++ {
		cum += c[i].p
		if cum >= target {
			return i + 1
		}
	}
	return m
}

// partition moves the elements satisfying keep to the front of c and returns their count.
func partition(c []candidate, keep func(candidate) bool) int {
	n := 0
	for i := range c {
		if keep(c[i]) {
			c[n], c[i] = c[i], c[n]
			n++
		}
	}
	return n
}

// byLogit orders candidates by descending logit, ties by id.
func byLogit(a, b candidate) int {
	switch {
	case a.logit > b.logit:
		return -1
	case a.logit < b.logit:
		return 1
	}
	return int(a.id - b.id)
}

// topK moves the k largest logits to the front of c, in descending order.
func topK(c []candidate, k int) {
	lo, hi := 0, len(c)-1
	for lo < hi { // quickselect: afterwards c[:k] holds the k largest
		pivot := c[(lo+hi)/2].logit
		i, j := lo, hi
		for i <= j {
			for c[i].logit > pivot {
				i++
			}
			for c[j].logit < pivot {
				j--
			}
			if i <= j {
				c[i], c[j] = c[j], c[i]
				i++
				j--
			}
		}
		if k-1 <= j {
			hi = j
		} else if k-1 >= i {
			lo = i
		} else {
			break
		}
	}
	slices.SortFunc(c[:k], byLogit)
}

// softmax sets c[i].p = softmax(logit/temp) over c.
func softmax(c []candidate, temp float32) {
	mx := c[0].logit
	for _, x := range c {
		mx = max(mx, x.logit)
	}
	var sum float64
	for i := range c {
		c[i].p = math.Exp(float64(c[i].logit-mx) / float64(temp))
		sum += c[i].p
	}
	for i := range c {
		c[i].p /= sum
	}
}

// draw picks from the distribution c.
func (s *Sampler) draw(c []candidate) int32 {
	r := s.rng.Float64()
	var cum float64
	for _, x := range c {
		cum += x.p
		if r < cum {
			return x.id
		}
	}
	return c[len(c)-1].id
}
