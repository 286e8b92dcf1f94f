package constraint

import (
	"fmt"
	"slices"
	"testing"
)

// TestGBNFCache: two requests with one grammar text share its program, so the second's state is masked
// from the mask the first left in the Trie, and that mask is the state's (byte by byte); another text
// (a comment more) gets its own program; past maxCachedGrammars texts the oldest is compiled again.
func TestGBNFCache(t *testing.T) {
	const src = `root ::= "[" [a-z]+ ("," [a-z]+)* "]"`
	vocab := [][]byte{[]byte("["), []byte("ab"), []byte("a,"), []byte(",b"), []byte("]"), []byte("b]"), []byte("é")}
	trie := NewTrie(vocab)
	after := func(src, text string) *gbnfMatcher {
		m, err := GBNF(src)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(text); i++ {
			if !m.Advance(text[i]) {
				t.Fatalf("%q refused", text)
			}
		}
		return m.(*gbnfMatcher)
	}
	first := after(src, "[ab,x")
	mask := make([]uint32, 1)
	trie.Mask(first, mask)
	second := after(src, "[ab,x")
	if second.g != first.g {
		t.Fatal("two matchers of one text have different programs")
	}
	got := make([]uint32, 1)
	if !trie.cachedMask(second.stateKey(nil), got) {
		t.Fatal("the second request's state is not in the mask cache")
	}
	if want := snapMask(vocab, second, 1); !slices.Equal(got, want) || got[0] == 0 {
		t.Fatalf("cached mask %b, byte by byte %b", got, want)
	}
	if other := after(src+"\n# another request", "[ab,x"); other.g == first.g {
		t.Fatal("another text shares the program")
	}
	for i := range maxCachedGrammars {
		after(fmt.Sprintf("%s\n# %d", src, i), "")
	}
	if after(src, "").g == first.g {
		t.Fatalf("after %d other texts the first is still cached", maxCachedGrammars)
	}
	if n := len(gbnfCache.order); n > maxCachedGrammars || gbnfCache.bytes > maxCachedGrammarBytes {
		t.Fatalf("%d programs, %d bytes cached", n, gbnfCache.bytes)
	}
}
