package constraint

import (
	"math/rand"
	"testing"
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

func BenchmarkMask(b *testing.B) {
	vocab := benchVocab()
	trie := NewTrie(vocab)
	mask := make([]uint32, (len(vocab)+31)/32)
	schema := `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"tags":{"type":"array","items":{"type":"string","maxLength":20}}},"required":["name"]}`
	cases := []struct {
		name, regex, schema, prefix string
	}{
		{"regex", `[A-Za-z ,.!?]{0,400}`, "", "Hello"},
		{"regex-json-ish", `\{"name": "[^"\\]{0,40}", "n": -?\d+(\.\d+)?\}`, "", `{"name": "ab`},
		{"json-string", "", schema, `{"name":"ab`},
		{"json-key", "", schema, `{"name":"ab", `},
		{"json-any", "", ``, `[1, {"x`},
	}
	for _, c := range cases {
		var m Matcher
		var err error
		if c.schema != "" || c.regex == "" {
			m, err = JSONSchema([]byte(c.schema))
		} else {
			m, err = Regex(c.regex)
		}
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(c.prefix); i++ {
			if !m.Advance(c.prefix[i]) {
				b.Fatalf("%s: prefix refused at %d", c.name, i)
			}
		}
		b.Run(c.name, func(b *testing.B) {
			trie.Mask(m, mask) // warm the lazy DFA
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				trie.Mask(m, mask)
			}
		})
	}
}
