package sampling

import (
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// benchParams are the sampler settings the benchmarks (here and in internal/host/wasm) compare.
var benchParams = []struct {
	name string
	p    abi.SamplerParams
}{
	{"greedy", abi.SamplerParams{}},
	{"temp", abi.SamplerParams{Temperature: 0.8}},
	{"top_k", abi.SamplerParams{Temperature: 0.8, TopK: 40}},
	{"top_p", abi.SamplerParams{Temperature: 0.6, TopP: 0.95}},
	{"min_p", abi.SamplerParams{Temperature: 0.8, MinP: 0.05}},
	{"llama", abi.SamplerParams{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1}},
}

// BenchmarkSample is one token over Qwen2's 151,936 logits (N(0, 3) noise: a flat, worst-case shape for
// top-p), the copy of the logits included.
func BenchmarkSample(b *testing.B) {
	logits := randomLogits(151936, 1, 3)
	buf := make([]float32, len(logits))
	for _, p := range benchParams {
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
