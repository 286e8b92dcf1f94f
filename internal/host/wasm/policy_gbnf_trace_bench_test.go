package wasm

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// gbnfTraces are BenchmarkPolicyGBNFTrace's outputs: a grammar of guest/constraint/testdata/gbnf and two
// texts of its language, as a model would write them (multibyte characters included), the second
// differently nested from the first.
var gbnfTraces = []struct{ name, grammar, text, other string }{
	{"json", "json.gbnf", `{"name": "Ada Lovelace", "born": 1815, "tags": ["math", "エンジン", "poet"], ` +
		`"notes": {"x": [1.5, -2e3, true, null], "é": "naïve café"}, "ok": false}`,
		`{"items": [{"id": 7, "label": "déjà vu", "sub": {"deep": [[0.25], {"k": "v"}]}}, {"id": 8}], "n": -3}`},
	{"c", "c.gbnf", "int main(){int x = 1;float y = 2;while(x<10){x = x+1;if(x==5){y = y*2;}}" +
		"/* done */return x;}int add(int a){return a+1;}",
		"float mul(float p){for(int i = 0; i<3; i = i+1){if(p>1){p = p/2;}else{p = g(p, i*2);}}// half\nreturn p;}"},
	{"arithmetic", "arithmetic.gbnf", "(1+x_2)*(y-3)= z\nfoo/2+(bar*7)= (q)\n", "((a*b)-(c/d))+e_9= 12\n"},
	{"japanese", "japanese.gbnf", "日本語のテキストです 東京は大きい街\n漢字とかなカナ", "ひらがなとカタカナ 京都\n"},
}

// BenchmarkPolicyGBNFTrace is the built-in policy guest's mask cost per token along whole outputs, at
// DeepSeek-V3's vocabulary on wazero (100 ms step deadline): each trace's text, tokenized by the model's
// tokenizer, is reported one token a step, each step masking the state after it. Three requests with the
// same grammar text: the first (whose states no earlier request reached; its first step builds the
// slices), a second with the same output, and a third ("other") with the trace's other output, whose
// states are mostly new but made of parse stacks like the first's; per request the median, 90th
// percentile and largest step, in µs.
func BenchmarkPolicyGBNFTrace(b *testing.B) {
	m := deepSeekV3PolicyModel(b)
	tok, err := NewTokenizer(newRuntime(b), builtin.Tokenizer, loadVocab(b, "ggml-vocab-deepseek-v3.gguf"), 1)
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPolicy(newRuntimeConfig(b, Config{Engine: EngineWazero, StepTimeout: 100e6, CPUBudget: 1e12}), builtin.Policy, m, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, tr := range gbnfTraces {
		src, err := os.ReadFile(filepath.Join(testutil.Root(), "guest/constraint/testdata/gbnf", tr.grammar))
		if err != nil {
			b.Fatal(err)
		}
		ids, err := tok.Encode(context.Background(), tr.text, false, false)
		if err != nil {
			b.Fatal(err)
		}
		other, err := tok.Encode(context.Background(), tr.other, false, false)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tr.name, func(b *testing.B) {
			gbnfBenchRuns++
			config, err := json.Marshal(map[string]string{"grammar": fmt.Sprintf("%s\n# trace %d", src, gbnfBenchRuns)})
			if err != nil {
				b.Fatal(err)
			}
			for _, req := range []string{"first", "second", "other"} {
				out := ids
				if req == "other" {
					out = other
				}
				steps := traceSteps(b, p, m, config, out)
				slices.Sort(steps)
				b.ReportMetric(float64(steps[len(steps)/2].Nanoseconds())/1e3, "µs/p50-"+req)
				b.ReportMetric(float64(steps[len(steps)*9/10].Nanoseconds())/1e3, "µs/p90-"+req)
				b.ReportMetric(float64(steps[len(steps)-1].Nanoseconds())/1e3, "µs/max-"+req)
			}
			b.ReportMetric(float64(len(ids)), "tokens")
		})
	}
}

// traceSteps runs one request of config on p that reports ids one a step after the prompt, and returns
// each step's time (the prompt's included: it masks the state before the first token).
func traceSteps(b *testing.B, p *Policy, m *PolicyModel, config []byte, ids []int32) []time.Duration {
	s, done := openSequence(b, p, config)
	defer done()
	var steps []time.Duration
	for i := -1; i < len(ids); i++ {
		step := []int32{m.BOS}
		if i >= 0 {
			step = ids[i : i+1]
		}
		start := time.Now()
		a, err := s.Step(0, step)
		if err != nil {
			b.Fatalf("after token %d: %v", i, err)
		}
		steps = append(steps, time.Since(start))
		if a.mask == nil && i+1 < len(ids) {
			b.Fatalf("after token %d: no mask", i)
		}
		if i >= 0 && a.mask != nil && i+1 < len(ids) && a.mask[ids[i+1]/8]&(1<<(ids[i+1]%8)) == 0 {
			b.Fatalf("after token %d: the next token %d is masked out", i, ids[i+1])
		}
	}
	return steps
}
