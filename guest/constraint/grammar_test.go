package constraint

import (
	"encoding/json"
	"math/rand"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func mustRegex(t testing.TB, p string) Matcher {
	m, err := Regex(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustGrammar(t testing.TB, p *Pattern) Matcher {
	m, err := Grammar(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGrammarAgainstRegexp checks grammars of literals and regex sub-Matchers against Go's regexp for
// the same language: whole words (Accepting) and prefixes (Advance succeeds only on a prefix of a word).
func TestGrammarAgainstRegexp(t *testing.T) {
	cases := []struct {
		p     func() *Pattern
		re    string
		alpha string
	}{
		{func() *Pattern { return Lit("abc") }, `abc`, "abcx"},
		{func() *Pattern { return Seq(Lit("a"), Sub(mustRegex(t, `b+`)), Lit("c")) }, `ab+c`, "abcx"},
		{func() *Pattern { return Alt(Lit("ab"), Lit("abc"), Lit("b")) }, `ab|abc|b`, "abcx"},
		{func() *Pattern { return Seq(Sub(mustRegex(t, `a*`)), Sub(mustRegex(t, `a?b`))) }, `a*a?b`, "abx"},
		{func() *Pattern { return Repeat(Lit("x"), Lit(","), 1, -1) }, `x(,x)*`, "x,a"},
		{func() *Pattern { return Repeat(Sub(mustRegex(t, `[ab]+`)), Lit(";"), 2, 3) }, `[ab]+;[ab]+(;[ab]+)?`, "ab;x"},
		{func() *Pattern { return Repeat(Alt(Lit("a"), Lit("bb")), nil, 1, -1) }, `(a|bb)+`, "abx"},
		{func() *Pattern { return Seq(Lit("<"), Repeat(Sub(mustRegex(t, `[0-9]`)), Lit(""), 1, 1), Lit(">")) }, `<[0-9]>`, "<>07"},
		{func() *Pattern { return Seq(Lit("["), Repeat(Sub(mustRegex(t, `a*`)), Lit("|"), 1, -1), Lit("]")) }, `\[a*(\|a*)*\]`, "[]a|"},
	}
	rng := rand.New(rand.NewSource(1))
	for _, c := range cases {
		re := regexp.MustCompile(`^(?:` + c.re + `)$`)
		prefixes := wordPrefixes(re, c.alpha, 9)
		m := mustGrammar(t, c.p())
		for range 2000 {
			b := make([]byte, rng.Intn(7))
			for i := range b {
				b[i] = c.alpha[rng.Intn(len(c.alpha))]
			}
			s := string(b)
			mc := m.Clone()
			ok := true
			for i := 0; i < len(s) && ok; i++ {
				ok = mc.Advance(s[i])
				if ok != prefixes[s[:i+1]] {
					t.Fatalf("%s: Advance over %q = %v", c.re, s[:i+1], ok)
				}
			}
			if ok && mc.Accepting() != re.MatchString(s) {
				t.Fatalf("%s: Accepting(%q) = %v", c.re, s, mc.Accepting())
			}
			if ok && mc.Done() && strings.ContainsFunc(c.alpha, func(a rune) bool { return prefixes[s+string(a)] }) {
				t.Fatalf("%s: Done after %q, yet a word continues it", c.re, s)
			}
		}
	}
}

// wordPrefixes returns the prefixes of the words of re over alpha of up to n bytes.
func wordPrefixes(re *regexp.Regexp, alpha string, n int) map[string]bool {
	out := map[string]bool{}
	var walk func(s string)
	walk = func(s string) {
		if re.MatchString(s) {
			for i := 0; i <= len(s); i++ {
				out[s[:i]] = true
			}
		}
		if len(s) < n {
			for i := 0; i < len(alpha); i++ {
				walk(s + alpha[i:i+1])
			}
		}
	}
	walk("")
	return out
}

// TestGrammarToolCalls builds a tool-call grammar (JSON arguments inside literal framing), walks it at
// random, and checks that each word it completes splits into calls whose arguments are valid JSON with
// the schema's required property.
func TestGrammarToolCalls(t *testing.T) {
	schema := `{"type":"object","properties":{"city":{"enum":["Paris","Rome"]},"days":{"type":"boolean"}},"required":["city"],"additionalProperties":false}`
	args, err := JSONSchema([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	call := func(name string) *Pattern {
		return Seq(Lit(`<tool_call>{"name": "`+name+`", "arguments": `), Sub(args), Lit("}</tool_call>"))
	}
	g := mustGrammar(t, Repeat(Alt(call("get"), call("get_weather")), Lit("\n"), 1, -1))
	rng := rand.New(rand.NewSource(2))
	words := 0
	for range 100 {
		m := g.Clone().(Snapshotter)
		var sb strings.Builder
		for !m.Done() && sb.Len() < 2000 {
			if m.Accepting() && rng.Intn(3) == 0 {
				break
			}
			var ok []byte
			for b := 0; b < 256; b++ {
				h := m.Snapshot()
				if m.Advance(byte(b)) {
					ok = append(ok, byte(b))
				}
				m.Restore(h)
			}
			if len(ok) == 0 {
				t.Fatalf("dead end after %q", sb.String())
			}
			b := ok[rng.Intn(len(ok))]
			m.Advance(b)
			sb.WriteByte(b)
		}
		if !m.Accepting() {
			continue
		}
		words++
		// Calls are separated by "\n"; the arguments may hold newlines too (pretty-printed JSON), but never
		// a newline followed by a call's start, which only a JSON string could hold, and it cannot hold a
		// raw newline.
		text := sb.String()
		inner, ok := strings.CutPrefix(text, "<tool_call>")
		inner, ok2 := strings.CutSuffix(inner, "</tool_call>")
		if !ok || !ok2 {
			t.Fatalf("%q is not framed as calls", text)
		}
		for _, body := range strings.Split(inner, "</tool_call>\n<tool_call>") {
			var v struct {
				Name      string `json:"name"`
				Arguments map[string]any
			}
			if json.Unmarshal([]byte(body), &v) != nil || (v.Name != "get" && v.Name != "get_weather") ||
				(v.Arguments["city"] != "Paris" && v.Arguments["city"] != "Rome") {
				t.Fatalf("call %q of %q does not follow the grammar", body, text)
			}
		}
	}
	if words < 20 {
		t.Errorf("only %d complete words", words)
	}
}

// TestGrammarMask compares Trie.Mask on a grammar (its Snapshotter path, with a JSON sub) with the
// naive mask, along random walks.
func TestGrammarMask(t *testing.T) {
	args, err := JSONSchema([]byte(`{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string","maxLength":3}}}`))
	if err != nil {
		t.Fatal(err)
	}
	g := mustGrammar(t, Seq(Lit("<c>"), Repeat(Seq(Lit("f\n"), Sub(args), Lit("\n")), Lit(";"), 1, 2), Lit("</c>")))
	rng := rand.New(rand.NewSource(3))
	vocab := randomVocab(rng, 3000, []byte(`<c>/f;{}"ab:,0123 \n`))
	trie := NewTrie(vocab)
	words := (len(vocab) + 31) / 32
	for range 20 {
		m := g.Clone()
		for step := 0; step < 40 && !m.Done(); step++ {
			got := make([]uint32, words)
			trie.Mask(m, got)
			if want := naiveMask(vocab, m, words); !slices.Equal(got, want) {
				t.Fatalf("step %d: mask differs from the naive one", step)
			}
			next := randomAllowed(rng, vocab, got)
			if next == nil {
				break
			}
			for _, b := range next {
				if !m.Advance(b) {
					t.Fatal("an allowed token does not advance")
				}
			}
		}
	}
}

func TestGrammarErrors(t *testing.T) {
	for _, p := range []*Pattern{Alt(), Repeat(Lit("a"), nil, 0, 2), Repeat(Lit("a"), nil, 3, 2), Seq(Lit("x"), Alt())} {
		if _, err := Grammar(p); err == nil {
			t.Errorf("%+v: no error", p)
		}
	}
}
