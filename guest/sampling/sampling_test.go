package sampling

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// expected computes the sampling distribution straight from the definitions (full sort, cut, softmax in
// float64): top-k, then top-p and min-p at temperature 1, then the temperature softmax over the survivors.
func expected(logits []float32, p abi.SamplerParams) map[int32]float64 {
	type c struct {
		id int32
		l  float64
	}
	var cs []c
	for i, l := range logits {
		cs = append(cs, c{int32(i), float64(l)})
	}
	sort.Slice(cs, func(a, b int) bool { return cs[a].l > cs[b].l })
	if p.TopK > 0 && int(p.TopK) < len(cs) {
		cs = cs[:p.TopK]
	}
	probs := func(cs []c, t float64) []float64 {
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
	pr := probs(cs, 1)
	keep := len(cs)
	var cum float64
	for i := range cs {
		if p.MinP > 0 && i > 0 && pr[i] < pr[0]*float64(p.MinP) {
			keep = i
			break
		}
		cum += pr[i]
		if p.TopP > 0 && p.TopP < 1 && cum >= float64(p.TopP) {
			keep = i + 1
			break
		}
	}
	cs = cs[:keep]
	out := map[int32]float64{}
	for i, q := range probs(cs, float64(p.Temperature)) {
		out[cs[i].id] = q
	}
	return out
}

// chiSquare draws n samples and checks their frequencies against want (p-value ~1e-4 threshold).
func chiSquare(t *testing.T, logits []float32, p abi.SamplerParams, n int) {
	t.Helper()
	want := expected(logits, p)
	s := New(p)
	got := map[int32]int{}
	buf := make([]float32, len(logits))
	for i := 0; i < n; i++ {
		copy(buf, logits)
		id := s.Sample(buf)
		if _, ok := want[id]; !ok {
			t.Fatalf("sampled %d, which the truncation removes (params %+v)", id, p)
		}
		got[id]++
	}
	var chi float64
	df := 0
	for id, q := range want {
		e := q * float64(n)
		if e < 5 { // too rare to test by frequency
			continue
		}
		d := float64(got[id]) - e
		chi += d * d / e
		df++
	}
	// chi² critical value at p = 1e-4 is below df + 6·sqrt(2·df) + 15 for the df here.
	if limit := float64(df) + 6*math.Sqrt(2*float64(df)) + 15; chi > limit {
		t.Errorf("chi² = %.1f with %d degrees of freedom (limit %.1f): frequencies do not follow the distribution (params %+v)", chi, df, limit, p)
	}
}

func randomLogits(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	l := make([]float32, n)
	for i := range l {
		l[i] = float32(r.NormFloat64() * 2)
	}
	return l
}

func TestDistributions(t *testing.T) {
	small := []float32{2, 1.5, 1, 0.5, 0, -1, -3}
	cases := []abi.SamplerParams{
		{Temperature: 1},
		{Temperature: 0.5},
		{Temperature: 1.5, TopK: 3},
		{Temperature: 1, TopP: 0.8},
		{Temperature: 0.8, MinP: 0.2},
		{Temperature: 1.2, TopK: 5, TopP: 0.9, MinP: 0.05},
	}
	for i, p := range cases {
		p.Seed = uint64(i + 1)
		chiSquare(t, small, p, 20000)
	}
	// A large vocabulary exercises the partial selection of top-k and the growing nucleus of top-p.
	big := randomLogits(5000, 9)
	chiSquare(t, big, abi.SamplerParams{Temperature: 0.7, TopK: 40, Seed: 3}, 20000)
	chiSquare(t, big, abi.SamplerParams{Temperature: 1, TopP: 0.3, Seed: 4}, 20000)
	chiSquare(t, big, abi.SamplerParams{Temperature: 1, MinP: 0.5, Seed: 5}, 20000)
}

func TestGreedyAndBias(t *testing.T) {
	s := New(abi.SamplerParams{})
	if id := s.Sample([]float32{0, 3, 1}); id != 1 {
		t.Errorf("greedy picked %d", id)
	}
	s.Configure(abi.SamplerParams{LogitBias: map[int32]float32{1: float32(math.Inf(-1)), 9: 100}})
	if id := s.Sample([]float32{0, 3, 1}); id != 2 {
		t.Errorf("banning the best token: picked %d, want 2 (out-of-range bias ignored)", id)
	}
	s.Configure(abi.SamplerParams{Temperature: 1, LogitBias: map[int32]float32{0: 50}, Seed: 1})
	for i := 0; i < 100; i++ {
		if id := s.Sample([]float32{0, 3, 1}); id != 0 {
			t.Fatalf("a +50 bias did not force token 0: got %d", id)
		}
	}
}

func TestPenalties(t *testing.T) {
	pick := func(p abi.SamplerParams, history []int32, logits ...float32) int32 {
		s := New(p)
		for _, h := range history {
			s.Accept(h)
		}
		return s.Sample(logits)
	}
	// Repeat: 2.0/1.1 = 1.82 < 1.9, and -1·1.5 = -1.5 < -1.2.
	if id := pick(abi.SamplerParams{RepeatPenalty: 1.1}, []int32{0}, 2, 1.9); id != 1 {
		t.Errorf("repeat penalty on a positive logit: %d", id)
	}
	if id := pick(abi.SamplerParams{RepeatPenalty: 1.5}, []int32{0}, -1, -1.2); id != 1 {
		t.Errorf("repeat penalty on a negative logit: %d", id)
	}
	// Presence: 1 - 0.5 < 0.8. Frequency: token 0 seen twice, 1 - 2·0.15 = 0.7 < 0.8; seen once, 0.85 > 0.8.
	if id := pick(abi.SamplerParams{PresencePenalty: 0.5}, []int32{0}, 1, 0.8); id != 1 {
		t.Errorf("presence penalty: %d", id)
	}
	if id := pick(abi.SamplerParams{FrequencyPenalty: 0.15}, []int32{0, 0}, 1, 0.8); id != 1 {
		t.Errorf("frequency penalty, twice: %d", id)
	}
	if id := pick(abi.SamplerParams{FrequencyPenalty: 0.15}, []int32{0}, 1, 0.8); id != 0 {
		t.Errorf("frequency penalty, once: %d", id)
	}
	// The window: with RepeatLastN 2, token 0 has left the history after two more tokens.
	if id := pick(abi.SamplerParams{PresencePenalty: 0.5, RepeatLastN: 2}, []int32{0, 2, 2}, 1, 0.8, -5); id != 0 {
		t.Errorf("penalty outside the window: %d", id)
	}
}

func TestSeeds(t *testing.T) {
	logits := randomLogits(1000, 2)
	run := func(seed uint64) []int32 {
		s := New(abi.SamplerParams{Temperature: 1, Seed: seed})
		var out []int32
		buf := make([]float32, len(logits))
		for i := 0; i < 50; i++ {
			copy(buf, logits)
			out = append(out, s.Sample(buf))
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	same := func(x, y []int32) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("same seed, different draws")
	}
	if same(a, c) {
		t.Error("different seeds, same 50 draws")
	}
}

func BenchmarkSample(b *testing.B) {
	logits := randomLogits(151936, 1)
	buf := make([]float32, len(logits))
	for _, p := range []struct {
		name string
		p    abi.SamplerParams
	}{{"greedy", abi.SamplerParams{}}, {"temp", abi.SamplerParams{Temperature: 0.8}}, {"top_p", abi.SamplerParams{Temperature: 0.6, TopP: 0.95}}, {"top_k", abi.SamplerParams{Temperature: 0.8, TopK: 40}}} {
		b.Run(p.name, func(b *testing.B) {
			s := New(p.p)
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, logits)
				s.Sample(buf)
			}
		})
	}
}
