package constraint

import (
	"slices"
	"testing"
)

// TestMaskCacheKeys: masks cached by state key are the masks of those states and no other: two grammars
// whose compiled programs are alike (only a literal differs) each get their own mask from one Trie, a
// state reached again along another text gets the mask it had, a state inside a character differs
// from the one before it, and two states whose stacks have the same tops but return to different places
// (a string in braces, in brackets) differ.
func TestMaskCacheKeys(t *testing.T) {
	vocab := [][]byte{[]byte("a"), []byte("b"), []byte("ab"), []byte("ba"), []byte("é"), []byte("\xa9"), []byte("\xc3"),
		[]byte(`"}`), []byte(`"]`)}
	trie := NewTrie(vocab)
	allowed := func(m Matcher) []string {
		mask := make([]uint32, 1)
		trie.Mask(m, mask)
		var out []string
		for id, tok := range vocab {
			if mask[0]&(1<<id) != 0 {
				out = append(out, string(tok))
			}
		}
		return out
	}
	compiled := map[string]Matcher{} // one grammar per source, so that its states recur
	after := func(src, text string) Matcher {
		if compiled[src] == nil {
			m, err := GBNF(src)
			if err != nil {
				t.Fatal(err)
			}
			compiled[src] = m
		}
		m := compiled[src].Clone()
		for i := 0; i < len(text); i++ {
			if !m.Advance(text[i]) {
				t.Fatalf("%s: %q refused", src, text)
			}
		}
		return m
	}
	const brackets = "root ::= \"{\" s \"}\" | \"[\" s \"]\"\ns ::= \"\\\"\" [a-z]* \"\\\"\"" // the same string stacks over different returns
	for _, c := range []struct {
		src, text string
		want      []string
	}{
		{`root ::= "a"`, "", []string{"a"}},
		{`root ::= "b"`, "", []string{"b"}},
		{`root ::= "a"`, "", []string{"a"}},
		{`root ::= ("a" | "b")*`, "", []string{"a", "b", "ab", "ba"}},
		{`root ::= ("ab" | "ba") "é"`, "ab", []string{"é", "\xc3"}},
		{`root ::= ("ab" | "ba") "é"`, "ba", []string{"é", "\xc3"}},
		{`root ::= ("ab" | "ba") "é"`, "ab\xc3", []string{"\xa9"}},
		{brackets, `{"a`, []string{"a", "b", "ab", "ba", `"}`}},
		{brackets, `["a`, []string{"a", "b", "ab", "ba", `"]`}},
	} {
		m := after(c.src, c.text)
		for range 2 {
			if got := allowed(m); !slices.Equal(got, c.want) {
				t.Errorf("%s after %q: %q, want %q", c.src, c.text, got, c.want)
			}
		}
	}
}
