package constraint

import (
	"math/rand"
	"testing"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

// benchVocab is a 129,280-token synthetic vocabulary of random byte strings of 1–12 bytes, mostly
// printable ASCII like a real one, plus all single bytes.
func benchVocab() [][]byte {
	rng := rand.New(rand.NewSource(42))
	const n = 129280
	v := make([][]byte, n)
	for i := range v {
		if i < 256 {
			v[i] = []byte{byte(i)}
			continue
		}
		v[i] = make([]byte, 1+rng.Intn(12))
		for j := range v[i] {
			if rng.Intn(10) == 0 {
				v[i][j] = byte(rng.Intn(256))
			} else {
				v[i][j] = byte(' ' + rng.Intn(95))
			}
		}
	}
	return v
}

// benchSchema is the JSON schema of the benchmarks' JSON states.
const benchSchema = `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},` +
	`"tags":{"type":"array","items":{"type":"string","maxLength":20}}},"required":["name"]}`

// benchJSONish is the regex of the benchmarks' regex states that spell JSON.
const benchJSONish = `\{"name": "[^"\\]{0,40}", "n": -?\d+(\.\d+)?\}`

// maskStates are the benchmarks' matcher states, one of each kind: a matcher (a regex, else a JSON schema,
// "" meaning any JSON value) and the text it has taken.
var maskStates = []struct {
	name, regex, schema, prefix string
}{
	{"json-string", "", benchSchema, `{"name":"ab`},
	{"json-string-maxlength", "", benchSchema, `{"name":"a","tags":["ab`},
	{"json-string-escape", "", benchSchema, `{"name":"ab\`},
	{"json-key", "", benchSchema, `{"name":"ab","a`},
	{"json-number", "", benchSchema, `{"name":"a","age":12`},
	{"json-after-value", "", benchSchema, `{"name":"ab"`},
	{"json-array", "", benchSchema, `{"name":"a","tags":[`},
	{"json-any-value", "", "", `[1, `},
	{"json-any-key", "", "", `[1, {"x`},
	{"regex-class", `[A-Za-z ,.!?]{0,400}`, "", "Hello"},
	{"regex-json-ish-class", benchJSONish, "", `{"name": "ab`},
	{"regex-json-ish-literal", benchJSONish, "", `{"na`},
}

// BenchmarkMask is Trie.Mask's time per mask, native, in each kind of state, on the synthetic vocabulary
// and on DeepSeek-V3's (both 129,280 tokens). The guest's figure is internal/host/wasm's
// BenchmarkPolicyMask.
func BenchmarkMask(b *testing.B) {
	for _, v := range []struct {
		name  string
		vocab [][]byte
	}{{"synthetic", benchVocab()}, {"deepseek-v3", deepSeekV3Vocab(b)}} {
		trie := NewTrie(v.vocab)
		mask := make([]uint32, (len(v.vocab)+31)/32)
		for _, c := range maskStates {
			m := stateMatcher(b, c.regex, c.schema, c.prefix)
			b.Run(v.name+"/"+c.name, func(b *testing.B) {
				trie.Mask(m, mask) // build the lazy DFA and the slices
				testutil.LoopMedian(b, func() { trie.Mask(m, mask) })
			})
		}
	}
}

// stateMatcher is the matcher of regex (else of schema) after prefix.
func stateMatcher(tb testing.TB, regex, schema, prefix string) Matcher {
	tb.Helper()
	var m Matcher
	var err error
	if regex == "" {
		m, err = JSONSchema([]byte(schema))
	} else {
		m, err = Regex(regex)
	}
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < len(prefix); i++ {
		if !m.Advance(prefix[i]) {
			tb.Fatalf("%q refused at %d", prefix, i)
		}
	}
	return m
}
