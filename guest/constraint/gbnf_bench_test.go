package constraint

import (
	"os"
	"testing"
)

// BenchmarkMaskGBNF is BenchmarkMask's step for llama.cpp's json.gbnf, on the same 129,280-token
// synthetic vocabulary: inside a string, where most tokens are allowed, and after a comma, where a key
// must start.
func BenchmarkMaskGBNF(b *testing.B) {
	src, err := os.ReadFile("testdata/gbnf/json.gbnf")
	if err != nil {
		b.Fatal(err)
	}
	vocab := benchVocab()
	trie := NewTrie(vocab)
	mask := make([]uint32, (len(vocab)+31)/32)
	for _, c := range []struct{ name, prefix string }{
		{"json-string", `{"name": "ab`},
		{"json-key", `{"name": "ab", `},
		{"json-any", `{"a": [1, {"x`},
	} {
		m, err := GBNF(string(src))
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(c.prefix); i++ {
			if !m.Advance(c.prefix[i]) {
				b.Fatalf("%s: prefix refused at %d", c.name, i)
			}
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				trie.Mask(m, mask)
			}
		})
	}
}
