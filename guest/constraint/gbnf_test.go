package constraint

import (
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// gbnfMatch reports whether m, from its state, accepts the whole of s.
func gbnfMatch(m Matcher, s string) bool {
	m = m.Clone()
	for i := 0; i < len(s); i++ {
		if !m.Advance(s[i]) {
			return false
		}
	}
	return m.Accepting()
}

// llamaGrammarCases are the grammar cases of llama.cpp's tests/test-grammar-integration.cpp at commit
// 80fb11ac73e66d89eae2c6a91d8a77428fa733ed (test_simple_grammar, test_complex_grammar,
// test_special_chars, test_quantifiers), all but those with token references, which we refuse.
var llamaGrammarCases = []struct {
	name, grammar string
	pass, fail    []string
}{
	{"simple grammar", `
            root ::= expr
            expr ::= term ("+" term)*
            term ::= number
            number ::= [0-9]+`,
		[]string{"42", "1+2+3+4+5", "123+456"},
		[]string{"+", "/ 3", "1+2+3+4+5+", "12a45"}},
	{"medium complexity grammar", `
            root ::= expression
            expression ::= term ws (("+"|"-") ws term)*
            term ::= factor ws (("*"|"/") ws factor)*
            factor ::= number | variable | "(" expression ")" | function-call
            number ::= [0-9]+
            variable ::= [a-zA-Z_][a-zA-Z0-9_]*
            function-call ::= variable ws "(" (expression ("," ws expression)*)? ")"
            ws ::= [ \t\n\r]?`,
		[]string{"42", "1*2*3*4*5", "x", "x+10", "x1+y2", "(a+b)*(c-d)", "func()", "func(x,y+2)", "a*(b+c)-d/e",
			"f(g(x),h(y,z))", "x + 10", "x1 + y2", "(a + b) * (c - d)", "func()", "func(x, y + 2)", "a * (b + c) - d / e",
			"f(g(x), h(y, z))", "123+456", "123*456*789-123/456+789*123",
			"123+456*789-123/456+789*123-456/789+123*456-789/123+456*789-123/456+789*123-456"},
		[]string{"+", "/ 3x", "x + + y", "a * / b", "func(,)", "func(x y)", "(a + b", "x + y)", "a + b * (c - d", "42 +",
			"x +", "x + 10 +", "(a + b) * (c - d", "func(", "func(x, y + 2", "a * (b + c) - d /", "f(g(x), h(y, z)",
			"123+456*789-123/456+789*123-456/789+123*456-789/123+456*789-123/456+789*123-456/"}},
	{"special characters", `
            root ::= ... "abc" ...
            `,
		[]string{"abcabcabc", "aaaabcccc", "🔵🟠✅abc❌🟠🔵"},
		[]string{"aaabcccc", "aaaaabcccc", "aaaabccc", "aaaabccccc", "🔵🟠✅❌abc❌✅🟠🔵", "🔵🟠abc🟠🔵"}},
	{"* quantifier", `root ::= "a"*`,
		[]string{"", "a", "aaaaa", "aaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		[]string{"b", "ab", "aab", "ba", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"}},
	{"+ quantifier", `root ::= "a"+`,
		[]string{"a", "aaaaa", "aaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		[]string{"", "b", "ab", "aab", "ba", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"}},
	{"? quantifier", `root ::= "a"?`,
		[]string{"", "a"},
		[]string{"b", "ab", "aa", "ba"}},
	{"mixed quantifiers", `
            root ::= cons+ vowel* cons? (vowel cons)*
            vowel ::= [aeiouy]
            cons ::= [bcdfghjklmnpqrstvwxyz]
            `,
		[]string{"yes", "no", "noyes", "crwth", "four", "bryyyy"},
		[]string{"yess", "yesno", "forty", "catyyy"}},
	{"simple exact repetition", `
            root ::= [ab]{4}
        `,
		[]string{"aaaa", "bbbb", "abab"},
		[]string{"a", "b", "aaaaa"}},
	{"simple min repetition", `
            root ::= [ab]{4,}
        `,
		[]string{"aaaa", "aaaaab", "bbbb", "ababab"},
		[]string{"", "aba"}},
	{"simple max repetition", `
            root ::= [ab]{0,4}
        `,
		[]string{"", "a", "aa", "aaa", "aaab"},
		[]string{"aaaaa"}},
	{"min / max repetition", `
            root ::= ("0x" [A-F0-9]{2} " "?){3,5}
        `,
		[]string{"0xFF 0x12 0xAB", "0xFF 0x12 0xAB 0x00 0x00"},
		[]string{"", "0xFF", "0xFF 0x12", "0xFF 0x12 0xAB 0x00 0x00 0x00"}},
	{"segfault", `
            root ::= ( [x]* )*
        `,
		[]string{"", "x", "xx"},
		[]string{"y", "yy"}},
}

// TestGBNFLlamaIntegration: each of llamaGrammarCases passes and fails its strings as in llama.cpp.
func TestGBNFLlamaIntegration(t *testing.T) {
	for _, c := range llamaGrammarCases {
		checkGBNF(t, c.name, c.grammar, c.pass, c.fail)
	}
}

// checkGBNF compiles grammar and checks that it matches each of pass and none of fail; errors name the
// case.
func checkGBNF(t *testing.T, name, grammar string, pass, fail []string) {
	t.Helper()
	m, err := GBNF(grammar)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	for _, s := range pass {
		if !gbnfMatch(m, s) {
			t.Errorf("%s: %q refused", name, s)
		}
	}
	for _, s := range fail {
		if gbnfMatch(m, s) {
			t.Errorf("%s: %q accepted", name, s)
		}
	}
}

// TestGBNFLlamaFailures: grammars llama.cpp refuses (tests/test-grammar-integration.cpp: missing root,
// missing reference, left recursion; tests/test-grammar-parser.cpp: verify_failure; at commit
// 80fb11ac73e66d89eae2c6a91d8a77428fa733ed), and the place and words of our error for each.
func TestGBNFLlamaFailures(t *testing.T) {
	for _, c := range []struct {
		grammar   string
		line, col int    // 0: no place
		want      string // in the message
	}{
		{"\n        rot ::= expr\n        expr ::= term (\"+\" term)*\n        term ::= number\n        number ::= [0-9]+", 0, 0, "no root rule"},
		{"root ::= expr\n        expr ::= term (\"+\" term)*\n        term ::= numero\n        number ::= [0-9]+", 3, 18, `undefined rule "numero"`},
		{`root ::= "a" | root "a"`, 1, 1, `rule "root" is left-recursive`},
		{"\n        root ::= asdf\n        asdf ::= \"a\" | asdf \"a\"\n        ", 3, 9, `rule "asdf" is left-recursive`},
		{"\n        root ::= asdf\n        asdf ::= \"a\" | foo \"b\"\n        foo ::= \"c\" | asdf \"d\" | \"e\"", 3, 9, `rule "asdf" is left-recursive`},
		{"\n        root ::= asdf\n        asdf ::= \"a\" | foo \"b\"\n        foo ::= \"c\" | empty asdf \"d\" | \"e\"\n        empty ::= \"blah\" | ", 3, 9, `rule "asdf" is left-recursive`},
		{"\n        root ::= \"a\"{,}\"\n    ", 2, 22, "expecting an integer"},
		{"\n        root ::= (((((([^x]*){0,99}){0,99}){0,99}){0,99}){0,99}){0,99}\n    ", 2, 0, "limit of 2000"},
		{"\n        root ::= \"a\"{,10}\"\n    ", 2, 22, "expecting an integer"},
		{"\n        root ::= \"a\"{5000}\n    ", 2, 21, "exceeds the limit of 2000"},
		{"\n        root ::= \"a\"{5000,}\n    ", 2, 21, "exceeds the limit of 2000"},
		{"\n        root ::= \"a\"{5000,6000}\n    ", 2, 21, "exceeds the limit of 2000"},
		// Token references: llama.cpp's own grammars with tokens, which a text matcher cannot serve.
		{"root ::= <[10]> content <[11]>\ncontent ::= (!<[11]>)*", 1, 10, "token references"},
		// Our own: syntax errors at their place.
		{"root ::= \"a\"\nfoo : \"b\"", 2, 5, "expecting ::="},
		{"root ::= [a-z", 1, 14, "unexpected end"},
		{"root ::= \"abc", 1, 14, "unexpected end"},
		{"root ::= (\"a\" | \"b\"", 1, 20, "expecting ')' to close the group opened at line 1, column 10"},
		{`root ::= "\q"`, 1, 11, `unknown escape \q`},
		{`root ::= "\x4"`, 1, 11, "expecting 2 hex digits"},
		{`root ::= "\u12G4"`, 1, 11, "expecting 4 hex digits"},
		{"root ::= * \"a\"", 1, 10, "expecting an item before"},
		{`root ::= "a"{5,2}`, 1, 13, "upper bound below"},
		{"root ::= \"a\" )", 1, 14, "expecting newline or end"},
		{"root ::= \"a\"\nroot ::= \"b\"", 2, 1, `rule "root" is defined twice`},
		{"root ::= \"é\" x\n  x ::= \"ü\" | x \"y\"", 2, 3, `rule "x" is left-recursive`},
		{"root ::= \"a\" \xff", 1, 14, "invalid UTF-8"},
		{"", 0, 0, "no root rule"},
		// Left recursion that llama.cpp misses (its nullability is syntactic) and would expand forever.
		{"root ::= n root \"a\" | \"b\"\nn ::= m\nm ::= \"\" | \"c\"", 1, 1, `rule "root" is left-recursive`},
		{"root ::= (\"a\" | root)", 1, 1, `rule "root" is left-recursive`},
	} {
		_, err := GBNF(c.grammar)
		var ge *GrammarError
		switch {
		case err == nil:
			t.Errorf("%q: compiled", c.grammar)
		case !errors.As(err, &ge):
			t.Errorf("%q: %v is no *GrammarError", c.grammar, err)
		case ge.Line != c.line || c.col != 0 && ge.Col != c.col || !strings.Contains(ge.Msg, c.want):
			t.Errorf("%q: %v; want line %d column %d and %q", c.grammar, err, c.line, c.col, c.want)
		}
	}
}

// TestGBNFLlamaParser: the grammars of tests/test-grammar-parser.cpp's verify_parsing cases (at commit
// 80fb11ac73e66d89eae2c6a91d8a77428fa733ed) parse, and words of the language their expected rules spell
// pass while others fail.
func TestGBNFLlamaParser(t *testing.T) {
	arith := `
        root  ::= (expr "=" term "\n")+
        expr  ::= term ([-+*/] term)*
        term  ::= [0-9]+
    `
	arithWS := `
        root  ::= (expr "=" ws term "\n")+
        expr  ::= term ([-+*/] term)*
        term  ::= ident | num | "(" ws expr ")" ws
        ident ::= [a-z] [a-z0-9_]* ws
        num   ::= [0-9]+ ws
        ws    ::= [ \t\n]*
    `
	for _, c := range []struct {
		grammar    string
		pass, fail []string
	}{
		{`root ::= "a"{0,5000}`, []string{"", "a", strings.Repeat("a", 6000)}, []string{"b"}}, // llama.cpp: no bound past 2000
		{`root ::= "a"{3,5000}`, []string{"aaa", strings.Repeat("a", 6000)}, []string{"aa"}},
		{`root  ::= "a"`, []string{"a"}, []string{"", "aa"}},
		{`root  ::= "a" | [bdx-z] | [^1-3]`, []string{"a", "b", "d", "x", "z", "4", "é"}, []string{"1", "2", "3", "ab"}},
		{"root  ::= a+\n        a     ::= \"a\"", []string{"a", "aaa"}, []string{""}},
		{`root  ::= "a"+`, []string{"a", "aa"}, []string{""}},
		{"root  ::= a?\n        a     ::= \"a\"", []string{"", "a"}, []string{"aa"}},
		{`root  ::= "a"?`, []string{"", "a"}, []string{"aa"}},
		{"root  ::= a*\n        a     ::= \"a\"", []string{"", "aaaa"}, []string{"b"}},
		{`root  ::= "a"*`, []string{"", "aaaa"}, []string{"b"}},
		{`root  ::= "a"{2}`, []string{"aa"}, []string{"a", "aaa"}},
		{`root  ::= "a"{2,}`, []string{"aa", "aaaaa"}, []string{"a"}},
		{`root  ::= "a"{ 4}`, []string{"aaaa"}, []string{"aaa", "aaaaa"}},
		{`root  ::= "a"{2,4}`, []string{"aa", "aaa", "aaaa"}, []string{"a", "aaaaa"}},
		{arith, []string{"1+2=3\n", "1=1\n22*3=66\n"}, []string{"1+2=3", "a=1\n", "1 = 1\n"}},
		{arithWS, []string{"1+2=3\n", "x = ( y )\n", "abc_1=2\n(a)=b\n"}, []string{"1+2=3", "A=1\n", " x=1\n"}},
	} {
		checkGBNF(t, fmt.Sprintf("%q", c.grammar), c.grammar, c.pass, c.fail)
	}
}

// TestGBNFLlamaStartChars ports tests/test-llama-grammar.cpp (commit
// 80fb11ac73e66d89eae2c6a91d8a77428fa733ed): for its grammar (the arithmetic one with ws), of the code
// points 37 to 59 only '(' and the digits start a word; the letters a-z do too.
func TestGBNFLlamaStartChars(t *testing.T) {
	m, err := GBNF(`
        root  ::= (expr "=" ws term "\n")+
        expr  ::= term ([-+*/] term)*
        term  ::= ident | num | "(" ws expr ")" ws
        ident ::= [a-z] [a-z0-9_]* ws
        num   ::= [0-9]+ ws
        ws    ::= [ \t\n]*`)
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 256; b++ {
		want := b == '(' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z'
		if got := m.Clone().Advance(byte(b)); got != want {
			t.Errorf("start byte %q: %v, want %v", rune(b), got, want)
		}
	}
}

// TestGBNFSyntax covers the syntax llama.cpp's README documents that the cases above do not: escapes,
// classes with escapes and UTF-8, comments, newlines inside groups and after |, and CRLF.
func TestGBNFSyntax(t *testing.T) {
	for _, c := range []struct {
		grammar    string
		pass, fail []string
	}{
		{`root ::= "\n\t\r\\\"\x41\u00e9\U0001F600"`, []string{"\n\t\r\\\"Aé😀"}, []string{"\n\t\r\\\"A"}},
		{`root ::= [\[\]\-\\a]+`, []string{"[]-\\a"}, []string{"b"}},
		{`root ::= [^\x00-\x7F]`, []string{"é", "😀", "\u0800"}, []string{"a", "\x7f"}},
		{`root ::= [ぁ-ゟ]+ | [\u4e00-\u9fff]`, []string{"ひらがな", "一"}, []string{"カ", "ひ一"}},
		{`root ::= [a-]`, []string{"a", "-"}, []string{"b"}},
		{`root ::= "a" [] "b" [^] "c"`, []string{"abc"}, []string{"a b c"}}, // llama.cpp: [] and [^] take no place
		{"# a comment\nroot ::= ( # inside\n  \"a\"\n  | \"b\" # more\n) \"c\"  # end\n\n", []string{"ac", "bc"}, []string{"c", "abc"}},
		{"root ::= \"a\" |\n  \"b\"\r\nx ::= \"y\"\r\n", []string{"a", "b"}, []string{"y"}},
		{`root ::= .`, []string{"a", "\n", "é", "😀"}, []string{"", "ab"}},
		{`root ::= [z-a] | "k"`, []string{"k"}, []string{"a", "z"}},               // an empty range matches nothing
		{"root ::= x | \"k\"\nx ::= \"a\" x", []string{"k"}, []string{"a", "aa"}}, // x never ends
		{`root ::= "a"{0} "b"`, []string{"b"}, []string{"ab"}},
		{"root ::= ( \"a\" ){2,3}\n", []string{"aa", "aaa"}, []string{"a", "aaaa"}},
		{"root ::= x*\nx ::= \"a\" | \"aa\"", []string{"", "a", "aaaaa"}, []string{"b"}},
		{"root ::= (x? y?)* \"z\"\nx ::= \"a\"\ny ::= \"b\"", []string{"z", "abbaz"}, []string{"", "zz"}}, // a nullable loop body
		{`root ::= ("" | "a")* "b"`, []string{"b", "aab"}, []string{"", "ba"}},                            // llama.cpp refuses it
	} {
		checkGBNF(t, fmt.Sprintf("%q", c.grammar), c.grammar, c.pass, c.fail)
	}
	for _, g := range []string{`root ::= [^\x00-\U0010FFFF]`, "root ::= x\nx ::= \"a\" x", `root ::= [\uD800-\uDFFF]`} {
		if _, err := GBNF(g); !errors.Is(err, ErrEmpty) {
			t.Errorf("%q: %v, want ErrEmpty", g, err)
		}
	}
}

// TestGBNFUTF8 checks the byte-level decoding: only valid UTF-8, and a character's first bytes only
// when some character they start is in a class the grammar allows there.
func TestGBNFUTF8(t *testing.T) {
	m, err := GBNF(`root ::= [\u00e0-\u00ff] | [\u3040-\u309f] "!"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		bytes string
		ok    bool // every byte accepted
	}{
		{"\xc3\xa0", true},      // à
		{"\xc3\x80", false},     // À: its lead byte fits, the whole does not
		{"\xc2", false},         // U+0080-00BF: none allowed
		{"\xe3\x81\x81!", true}, // ぁ!
		{"\xe3\x80", false},     // U+3000-303F
		{"\xe3\x82\x9f!", true},
		{"\xe3\x82\xa0", false}, // U+30A0
		{"\xc0\x80", false},     // overlong
		{"\xe0\x80\x80", false}, // overlong
		{"\xed\xa0\x80", false}, // a surrogate
		{"\xc3", true},
		{"\xc3a", false},
	} {
		x := m.Clone()
		ok := true
		for i := 0; i < len(c.bytes) && ok; i++ {
			ok = x.Advance(c.bytes[i])
		}
		if ok != c.ok {
			t.Errorf("% x: %v, want %v", c.bytes, ok, c.ok)
		}
	}
	x := m.Clone()
	x.Advance(0xc3)
	if x.Accepting() || x.Done() {
		t.Error("accepting inside a character")
	}
	x.Advance(0xa0)
	if !x.Accepting() || !x.Done() {
		t.Error("à: not done")
	}
}

// TestGBNFArena: over a long text whose parse stacks keep taking new shapes, the link arena stays
// bounded by compaction (a matcher that never compacts grows past it), and nested snapshots restore
// exactly.
func TestGBNFArena(t *testing.T) {
	m, err := GBNF("root ::= item*\nitem ::= \"(\" item* \")\" | \"[\" item* \"]\" | [a-z]")
	if err != nil {
		t.Fatal(err)
	}
	g := m.(*gbnfMatcher)
	never := m.Clone().(*gbnfMatcher)
	never.compactAt = 1 << 30
	rng := rand.New(rand.NewSource(5))
	var text []byte
	var open []byte
	for len(text) < 200000 {
		switch r := rng.Intn(3); {
		case r == 0 && len(open) < 16:
			c := "(["[rng.Intn(2)]
			text, open = append(text, c), append(open, c)
		case r == 1 && len(open) > 0:
			text = append(text, map[byte]byte{'(': ')', '[': ']'}[open[len(open)-1]])
			open = open[:len(open)-1]
		default:
			text = append(text, 'a'+byte(rng.Intn(26)))
		}
	}
	for len(open) > 0 {
		text = append(text, map[byte]byte{'(': ')', '[': ']'}[open[len(open)-1]])
		open = open[:len(open)-1]
	}
	maxLinks := 0
	for i, b := range text {
		if !g.Advance(b) || !never.Advance(b) {
			t.Fatalf("byte %d refused", i)
		}
		maxLinks = max(maxLinks, len(g.links))
		if i%1000 == 0 { // a nested snapshot and restore leaves the state as it was
			state := func() string {
				return fmt.Sprint(gbnfMatch(g, ")"), gbnfMatch(g, "]"), gbnfMatch(g, "(x)"), len(g.cur))
			}
			before := state()
			h := g.Snapshot()
			g.Advance('(')
			h2 := g.Snapshot()
			g.Advance('[')
			g.Restore(h2)
			g.Advance(')')
			g.Restore(h)
			if after := state(); after != before {
				t.Fatalf("byte %d: restore changed the state: %s, was %s", i, after, before)
			}
		}
	}
	if !g.Accepting() || maxLinks > minCompact+1 || len(never.links) < 3*minCompact {
		t.Errorf("accepting %v, at most %d links; without compaction %d", g.Accepting(), maxLinks, len(never.links))
	}
}
