package policies

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

// TestGrammarConfig: the grammar key decodes, and refuses another constraint beside it, a wrong type
// and, at ctl_open, a grammar that does not compile (the log names the key and the place).
func TestGrammarConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{"grammar": "root ::= \"a\"", "stop": ["x"]}`))
	if err != nil || c.Grammar == nil || *c.Grammar != `root ::= "a"` || c.Regex != nil || c.JSONSchema != nil {
		t.Errorf("grammar: %+v, %v", c, err)
	}
	for in, want := range map[string]string{
		`{"grammar": "root ::= \"a\"", "regex": "a"}`:      "one constraint at most",
		`{"grammar": "root ::= \"a\"", "json_schema": {}}`: "one constraint at most",
		`{"grammar": 7}`: "grammar",
	} {
		if _, err := ParseConfig([]byte(in)); err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, sdk.ErrBadInput) {
			t.Errorf("%s: error %v, want one about %q wrapping ErrBadInput", in, err, want)
		}
	}
	m := syntheticModel(rand.New(rand.NewPCG(1, 1)), nil, "ab", 10, true)
	b := []byte(`{"grammar": "root ::= \"a\"\nfoo ::= bar"}`)
	h := newHost(t, m, &b)
	if st := h.c.Open(0, -1); st != abi.ErrBadInput {
		t.Errorf("ctl_open = %d, want %d", st, abi.ErrBadInput)
	}
	if len(h.logs) != 1 || !strings.Contains(h.logs[0], `policy config: grammar: line 2, column 9: undefined rule "bar"`) {
		t.Errorf("log %q", h.logs)
	}
}

// grammarPatterns are GBNF grammars and the RE2 patterns of the same languages.
var grammarPatterns = []struct{ grammar, pattern string }{
	{`root ::= [a-z]+ "@" [a-z]+ ("." ("com" | "org"))`, `[a-z]+@[a-z]+\.(com|org)`},
	{"root ::= answer\nanswer ::= \"yes\" | \"no\"", `(yes|no)`},
	{`root ::= [0-9]{3} "-" [0-9]{4}`, `[0-9]{3}-[0-9]{4}`},
	{`root ::= ("ab" | "cd")* "x"`, `(ab|cd)*x`},
	{"root ::= word (\" \" word)?\nword ::= [A-Z] [a-z]{0,5}", `[A-Z][a-z]{0,5}( [A-Z][a-z]{0,5})?`},
	{`root ::= ("é" | "日本")+ "!"`, `(é|日本)+!`},
}

// TestGrammarProperty: finished outputs under a grammar match the RE2 pattern of the same language by
// Go's regexp, alone and with stop strings, banned words and a thinking budget.
func TestGrammarProperty(t *testing.T) {
	m := syntheticModel(rand.New(rand.NewPCG(5, 13)), []string{"ab", "cd", "abx", "@", ".com", ".org", "yes", "no", "-",
		"123", "45", "é", "日本", "Ab", " Cd", "\n"}, "abcdxyz@.com0123456789- AZ!\n", 300, true)
	finished := 0
	var cfg []byte
	h := newHost(t, m, &cfg)
	for seed := range uint64(120) {
		rng := rand.New(rand.NewPCG(seed, 15))
		c := grammarPatterns[seed%uint64(len(grammarPatterns))]
		re := regexp.MustCompile(`^(?:` + c.pattern + `)$`)
		opts := map[string]any{"grammar": c.grammar}
		think := seed%4 == 1
		prompt := []int32{m.tok(t, "a")}
		if think {
			opts["think_budget"] = rng.IntN(6)
			prompt = append(prompt, tokThinkOpen)
		}
		if seed%4 == 2 {
			opts["stop"], opts["ban"] = []string{"cdx"}, []string{"abab"}
		}
		cfg, _ = json.Marshal(opts)
		out := h.run(rng, prompt, 120, uniformModel(30))
		if out.end != "eog" {
			continue
		}
		finished++
		if ans := answer(t, m, out.tokens, think); !re.Match(ans) {
			t.Fatalf("seed %d: %q is no word of %q (text %q)", seed, ans, c.grammar, m.textOf(out.tokens))
		}
	}
	if finished < 75 {
		t.Fatalf("only %d of 120 runs finished", finished)
	}
}
