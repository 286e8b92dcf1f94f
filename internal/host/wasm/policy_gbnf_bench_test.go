package wasm

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// gbnfMaskStates are BenchmarkPolicyGBNFMask's states, guest/constraint's gbnfStates (BenchmarkMaskGBNF
// gives the native figures): a grammar of guest/constraint/testdata/gbnf and the text taken so far.
var gbnfMaskStates = []struct{ name, grammar, prefix string }{
	{"json-string", "json.gbnf", `{"name": "a`},
	{"json-key-start", "json.gbnf", `{"name": "ab", `},
	{"json-nested-key", "json.gbnf", `{"a": [1, {"x`},
	{"json-value-start", "json.gbnf", `{"a": `},
	{"json-array-start", "json.gbnf", `{"a": [`},
	{"json-number", "json.gbnf", `{"a": [[[1`},
	{"json-utf8-lead", "json.gbnf", "{\"name\": \"a\xc3"},
	{"json-utf8-mid", "json.gbnf", "{\"name\": \"a\xe4\xb8"},
	{"c-statement-start", "c.gbnf", `int main(){if(a<b){x = 1;}`},
	{"c-call-args", "c.gbnf", `int main(){return f(a, b`},
	{"c-comment", "c.gbnf", `int main(){/* `},
	{"arithmetic-ident", "arithmetic.gbnf", `(((ab`},
	{"japanese", "japanese.gbnf", "あ"},
}

// syntheticMaskModel is guest/constraint's benchVocab as a model: 129,280 random byte strings of 1–12
// bytes, mostly printable ASCII, a tenth of the bytes random, tokens 0–255 the single bytes.
func syntheticMaskModel() *PolicyModel {
	rng := rand.New(rand.NewSource(42))
	m := &PolicyModel{NLogits: v3Vocab, NCtx: 4096, Pieces: make([][]byte, v3Vocab), BOS: 0, EOS: 1, EOT: -1,
		ThinkOpen: -1, ThinkClose: -1}
	for i := range m.Pieces {
		if i < 256 {
			m.Pieces[i] = []byte{byte(i)}
			continue
		}
		m.Pieces[i] = make([]byte, 1+rng.Intn(12))
		for j := range m.Pieces[i] {
			if rng.Intn(10) == 0 {
				m.Pieces[i][j] = byte(rng.Intn(256))
			} else {
				m.Pieces[i][j] = byte(' ' + rng.Intn(95))
			}
		}
	}
	return m
}

// BenchmarkPolicyGBNFMask is BenchmarkPolicyMask for GBNF grammars (the grammar key), in the states of
// gbnfMaskStates, at the vocabularies of DeepSeek-V3 (129,280 tokens), Qwen2 (151,936) and Llama 3
// (128,256), and the synthetic one. Each session of a request takes the
// state's text but its last byte in one step, and a decode step then takes that byte, which enters the
// state, and masks it. The figures per state, medians of 5 sessions but the first:
//   - ms/first: the first session's decode step, building what it needs (the states run in order on one
//     instance, so later ones find some of it built);
//   - µs/new: the decode step in fresh sessions whose grammar text differs by a comment, so a state the
//     matcher and the mask cache have not seen, the slices built: the mask time per token in a new state;
//   - µs/cold: µs/new after the host has read 64 MiB of other memory, as a forward pass does between two
//     steps, and µs/seencold the same for a state an earlier request reached: what the caches add to any
//     step;
//   - µs/seen: the decode step in sessions with the first session's text, a state an earlier request of
//     the grammar reached;
//   - µs/whole: a fresh session's step that takes the whole text at once, masking the state after it;
//   - µs/med: a step masking the state again, as ctl_step does when no token came (the mask cache).
func BenchmarkPolicyGBNFMask(b *testing.B) {
	for _, v := range []struct {
		name  string
		model func() *PolicyModel
	}{
		{"deepseek-v3", func() *PolicyModel { return deepSeekV3PolicyModel(b) }},
		{"qwen2", func() *PolicyModel { return vocabPolicyModel(b, "ggml-vocab-qwen2.gguf") }},
		{"llama3", func() *PolicyModel { return vocabPolicyModel(b, "ggml-vocab-llama-bpe.gguf") }},
		{"synthetic", syntheticMaskModel},
	} {
		m := v.model()
		byteToken := singleByteTokens(m)
		p, err := NewPolicy(newRuntimeConfig(b, Config{Engine: EngineWazero, StepTimeout: 100e6, CPUBudget: 1e12}), builtin.Policy, m, 1)
		if err != nil {
			b.Fatal(err)
		}
		for _, st := range gbnfMaskStates {
			src, err := os.ReadFile(filepath.Join(testutil.Root(), "guest/constraint/testdata/gbnf", st.grammar))
			if err != nil {
				b.Fatal(err)
			}
			prefix := spellBytes(b, byteToken, st.prefix)
			b.Run(v.name+"/"+st.name, func(b *testing.B) { benchGBNFState(b, p, m, string(src), prefix) })
		}
	}
}

// gbnfBenchRuns counts benchGBNFState's runs, to tell their grammar texts apart.
var gbnfBenchRuns int

// benchGBNFState is BenchmarkPolicyGBNFMask in one state: sessions of the grammar src on p that take
// prefix.
func benchGBNFState(b *testing.B, p *Policy, m *PolicyModel, src string, prefix []int32) {
	// session closes the last session and opens a sequence of a new request under src and a comment,
	// past its prompt and, unless whole, past all of prefix but its last token.
	done := func() {}
	defer func() { done() }()
	session := func(comment string, whole bool) *PolicySession {
		done()
		done = func() {}
		config, err := json.Marshal(map[string]string{"grammar": src + "\n# " + comment})
		if err != nil {
			b.Fatal(err)
		}
		var s *PolicySession
		s, done = openSequence(b, p, config)
		steps := [][]int32{{m.BOS}, prefix[:len(prefix)-1]}
		if whole {
			steps = steps[:1]
		}
		for _, in := range steps {
			if _, err := s.Step(0, in); err != nil {
				b.Fatal(err)
			}
		}
		return s
	}
	// reach steps what is left of prefix into s, after reading 64 MiB first if cold, and masks the state.
	reach := func(s *PolicySession, whole, cold bool) time.Duration {
		in := prefix[len(prefix)-1:]
		if whole {
			in = prefix
		}
		if cold {
			evictCaches()
		}
		start := time.Now()
		a, err := s.Step(0, in)
		if err != nil {
			b.Fatal(err)
		}
		if a.mask == nil {
			b.Fatal("the step has no mask")
		}
		return time.Since(start)
	}
	// median is the median of reach over 5 sessions, comment giving each its grammar's comment.
	median := func(comment func(i int) string, whole, cold bool) time.Duration {
		var d []time.Duration
		for i := range 5 {
			d = append(d, reach(session(comment(i), whole), whole, cold))
		}
		slices.Sort(d)
		return d[len(d)/2]
	}
	gbnfBenchRuns++
	base := fmt.Sprintf("run %d", gbnfBenchRuns) // a text no other run's sessions send
	fresh := func(kind string) func(i int) string {
		return func(i int) string { return fmt.Sprintf("%s %s %d", base, kind, i) }
	}
	same := func(int) string { return base }
	first := reach(session(base, false), false, false)
	newState := median(fresh("new"), false, false)
	cold := median(fresh("cold"), false, true)
	seenCold := median(same, false, true)
	seen := median(same, false, false)
	whole := median(fresh("whole"), true, false)
	s := session(base, false)
	reach(s, false, false)
	maskAgain(b, s)
	b.ReportMetric(float64(first.Microseconds())/1e3, "ms/first")
	for _, f := range []struct {
		d    time.Duration
		unit string
	}{{newState, "µs/new"}, {cold, "µs/cold"}, {seenCold, "µs/seencold"}, {seen, "µs/seen"}, {whole, "µs/whole"}} {
		b.ReportMetric(float64(f.d.Nanoseconds())/1e3, f.unit)
	}
}

// evictionBuffer is what evictCaches reads: more than any CPU's caches hold.
var evictionBuffer []byte

// evictCaches reads and writes 64 MiB, pushing what a step uses out of the CPU's caches, as a forward pass
// over a model's weights does between two decode steps.
func evictCaches() {
	if evictionBuffer == nil {
		evictionBuffer = make([]byte, 64<<20)
	}
	for i := range evictionBuffer {
		evictionBuffer[i]++
	}
}
