package sampling

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// expected computes the sampling distribution straight from llama.cpp's definitions, in float64, with a
// full sort: top-k; top-p over the top-k set at temperature 1; min-p relative to the best token; then the
// softmax at the temperature over the survivors.
func expected(logits []float32, p abi.SamplerParams) map[int32]float64 {
	type c struct {
		id int32
		l  float64
	}
	var cs []c
	for i, l := range logits {
		cs = append(cs, c{int32(i), float64(l)})
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].l > cs[b].l })
	if p.TopK > 0 && int(p.TopK) < len(cs) {
		cs = cs[:p.TopK]
	}
	softmax := func(cs []c, t float64) []float64 {
		out := make([]float64, len(cs))
		var z float64
		for i := range cs {
			out[i] = math.Exp((cs[i].l - cs[0].l) / t)
			z += out[i]
		}
		for i := range out {
			out[i] /= z
		}
		return out
	}
	if p.TopP > 0 && p.TopP < 1 {
		var cum float64
		for i, q := range softmax(cs, 1) {
			if cum += q; cum >= float64(p.TopP) {
				cs = cs[:i+1]
				break
			}
		}
	}
	if p.MinP > 0 {
		pr := softmax(cs, 1)
		n := 0
		for i := range cs {
			if pr[i] >= float64(p.MinP)*pr[0] {
				cs[n] = cs[i]
				n++
			}
		}
		cs = cs[:n]
	}
	out := map[int32]float64{}
	for i, q := range softmax(cs, float64(p.Temperature)) {
		out[cs[i].id] = q
	}
	return out
}

// chiSquare draws n tokens and checks that none lies outside the truncated set and that their
// frequencies pass a chi-square test against the expected distribution at p ≈ 1e-4 (bins with fewer than
// 5 expected draws are pooled). Seeds are fixed, so the test is deterministic.
func chiSquare(t *testing.T, logits []float32, p abi.SamplerParams, n int) {
	t.Helper()
	want := expected(logits, p)
	s := New(p)
	got := map[int32]int{}
	buf := make([]float32, len(logits))
	for range n {
		copy(buf, logits)
		id := s.Sample(buf)
		if _, ok := want[id]; !ok {
			t.Fatalf("params %+v: sampled %d, which the truncation removes", p, id)
		}
		got[id]++
	}
	var chi, restWant float64
	restGot, df := 0, -1 // one constraint: the counts sum to n
	for id, q := range want {
		if e := q * float64(n); e >= 5 {
			d := float64(got[id]) - e
			chi += d * d / e
			df++
		} else {
			restWant += e
			restGot += got[id]
		}
	}
	if restWant >= 5 {
		d := float64(restGot) - restWant
		chi += d * d / restWant
		df++
	}
	if limit := chiSquareCritical(df); chi > limit {
		t.Errorf("params %+v: chi² = %.1f with %d degrees of freedom, above %.1f (p = 1e-4): the frequencies do not follow the distribution", p, chi, df, limit)
	}
}

// chiSquareCritical is the chi-square quantile at p = 1e-4 (Wilson–Hilferty approximation).
func chiSquareCritical(df int) float64 {
	if df < 1 {
		return 0
	}
	k, z := float64(df), 3.719 // z at 1e-4
	h := 2 / (9 * k)
	return k * math.Pow(1-h+z*math.Sqrt(h), 3)
}

func randomLogits(n int, seed uint64, scale float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	l := make([]float32, n)
	for i := range l {
		l[i] = float32(r.NormFloat64() * scale)
	}
	return l
}

func TestDistributions(t *testing.T) {
	small := []float32{2, 1.5, 1, 0.5, 0, -1, -3}
	for i, p := range []abi.SamplerParams{
		{Temperature: 1},
		{Temperature: 0.5},
		{Temperature: 1.5, TopK: 3},
		{Temperature: 1, TopP: 0.8},
		{Temperature: 0.8, MinP: 0.2},
		{Temperature: 1.2, TopK: 5, TopP: 0.9, MinP: 0.05},
		// min-p after top-p: top-p's mass is over the whole set (3 tokens here); min-p first would
		// renormalise over 4 tokens and top-p would keep only 2.
		{Temperature: 1, TopP: 0.72, MinP: 0.2},
		{Temperature: 1, TopK: 6, TopP: 0.72, MinP: 0.2},
	} {
		p.Seed = uint64(i + 1)
		chiSquare(t, small, p, 20000)
	}
}

// TestDistributionsLargeVocab exercises the k-heap of top-k and the histogram of top-p on vocabularies
// where a full sort would be the easy way out.
func TestDistributionsLargeVocab(t *testing.T) {
	flat := randomLogits(3000, 9, 2)    // mass spread over many histogram buckets
	peaked := randomLogits(3000, 10, 6) // a few tokens hold most of the mass
	for i, tc := range []struct {
		logits []float32
		p      abi.SamplerParams
	}{
		{flat, abi.SamplerParams{Temperature: 0.7, TopK: 40}},
		{flat, abi.SamplerParams{Temperature: 1, TopP: 0.3}},
		{flat, abi.SamplerParams{Temperature: 1.3, TopP: 0.05}},
		{flat, abi.SamplerParams{Temperature: 1, MinP: 0.5}},
		{peaked, abi.SamplerParams{Temperature: 1, TopP: 0.95}},
		{peaked, abi.SamplerParams{Temperature: 0.6, TopP: 0.9, MinP: 0.01}},
		{peaked, abi.SamplerParams{Temperature: 1, TopK: 20, TopP: 0.8}},
		{peaked, abi.SamplerParams{Temperature: 2}},
	} {
		tc.p.Seed = uint64(100 + i)
		chiSquare(t, tc.logits, tc.p, 10000)
	}
}

// TestTopPBoundary checks the exact cut of top-p on a large vocabulary, bucket edge included: the
// sampled set must be exactly the reference's.
func TestTopPBoundary(t *testing.T) {
	logits := randomLogits(20000, 11, 3)
	for _, topP := range []float32{0.01, 0.2, 0.5, 0.9, 0.99, 0.9999} {
		p := abi.SamplerParams{Temperature: 1, TopP: topP}
		want := expected(logits, p)
		s := New(p)
		got := s.nucleus(append([]float32(nil), logits...), maxOf(logits))
		if len(got) != len(want) {
			t.Errorf("top_p %v keeps %d tokens, want %d", topP, len(got), len(want))
			continue
		}
		for _, c := range got {
			if _, ok := want[c.id]; !ok {
				t.Errorf("top_p %v keeps token %d, which the reference cuts", topP, c.id)
			}
		}
	}
}

func maxOf(l []float32) float32 {
	m := l[0]
	for _, v := range l {
		m = max(m, v)
	}
	return m
}
