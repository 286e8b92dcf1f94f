package sampling

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
)

var inf = float32(math.Inf(1))

func TestGreedy(t *testing.T) {
	var zero Sampler // the zero value samples greedily
	for _, tc := range []struct {
		logits []float32
		want   int32
	}{
		{[]float32{0, 3, 1}, 1},
		{[]float32{2, 5, 5, 1}, 1}, // ties: the lowest id
		{[]float32{float32(math.NaN()), -1, -2}, 1},
		{[]float32{-inf, -inf, -5}, 2},
		{[]float32{-inf, float32(math.NaN())}, abi.ErrNoToken},
		{nil, abi.ErrNoToken},
	} {
		if got := zero.Sample(slices.Clone(tc.logits)); got != tc.want {
			t.Errorf("greedy %v: got %d, want %d", tc.logits, got, tc.want)
		}
	}
}

// TestArgmax compares the four-lane argmax with a plain loop on short vectors full of ties, NaN and -Inf.
func TestArgmax(t *testing.T) {
	values := []float32{-inf, float32(math.NaN()), -1, 0, 2, 2}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		l := make([]float32, r.IntN(13))
		for i := range l {
			l[i] = values[r.IntN(len(values))]
		}
		want, wantMax := int32(-1), -inf
		for i, v := range l {
			if v > wantMax {
				want, wantMax = int32(i), v
			}
		}
		if got, gotMax := argmax(l); got != want || gotMax != wantMax {
			t.Fatalf("argmax(%v) = %d, %v; want %d, %v", l, got, gotMax, want, wantMax)
		}
	}
}

func TestLogitBias(t *testing.T) {
	logits := []float32{0, 3, 1}
	s := New(abi.SamplerParams{LogitBias: map[int32]float32{1: -inf, 9: 100, -1: 100}})
	if id := s.Sample(slices.Clone(logits)); id != 2 {
		t.Errorf("banning the best token: picked %d, want 2 (out-of-range biases ignored)", id)
	}
	s.Configure(abi.SamplerParams{Temperature: 1, LogitBias: map[int32]float32{0: 50}, Seed: 1})
	for range 200 {
		if id := s.Sample(slices.Clone(logits)); id != 0 {
			t.Fatalf("a +50 bias did not force token 0: got %d", id)
		}
	}
	s.Configure(abi.SamplerParams{Temperature: 1, LogitBias: map[int32]float32{1: -inf, 2: -inf}, Seed: 2})
	for range 200 {
		if id := s.Sample(slices.Clone(logits)); id != 0 {
			t.Fatalf("two banned tokens were sampled: got %d", id)
		}
	}
	// +Inf biases force a uniform choice among the forced tokens.
	s.Configure(abi.SamplerParams{Temperature: 1, LogitBias: map[int32]float32{0: inf, 2: inf}, Seed: 3})
	counts := map[int32]int{}
	for range 2000 {
		counts[s.Sample(slices.Clone(logits))]++
	}
	if counts[1] != 0 || counts[0] < 900 || counts[2] < 900 {
		t.Errorf("two +Inf biases: counts %v, want about 1000 each for 0 and 2", counts)
	}
	s.Configure(abi.SamplerParams{LogitBias: map[int32]float32{2: inf}})
	if id := s.Sample(slices.Clone(logits)); id != 2 {
		t.Errorf("greedy with a +Inf bias: got %d", id)
	}
	s.Configure(abi.SamplerParams{Temperature: 1, LogitBias: map[int32]float32{0: -inf, 1: -inf, 2: -inf}})
	if id := s.Sample(slices.Clone(logits)); id != abi.ErrNoToken {
		t.Errorf("everything banned: got %d, want ErrNoToken", id)
	}
}

// TestPenaltyValues checks the penalised logits against llama.cpp's formula.
func TestPenaltyValues(t *testing.T) {
	s := New(abi.SamplerParams{RepeatPenalty: 1.25, FrequencyPenalty: 0.5, PresencePenalty: 0.25})
	for _, id := range []int32{0, 1, 1, 3, 7, -2} {
		s.Accept(id)
	}
	logits := []float32{2, -2, 2, 0, 1}
	s.penalize(logits)
	want := []float32{
		2/1.25 - (1*0.5 + 0.25),  // seen once, positive: divided
		-2*1.25 - (2*0.5 + 0.25), // seen twice, negative: multiplied
		2,                        // never seen
		0*1.25 - (1*0.5 + 0.25),  // zero counts as non-positive
		1,                        // never seen; ids 7 and -2 are outside the logits
	}
	for i := range want {
		if math.Abs(float64(logits[i]-want[i])) > 1e-6 {
			t.Errorf("token %d: penalised logit %v, want %v", i, logits[i], want[i])
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
	if id := pick(abi.SamplerParams{RepeatPenalty: 0}, []int32{0}, 2, 1.9); id != 0 {
		t.Errorf("repeat penalty 0 must be off: %d", id)
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
	// Configure starts a new request: the old history is gone.
	s := New(abi.SamplerParams{PresencePenalty: 0.5})
	s.Accept(0)
	s.Configure(abi.SamplerParams{PresencePenalty: 0.5})
	if id := s.Sample([]float32{1, 0.8}); id != 0 {
		t.Errorf("history survived Configure: %d", id)
	}
}

// TestHistoryWindow compares the ring's counts with a recount of the last window tokens.
func TestHistoryWindow(t *testing.T) {
	for _, window := range []int{1, 3, 64} {
		var h history
		h.reset(window)
		var all []int32
		for i := range 500 {
			id := int32(i*i*7%11) - 1 // includes -1 and repeats
			h.add(id)
			all = append(all, id)
			want := map[int32]int32{}
			for _, x := range all[max(0, len(all)-window):] {
				want[x]++
			}
			if !maps(h.counts, want) {
				t.Fatalf("window %d after %d tokens: counts %v, want %v", window, i+1, h.counts, want)
			}
		}
	}
}

func maps(a, b map[int32]int32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSeeds(t *testing.T) {
	logits := randomLogits(1000, 2, 2)
	run := func(p abi.SamplerParams) []int32 {
		s := New(p)
		var out []int32
		buf := make([]float32, len(logits))
		for range 50 {
			copy(buf, logits)
			out = append(out, s.Sample(buf))
		}
		return out
	}
	for _, p := range []abi.SamplerParams{{Temperature: 1}, {Temperature: 1, TopK: 50}, {Temperature: 1, TopP: 0.9}, {Temperature: 1, MinP: 0.1}} {
		p.Seed = 7
		a, b := run(p), run(p)
		p.Seed = 8
		c := run(p)
		if !slices.Equal(a, b) {
			t.Errorf("%+v: same seed, different draws", p)
		}
		if slices.Equal(a, c) {
			t.Errorf("%+v: different seeds, same 50 draws", p)
		}
	}
}

// TestNoAllocs: once its buffers have grown, a sampler allocates nothing per token.
func TestNoAllocs(t *testing.T) {
	logits := randomLogits(151936, 1, 3)
	buf := make([]float32, len(logits))
	for _, p := range benchParams {
		s := New(p.p)
		for _, id := range []int32{1, 2, 3} {
			s.Accept(id)
		}
		allocs := testing.AllocsPerRun(5, func() {
			copy(buf, logits)
			s.Sample(buf)
			s.Accept(7)
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per token", p.name, allocs)
		}
	}
}

// TestWeigh checks the exponentials against math.Exp, the cut-off below e^-32, NaN, and the histogram.
func TestWeigh(t *testing.T) {
	var l []float32
	for x := -40.0; x <= 0; x += 0.00731 {
		l = append(l, float32(x))
	}
	l = append(l, 0, -32, -inf, float32(math.NaN()))
	w := make([]float32, len(l))
	var mass [massBuckets]float64
	z := weigh(w, l, 0, 1)
	histogram(&mass, w)
	var sum, bucketed float64
	for i, x := range l {
		want := math.Exp(float64(x))
		if !(x > -32) {
			want = 0
		}
		if got := float64(w[i]); math.Abs(got-want) > 1.5e-7*want {
			t.Fatalf("e^%v = %v, want %v (relative error %.2g)", x, got, want, math.Abs(got-want)/want)
		}
		if i > 0 && l[i-1] < x && massBucket(w[i]) > massBucket(w[i-1]) {
			t.Fatalf("weight %v is in bucket %d, after the smaller %v's %d", w[i], massBucket(w[i]), w[i-1], massBucket(w[i-1]))
		}
		sum += float64(w[i])
	}
	for _, m := range mass {
		bucketed += m
	}
	if z != sum || math.Abs(bucketed-sum) > 1e-12*sum {
		t.Errorf("weigh returned %v, its histogram holds %v, the weights sum to %v", z, bucketed, sum)
	}
	if massBucket(1) != 0 || massBucket(0) != massBuckets-1 {
		t.Errorf("buckets of 1 and 0: %d, %d", massBucket(1), massBucket(0))
	}
	// The temperature scales the exponent: e^((l-mx)/T), here T = 0.5.
	weigh(w[:1], []float32{-1}, 1, 2)
	if want := math.Exp(-4); math.Abs(float64(w[0])-want) > 1.5e-7*want {
		t.Errorf("e^((-1-1)/0.5) = %v, want %v", w[0], want)
	}
}
