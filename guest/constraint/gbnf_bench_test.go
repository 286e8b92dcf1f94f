package constraint

import (
	"os"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

// gbnfStates are the GBNF benchmarks' states: a grammar of testdata/gbnf and the text it has taken. They
// cover a string (a loop of most characters), where a key starts, a key of a nested object, the start of a
// value or of a statement (alternatives, 9 to 13 parse stacks), a number (a counted repetition), the middle
// of a multibyte character, a comment, an identifier inside nested parentheses, and a grammar of
// multibyte character classes. internal/host/wasm's BenchmarkPolicyGBNFMask runs the same in the guest,
// where a decode step takes the text's last byte: each text's last byte enters its state
// (TestGBNFStatesEntered), so that step masks a state its matcher was not in.
var gbnfStates = []struct{ name, grammar, prefix string }{
	{"json-string", "json.gbnf", `{"name": "a`},
	{"json-key-start", "json.gbnf", `{"name": "ab", `},
	{"json-nested-key", "json.gbnf", `{"a": [1, {"x`},
	{"json-value-start", "json.gbnf", `{"a": `},
	{"json-array-start", "json.gbnf", `{"a": [`},
	{"json-number", "json.gbnf", `{"a": [[[1`},
	{"json-utf8-lead", "json.gbnf", "{\"name\": \"a\xc3"},
	{"json-utf8-mid", "json.gbnf", "{\"name\": \"a\xe4\xb8"},
	{"c-statement-start", "c.gbnf", `int main(){if(a<b){x = 1;}`},
	{"c-call-args", "c.gbnf", `int main(){return f(a, b`},
	{"c-comment", "c.gbnf", `int main(){/* `},
	{"arithmetic-ident", "arithmetic.gbnf", `(((ab`},
	{"japanese", "japanese.gbnf", "あ"},
}

// TestGBNFStatesEntered checks that the last byte of each gbnfStates text moves its matcher to another
// state: the decode step BenchmarkPolicyGBNFMask times would otherwise find the state's mask cached.
func TestGBNFStatesEntered(t *testing.T) {
	for _, c := range gbnfStates {
		at := gbnfState(t, c.grammar, c.prefix).(stateKeyer).stateKey(nil)
		before := gbnfState(t, c.grammar, c.prefix[:len(c.prefix)-1]).(stateKeyer).stateKey(nil)
		if string(at) == string(before) {
			t.Errorf("%s: %q is in the state it was in before its last byte", c.name, c.prefix)
		}
	}
}

// BenchmarkMaskGBNF is Trie.Mask's time per mask, native, for GBNF grammars in the states of gbnfStates,
// on the two 129,280-token vocabularies of BenchmarkMask (synthetic, DeepSeek-V3's): new is a state the
// Trie has not seen (no cached mask; the slices are built), again the same state masked again (the cached
// mask).
func BenchmarkMaskGBNF(b *testing.B) {
	for _, v := range []struct {
		name  string
		vocab [][]byte
	}{{"synthetic", benchVocab()}, {"deepseek-v3", deepSeekV3Vocab(b)}} {
		trie := NewTrie(v.vocab)
		mask := make([]uint32, (len(v.vocab)+31)/32)
		for _, c := range gbnfStates {
			m := gbnfState(b, c.grammar, c.prefix)
			trie.Mask(m, mask) // build the slices
			b.Run(v.name+"/"+c.name+"/new", func(b *testing.B) {
				testutil.LoopMedian(b, func() {
					trie.masks = maskCache{}
					trie.Mask(m, mask)
				})
			})
			b.Run(v.name+"/"+c.name+"/again", func(b *testing.B) {
				testutil.LoopMedian(b, func() { trie.Mask(m, mask) })
			})
		}
	}
}

// gbnfState is the matcher of testdata/gbnf's grammar file after prefix.
func gbnfState(tb testing.TB, file, prefix string) Matcher {
	tb.Helper()
	src, err := os.ReadFile("testdata/gbnf/" + file)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := GBNF(string(src))
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < len(prefix); i++ {
		if !m.Advance(prefix[i]) {
			tb.Fatalf("%s: %q refused at byte %d", file, prefix, i)
		}
	}
	return m
}

// ambiguousGBNF is a matcher of words of 1 to 12 letters or spaces after "ab c": 50 parse stacks alive,
// no free run.
func ambiguousGBNF(tb testing.TB) Matcher {
	var alts []string
	for i := 1; i <= 12; i++ {
		alts = append(alts, strings.Repeat("[a-z ] ", i))
	}
	m, err := GBNF("root ::= w*\nw ::= " + strings.Join(alts, " | "))
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range []byte("ab c") {
		m.Advance(c)
	}
	return m
}

// BenchmarkMaskGBNFAmbiguous is BenchmarkMaskGBNF's new state for an ambiguous grammar, as a tenant may
// send: words of 1 to 12 letters or spaces, so after a few characters 50 parse stacks are alive, and no
// state offers a free run (each character moves every stack on), at DeepSeek-V3's vocabulary.
func BenchmarkMaskGBNFAmbiguous(b *testing.B) {
	m := ambiguousGBNF(b)
	vocab := deepSeekV3Vocab(b)
	trie := NewTrie(vocab)
	mask := make([]uint32, (len(vocab)+31)/32)
	trie.Mask(m, mask)
	testutil.LoopMedian(b, func() {
		trie.masks = maskCache{}
		trie.Mask(m, mask)
	})
}
