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
	{"json-string", "json.gbnf", `{"name": "ab`},
	{"json-key-start", "json.gbnf", `{"name": "ab", `},
	{"json-nested-key", "json.gbnf", `{"a": [1, {"x`},
	{"json-value-start", "json.gbnf", `{"a": `},
	{"json-array-start", "json.gbnf", `{"a": [`},
	{"json-number", "json.gbnf", `{"a": [[[1`},
	{"json-utf8-lead", "json.gbnf", "{\"name\": \"a\xc3"},
	{"json-utf8-mid", "json.gbnf", "{\"name\": \"a\xe4\xb8"},
	{"c-statement-start", "c.gbnf", `int main(){if(a<b){x = 1;}`},
	{"c-call-args", "c.gbnf", `int main(){return f(a, b`},
	{"c-comment", "c.gbnf", `int main(){/* hello`},
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
// gbnfMaskStates, at DeepSeek-V3's vocabulary and the synthetic one. Four figures per state: ms/first is
// the first session's step that takes the text so far and masks the state, building what it needs (the
// states run in order on one instance, so later ones find some of it built); µs/new is the same step in
// 5 fresh sessions (median) whose grammar text differs by a comment: a state the matcher and the mask
// cache have not seen, the slices built; µs/seen is the same in 5 fresh sessions with the first
// session's text, a state an earlier request of the grammar reached; µs/med is a step masking the state
// again, as ctl_step does when no token came, which the guest's mask cache answers.
func BenchmarkPolicyGBNFMask(b *testing.B) {
	for _, v := range []struct {
		name  string
		model func() *PolicyModel
	}{{"deepseek-v3", func() *PolicyModel { return deepSeekV3PolicyModel(b) }}, {"synthetic", syntheticMaskModel}} {
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
	// past its prompt.
	done := func() {}
	defer func() { done() }()
	session := func(comment string) *PolicySession {
		done()
		done = func() {}
		config, err := json.Marshal(map[string]string{"grammar": src + "\n# " + comment})
		if err != nil {
			b.Fatal(err)
		}
		var s *PolicySession
		s, done = openSequence(b, p, config)
		if _, err := s.Step(0, []int32{m.BOS}); err != nil {
			b.Fatal(err)
		}
		return s
	}
	// reach steps the output so far into s and masks the state.
	reach := func(s *PolicySession) time.Duration {
		start := time.Now()
		a, err := s.Step(0, prefix)
		if err != nil {
			b.Fatal(err)
		}
		if a.mask == nil {
			b.Fatal("the step has no mask")
		}
		return time.Since(start)
	}
	// median is the median of reach over 5 sessions, comment giving each its grammar's comment.
	median := func(comment func(i int) string) time.Duration {
		var d []time.Duration
		for i := range 5 {
			d = append(d, reach(session(comment(i))))
		}
		slices.Sort(d)
		return d[len(d)/2]
	}
	gbnfBenchRuns++
	base := fmt.Sprintf("run %d", gbnfBenchRuns) // a text no other run's sessions send
	first := reach(session(base))
	fresh := median(func(i int) string { return fmt.Sprintf("%s new %d", base, i) })
	seen := median(func(int) string { return base })
	s := session(base)
	reach(s)
	maskAgain(b, s)
	b.ReportMetric(float64(first.Microseconds())/1e3, "ms/first")
	b.ReportMetric(float64(fresh.Nanoseconds())/1e3, "µs/new")
	b.ReportMetric(float64(seen.Nanoseconds())/1e3, "µs/seen")
}
