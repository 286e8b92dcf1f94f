package constraint

import (
	"os"
	"testing"
)

// BenchmarkMaskGBNF is BenchmarkMask's step for llama.cpp's json.gbnf, on the same two 129,280-token
// vocabularies (synthetic, DeepSeek-V3's): inside a string, where most tokens are allowed, after a comma,
// where a key must start, and inside a key of a nested object.
func BenchmarkMaskGBNF(b *testing.B) {
	src, err := os.ReadFile("testdata/gbnf/json.gbnf")
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name  string
		vocab [][]byte
	}{{"synthetic", benchVocab()}, {"deepseek-v3", deepSeekV3Vocab(b)}} {
		b.Run(v.name, func(b *testing.B) { benchGBNF(b, string(src), v.vocab) })
	}
}

// benchGBNF is BenchmarkMaskGBNF on one vocabulary.
func benchGBNF(b *testing.B, src string, vocab [][]byte) {
	trie := NewTrie(vocab)
	mask := make([]uint32, (len(vocab)+31)/32)
	for _, c := range []struct{ name, prefix string }{
		{"json-string", `{"name": "ab`},
		{"json-key", `{"name": "ab", `},
		{"json-any", `{"a": [1, {"x`},
	} {
		m, err := GBNF(src)
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
