package constraint

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzGBNF feeds arbitrary grammars to the parser: each compiles or fails with a *GrammarError or
// ErrEmpty, and a compiled one's random walks are words for the recognizer, and its verdict on the
// input agrees with the recognizer's.
func FuzzGBNF(f *testing.F) {
	for _, c := range llamaGrammarCases {
		f.Add(c.grammar, int64(1), []byte(c.pass[len(c.pass)-1]))
	}
	f.Add("root ::= [^\\x00-\\x7f]+ (\"\\u00e9\" | .){2,3}\n", int64(2), []byte("é"))
	f.Add("root ::= (x? y?)* \"z\"\nx ::= \"a\"\ny ::= \"b\"", int64(3), []byte("abz"))
	f.Fuzz(func(t *testing.T, grammar string, seed int64, input []byte) {
		if len(grammar) > 256 || len(input) > 64 {
			return
		}
		m, err := GBNF(grammar)
		var ge *GrammarError
		if err != nil {
			if !errors.As(err, &ge) && !errors.Is(err, ErrEmpty) {
				t.Fatalf("%q: %v", grammar, err)
			}
			return
		}
		rng := rand.New(rand.NewSource(seed))
		if w, ok := gbnfWalk(m, rng, 64); ok && !recognize(t, grammar, w) {
			t.Fatalf("%q: the matcher's word %q is no word", grammar, w)
		}
		if got, want := gbnfMatch(m, string(input)), recognize(t, grammar, string(input)); got != want {
			t.Fatalf("%q: %q: matcher %v, recognizer %v", grammar, input, got, want)
		}
	})
}

// FuzzGBNFMatch feeds arbitrary bytes to llama.cpp's json.gbnf matcher: its verdict agrees with the
// recognizer's, and after bytes it accepted it is a word or some byte follows. Where json.gbnf's and
// japanese.gbnf's matchers stop taking the bytes (or at their end), Trie.Mask over a vocabulary that
// makes it slice (sliceVocab), fresh and again from the mask cache, allows exactly the tokens the matcher
// takes byte by byte.
func FuzzGBNFMatch(f *testing.F) {
	var ms []Matcher
	var src []byte
	for _, name := range []string{"json.gbnf", "japanese.gbnf"} {
		b, err := os.ReadFile("testdata/gbnf/" + name)
		if err != nil {
			f.Fatal(err)
		}
		m, err := GBNF(string(b))
		if err != nil {
			f.Fatal(err)
		}
		if src == nil {
			src = b
		}
		ms = append(ms, m)
	}
	for _, s := range []string{`{"a": [1, 2.5e3, "x\u00e9"], "b" : {}}`, `[]`, `{"k":"\ud83d"}`, "{\"\xc3\xa9\":null}",
		"日本語の テキスト\n一二", "あア\xe3\x81", "一\t\xe4"} {
		f.Add([]byte(s))
	}
	vocab := sliceVocab(rand.New(rand.NewSource(5)), 1500)
	trie, words := NewTrie(vocab), (len(vocab)+31)/32
	f.Fuzz(func(t *testing.T, input []byte) {
		if len(input) > 96 {
			return
		}
		if got, want := gbnfMatch(ms[0], string(input)), recognize(t, string(src), string(input)); got != want {
			t.Fatalf("%q: matcher %v, recognizer %v", input, got, want)
		}
		var x Matcher // json.gbnf's matcher after all of input, if it takes it
		for i, m := range ms {
			y, n := m.Clone(), 0
			for n < len(input) && y.Advance(input[n]) {
				n++
			}
			want := snapMask(vocab, y.(Snapshotter), words)
			for again := range 2 {
				got := make([]uint32, words)
				trie.Mask(y, got)
				if !slices.Equal(got, want) {
					t.Fatalf("%q (%d bytes taken): mask %d differs from the byte-by-byte one", input, n, again)
				}
			}
			if i == 0 && n == len(input) {
				x = y
			}
		}
		if x == nil {
			return
		}
		live := x.Accepting()
		for b := 0; b < 256 && !live; b++ {
			live = x.Clone().Advance(byte(b))
		}
		if !live {
			t.Fatalf("%q: accepted, but no byte follows and it is not a word", input)
		}
	})
}

// TestGBNFHostile: grammars built to blow up the parse stacks compile to an error or to a matcher whose
// steps stay fast, in well under a second each.
func TestGBNFHostile(t *testing.T) {
	var doubling strings.Builder // r0 ::= r1 | r1 "x", …: 2^14 expansions of root's first position
	doubling.WriteString("root ::= r0\n")
	for i := 0; i < 14; i++ {
		fmt.Fprintf(&doubling, "r%d ::= r%d | r%d \"x\"\n", i, i+1, i+1)
	}
	doubling.WriteString("r14 ::= \"a\"\n")
	var many strings.Builder // a 2048-stack expansion referenced 2000 times
	many.WriteString("root ::= " + strings.Repeat("b0 ", 2000) + "\n")
	for i := 0; i < 11; i++ {
		fmt.Fprintf(&many, "b%d ::= b%d | b%d \"x\"\n", i, i+1, i+1)
	}
	many.WriteString("b11 ::= \"a\"\n")
	for _, c := range []struct {
		name, grammar, input string
		err                  string // "": compiles
	}{
		{"doubling", doubling.String(), "", "too ambiguous"},
		{"many", many.String(), "", "too ambiguous"},
		{"pending closers", `root ::= s
s ::= "a" s | "a" s "b" | ""`, strings.Repeat("a", 300) + strings.Repeat("b", 40), ""},
		{"ambiguous items", "root ::= x*\nx ::= \"a\" | \"aa\" | \"aaa\" | \"a\" x \"a\"", strings.Repeat("a", 400), ""},
		{"deep nesting", `root ::= "(" root ")" | ""`, strings.Repeat("(", 3000) + strings.Repeat(")", 3000), ""},
		{"nested repetitions", `root ::= ((("a"{0,30}){0,30}){0,2})`, strings.Repeat("a", 500), ""},
		{"huge repetition", `root ::= ("abcdefghijklmnopqrstuvwxyz0123456789" [0-9]){1999} "!"*`, strings.Repeat("abcdefghijklmnopqrstuvwxyz01234567897", 1999) + "!", ""},
	} {
		start := time.Now()
		m, err := GBNF(c.grammar)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case err == nil:
			for i := 0; i < len(c.input); i++ {
				if !m.Advance(c.input[i]) {
					t.Errorf("%s: byte %d refused", c.name, i)
					break
				}
			}
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: took %v", c.name, d)
		} else {
			t.Logf("%s: %v", c.name, d)
		}
	}
}
