package constraint

import (
	"errors"
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// oracle is the truth for Regex: Go's regexp anchored at both ends, on valid UTF-8 only.
func oracle(t testing.TB, pattern string) func(string) bool {
	re, err := regexp.Compile("^(?:" + pattern + ")$")
	if err != nil {
		t.Fatalf("oracle cannot compile %q: %v", pattern, err)
	}
	return func(s string) bool { return utf8.ValidString(s) && re.MatchString(s) }
}

// feed reports whether m accepts all of s and ends accepting; it checks Done on the way.
func feed(t testing.TB, m Matcher, s string) bool {
	for i := 0; i < len(s); i++ {
		if m.Done() {
			if m.Advance(s[i]) {
				t.Fatalf("Done before the end of %q at %d, yet a byte follows", s, i)
			}
			return false
		}
		if !m.Advance(s[i]) {
			return false
		}
	}
	return m.Accepting()
}

var regexPatterns = []string{
	``, `a`, `abc`, `a|b|cd`, `a*`, `a+b*`, `(ab)*c?`, `[a-c]{2,4}`, `x{3}`, `x{0}`, `.`, `.*`, `(?s).*`,
	`[^a]*`, `\d+(\.\d+)?`, `-?(0|[1-9][0-9]*)`, `[[:alpha:]]+`, `\pL+`, `\p{Greek}*`, `[^\x00-\x7f]+`,
	`é|日本`, `(?i)straße`, `(?i)k`, `(?i)[a-z]+`, `\w+\s\w+`, `\bfoo\b`, `a\b`, `\Bx\B`, `a\Bb`, `^abc$`,
	`a^b`, `a$`, `$`, `^`, `(?m)^a$\n^b$`, `(?m)a$`, `(?m)^`, `\Aab\z`, `(a|ab)(c|bcd)(d*)`, `[\x{D7FF}-\x{E001}]`,
	`\x{10FFFF}|\x{FFFD}`, `[^\n]+\n`, `(?U)a+?b`, `(a*)*`, `(a|b)*a(a|b){5}`, `[a-zA-Z_][a-zA-Z0-9_]*`,
	`"([^"\\]|\\.)*"`, `(true|false|null)`, `\Q.*+\E`, `[\p{Lu}\p{Nd}]{1,3}`, `\\`, `\n|\t`, `((((a))))`,
	`(yes|no|maybe)( [0-9]{1,2})?`, `[^\pL\pN]`, `(?i)ǅ`, `\x{1F600}+`, `[😀-🙏]`,
}

// sampleStrings returns strings to try on a pattern: random strings over an alphabet taken from the
// pattern and a few extras, random bytes, and random walks of the matcher itself.
func sampleStrings(rng *rand.Rand, pattern string, m Matcher) []string {
	alpha := []string{"a", "b", "c", "x", "\n", " ", "é", "日", "ß", "K", "k", "\u212a", "0", "9", "_", ".", "\"",
		"\\", "\x00", "\xff", "\xc3", "\U0010FFFF", "\uFFFD", "😀", "\xed\xa0\x80"}
	for _, r := range pattern {
		alpha = append(alpha, string(r))
	}
	var out []string
	for i := 0; i < 200; i++ {
		var sb strings.Builder
		for n := rng.Intn(8); n > 0; n-- {
			sb.WriteString(alpha[rng.Intn(len(alpha))])
		}
		out = append(out, sb.String())
	}
	for i := 0; i < 30; i++ {
		b := make([]byte, rng.Intn(6))
		rng.Read(b)
		out = append(out, string(b))
	}
	for i := 0; i < 60; i++ {
		out = append(out, walk(rng, m.Clone(), 12))
	}
	return out
}

// walk follows random accepted bytes from m, stopping at Done, at random once accepting, or after max.
func walk(rng *rand.Rand, m Matcher, max int) string {
	var out []byte
	for len(out) < max && !m.Done() {
		if m.Accepting() && rng.Intn(4) == 0 {
			break
		}
		var ok []byte
		for c := 0; c < 256; c++ {
			if m.Clone().Advance(byte(c)) {
				ok = append(ok, byte(c))
			}
		}
		if len(ok) == 0 {
			panic("dead end")
		}
		b := ok[rng.Intn(len(ok))]
		m.Advance(b)
		out = append(out, b)
	}
	return string(out)
}

func checkPattern(t *testing.T, rng *rand.Rand, p string) {
	t.Helper()
	want := oracle(t, p)
	m, err := Regex(p)
	if errors.Is(err, ErrEmpty) {
		for _, s := range []string{"", "a", "ab", "\n", "é"} {
			if want(s) {
				t.Fatalf("%q: ErrEmpty but %q matches", p, s)
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("%q: %v", p, err)
	}
	for _, s := range sampleStrings(rng, p, m) {
		if got := feed(t, m.Clone(), s); got != want(s) {
			t.Fatalf("pattern %q input %q: matcher %v, regexp %v", p, s, got, want(s))
		}
	}
}

func TestRegexAgainstRegexp(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, p := range regexPatterns {
		checkPattern(t, rng, p)
	}
}

// randomPattern builds a random RE2 pattern from a small grammar.
func randomPattern(rng *rand.Rand, depth int) string {
	atoms := []string{"a", "b", "é", "日", ".", "[ab]", "[^a]", `\d`, `\w`, `\s`, `\pL`, "(?i:k)", "^", "$", `\b`,
		`\B`, `\n`, "(?m:^)", "(?m:$)", "(?s:.)", "[a-zé]", `\x{10000}`, ""}
	if depth <= 0 || rng.Intn(3) == 0 {
		return atoms[rng.Intn(len(atoms))]
	}
	a := randomPattern(rng, depth-1)
	switch rng.Intn(7) {
	case 0:
		return a + randomPattern(rng, depth-1)
	case 1:
		return "(?:" + a + "|" + randomPattern(rng, depth-1) + ")"
	case 2:
		return "(?:" + a + ")*"
	case 3:
		return "(?:" + a + ")+"
	case 4:
		return "(?:" + a + ")?"
	case 5:
		return "(?:" + a + "){1,3}"
	default:
		return "(" + a + ")" + randomPattern(rng, depth-1)
	}
}

// TestRegexRandomPatterns is the property test: random patterns, random inputs, same verdict as regexp.
func TestRegexRandomPatterns(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	n := 400
	if testing.Short() {
		n = 50
	}
	for i := 0; i < n; i++ {
		checkPattern(t, rng, randomPattern(rng, 4))
	}
}

// TestRegexNoDeadEnd checks that every accepted prefix can still be completed.
func TestRegexNoDeadEnd(t *testing.T) {
	for _, p := range []string{`a\bb|ac`, `a$b|ab`, `(?m)a$b|a$\nb`, `abc|abd`, `x\Bx|x\b`} {
		m, err := Regex(p)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewSource(4))
		want := oracle(t, p)
		for i := 0; i < 50; i++ {
			mm := m.Clone()
			s := walk(rng, mm, 50) // panics on a dead end
			if mm.Accepting() && !want(s) {
				t.Fatalf("%q: walk %q accepted, regexp disagrees", p, s)
			}
		}
	}
}

func TestRegexErrors(t *testing.T) {
	for _, p := range []string{`(`, `a)(b`, `\Qa)(b`, `x{1001}`, `[z-a]`} {
		if _, err := regexp.Compile(p); err == nil && p != `\Qa)(b` {
			t.Fatalf("%q compiles in regexp", p)
		}
		m, err := Regex(p)
		if p == `\Qa)(b` { // a literal: must not escape the anchoring
			if err != nil || !feed(t, m, "a)(b") {
				t.Fatalf("%q: %v", p, err)
			}
			continue
		}
		if err == nil {
			t.Fatalf("%q: no error", p)
		}
	}
	if _, err := Regex(`[^\x00-\x{10FFFF}]`); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty class: %v", err)
	}
}

func TestRegexDone(t *testing.T) {
	cases := []struct {
		p, s string
		done bool
	}{{`abc`, "abc", true}, {`a+`, "a", false}, {`a|ab`, "ab", true}, {`a|ab`, "a", false}, {`a$`, "a", true}, {`a\b`, "a", true}, {`a\Bb|a`, "a", false}}
	for _, c := range cases {
		m, err := Regex(c.p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(c.s); i++ {
			m.Advance(c.s[i])
		}
		if m.Done() != c.done {
			t.Errorf("%q after %q: Done %v", c.p, c.s, !c.done)
		}
	}
}

// FuzzRegex must not panic for any pattern and input, and agrees with regexp when both compile.
func FuzzRegex(f *testing.F) {
	for _, p := range regexPatterns {
		f.Add(p, []byte("abc"))
	}
	f.Fuzz(func(t *testing.T, p string, in []byte) {
		if len(p) > 64 || len(in) > 64 {
			return
		}
		m, err := Regex(p)
		if err != nil {
			return
		}
		got := true
		for _, b := range in {
			if !m.Advance(b) {
				got = false
				break
			}
		}
		got = got && m.Accepting()
		if re, err := regexp.Compile("^(?:" + p + ")$"); err == nil {
			if want := utf8.Valid(in) && re.Match(in); got != want {
				t.Fatalf("pattern %q input %q: matcher %v, regexp %v", p, in, got, want)
			}
		}
	})
}
