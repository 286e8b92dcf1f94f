package wasm

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sampling"
	"github.com/wasmoe/wasmoe/internal/builtin"
)

// qwenVocab is Qwen2's logits width, the size the benchmarks use.
const qwenVocab = 151936

func newSampler(t testing.TB, r *Runtime, size int) *Sampler {
	t.Helper()
	s, err := NewSampler(r, builtin.Sampler, size)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// randomLogits fills n logits with N(0, scale) noise.
func randomLogits(r *rand.Rand, n int, scale float64) []float32 {
	l := make([]float32, n)
	for i := range l {
		l[i] = float32(r.NormFloat64() * scale)
	}
	return l
}

// TestSamplerGuestMatchesNative samples with the guest, on each engine, and with guest/sampling natively
// from the same seed: the tokens must be the same, step after step, with every stage of the chain in play.
func TestSamplerGuestMatchesNative(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) { samplerMatchesNative(t, engine) })
}

func samplerMatchesNative(t *testing.T, engine string) {
	ctx := context.Background()
	s := newSampler(t, newRuntimeConfig(t, Config{Engine: engine}), 2)
	r := rand.New(rand.NewPCG(1, 2))
	for _, p := range []abi.SamplerParams{
		{Temperature: 0},
		{Temperature: 1, Seed: 10},
		{Temperature: 0.8, TopK: 40, TopP: 0.9, Seed: 11},
		{Temperature: 0.7, TopP: 0.95, Seed: 13},
		{Temperature: 1.1, MinP: 0.05, RepeatPenalty: 1.2, PresencePenalty: 0.3, FrequencyPenalty: 0.1,
			LogitBias: map[int32]float32{5: 3, 7: float32(math.Inf(-1))}, RepeatLastN: 16, Seed: 12},
	} {
		ss, err := s.Acquire(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		native := sampling.New(p)
		history := []int32{3, 5, 8, 5}
		if err := ss.Accept(history...); err != nil {
			t.Fatal(err)
		}
		for _, h := range history {
			native.Accept(h)
		}
		for step := range 40 {
			n := qwenVocab
			if step%2 == 1 {
				n = 1000 // a small vocabulary too, so the penalised tokens matter
			}
			logits := randomLogits(r, n, 3)
			got, err := ss.Sample(logits)
			if err != nil {
				t.Fatal(err)
			}
			if want := native.Sample(logits); got != want {
				t.Fatalf("params %+v step %d: guest picked %d, native %d", p, step, got, want)
			}
			if err := ss.Accept(got); err != nil {
				t.Fatal(err)
			}
			native.Accept(got)
		}
		ss.Release()
	}
}

// TestSamplerErrors: a guest status comes back as an error that says what went wrong, and the instance
// stays usable.
func TestSamplerErrors(t *testing.T) {
	ctx := context.Background()
	s := newSampler(t, newRuntime(t), 1)
	ss, err := s.Acquire(ctx, abi.SamplerParams{Temperature: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Release()
	inf := float32(math.Inf(-1))
	if _, err := ss.Sample([]float32{inf, float32(math.NaN())}); err == nil || !strings.Contains(err.Error(), "no token") {
		t.Errorf("all logits banned: %v", err)
	}
	if _, err := ss.Sample(nil); err == nil {
		t.Error("no logits: no error")
	}
	if id, err := ss.Sample([]float32{inf, 0, inf}); err != nil || id != 1 {
		t.Errorf("after the errors: %d, %v", id, err)
	}
	if _, err := s.Acquire(ctx, abi.SamplerParams{Temperature: float32(math.NaN())}); err == nil {
		t.Error("NaN temperature accepted")
	}
}

// TestSamplerPoolReuse: sequential requests reuse one instance.
func TestSamplerPoolReuse(t *testing.T) {
	s := newSampler(t, newRuntime(t), 3)
	for range 50 {
		ss, err := s.Acquire(context.Background(), abi.SamplerParams{})
		if err != nil {
			t.Fatal(err)
		}
		ss.Release()
		ss.Release() // harmless
	}
	if n := s.p.live(); n != 1 {
		t.Errorf("%d instances after 50 sequential requests, want 1", n)
	}
}

// TestSampleNoAllocs: a token costs no host allocation in steady state.
func TestSampleNoAllocs(t *testing.T) {
	s := newSampler(t, newRuntime(t), 1)
	ss, err := s.Acquire(context.Background(), abi.SamplerParams{Temperature: 0.8, TopK: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Release()
	logits := randomLogits(rand.New(rand.NewPCG(1, 1)), qwenVocab, 3)
	allocs := testing.AllocsPerRun(20, func() {
		id, err := ss.Sample(logits)
		if err != nil {
			t.Fatal(err)
		}
		if err := ss.Accept(id); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per Sample+Accept", allocs)
	}
}

// samplerBenchParams are the settings the sampler benchmarks compare.
var samplerBenchParams = []struct {
	name string
	p    abi.SamplerParams
}{
	{"greedy", abi.SamplerParams{}},
	{"temp", abi.SamplerParams{Temperature: 0.8}},
	{"top_k", abi.SamplerParams{Temperature: 0.8, TopK: 40}},
	{"top_p", abi.SamplerParams{Temperature: 0.6, TopP: 0.95}},
	{"min_p", abi.SamplerParams{Temperature: 0.8, MinP: 0.05}},
}

// BenchmarkSample is one token over 151,936 logits (N(0, 3) noise, a flat worst case for top-p): the
// guest (logits copied in, the call, the pick), the same guest under a deadline (metered, as plugins
// run), and the same code natively (logits copied to scratch, as the guest's buffer is).
func BenchmarkSample(b *testing.B) {
	logits := randomLogits(rand.New(rand.NewPCG(1, 1)), qwenVocab, 3)
	plain := newSampler(b, newRuntime(b), 1)
	metered := newSampler(b, newRuntimeConfig(b, Config{StepTimeout: time.Hour}), 1)
	for _, p := range samplerBenchParams {
		for _, g := range []struct {
			name string
			s    *Sampler
		}{{"wasm", plain}, {"wasm-deadline", metered}} {
			b.Run(p.name+"/"+g.name, func(b *testing.B) {
				ss, err := g.s.Acquire(context.Background(), p.p)
				if err != nil {
					b.Fatal(err)
				}
				defer ss.Release()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := ss.Sample(logits); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(p.name+"/native", func(b *testing.B) {
			s := sampling.New(p.p)
			buf := make([]float32, len(logits))
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, logits)
				s.Sample(buf)
			}
		})
	}
}
