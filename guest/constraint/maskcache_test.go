package constraint

import (
	"slices"
	"testing"
)

// TestMaskCacheKeys: masks cached by state key are the masks of those states and no other: two grammars
// whose compiled programs are alike (only a literal differs) each get their own mask from one Trie, a
// state reached again along another text gets the mask it had, a state inside a character differs
// from the one before it, and two states whose stacks have the same tops but return to different places
// (a string in braces, in brackets) differ; states inside a string after different characters, or after
// different lead bytes of characters the string holds all of, are one state (one key), while the lead
// bytes of a class holding some of their characters make different states.
func TestMaskCacheKeys(t *testing.T) {
	vocab := [][]byte{[]byte("a"), []byte("b"), []byte("ab"), []byte("ba"), []byte("é"), []byte("\xa9"), []byte("\xc3"),
		[]byte(`"}`), []byte(`"]`), []byte("\xbf"), []byte("\x80")}
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
	const str, some = `root ::= "\"" [^"]* "\""`, `root ::= [¡-ï]`
	inString := []string{"a", "b", "ab", "ba", "é", "\xc3"}
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
		{str, "\"a", inString},
		{str, "\"é", inString},
		{str, "\"\xc3", []string{"\xa9", "\xbf", "\x80"}},
		{str, "\"\xc2", []string{"\xa9", "\xbf", "\x80"}},
		{some, "\xc2", []string{"\xa9", "\xbf"}}, // U+A1-U+BF
		{some, "\xc3", []string{"\xa9", "\x80"}}, // U+C0-U+EF
	} {
		m := after(c.src, c.text)
		for range 2 {
			if got := allowed(m); !slices.Equal(got, c.want) {
				t.Errorf("%s after %q: %q, want %q", c.src, c.text, got, c.want)
			}
		}
	}
	key := func(src, text string) string { return string(after(src, text).(*gbnfMatcher).stateKey(nil)) }
	if key(str, "\"a") != key(str, "\"é") || key(str, "\"\xc3") != key(str, "\"\xc2") {
		t.Error("states inside a string differ by the last character")
	}
	if key(some, "\xc2") == key(some, "\xc3") {
		t.Error("lead bytes of a class of some of their characters make one state")
	}
}
