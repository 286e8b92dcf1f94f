package policies

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"testing"
)

var jsonFragments = []string{"{", "}", "{\"", "\":", "\",", "\"}", "[", "]", "[\"", "\"]", ",", ", ", ": ", "true", "false",
	"null", "\"a\"", "\"name\"", "\"age\"", "\"tags\"", "\"ok\"", "12", "0.5", "-", "e+", "1e3", "\\\"", "\\n", "\\u00e9",
	"\n", "\n\n", " ", "  ", "é", "日本"}

func jsonModel(seed uint64) *testModel {
	return syntheticModel(rand.New(rand.NewPCG(seed, 11)), jsonFragments, "{}[]\":, 0123456789abcdefnrtul.-+eE\\", 300, seed%2 == 0)
}

// answer is the text the constraint covered: with a thinking block, what follows its close after the
// tokens of whitespace only right after it (at most 8 bytes of them), else the whole text.
func answer(t testing.TB, m *testModel, tokens []int32, think bool) []byte {
	if !think {
		return m.textOf(tokens)
	}
	for i := range tokens {
		if tokens[i] != m.info.ThinkClose && !bytes.Contains(m.rawOf(tokens[:i+1]), []byte(thinkCloseText)) {
			continue
		}
		rest, ws := tokens[i+1:], 0
		for len(rest) > 0 && len(m.text(rest[0])) > 0 && len(bytes.Trim(m.text(rest[0]), " \t\r\n")) == 0 {
			ws += len(m.text(rest[0]))
			rest = rest[1:]
		}
		if ws > 8+2 { // our own splice adds "\n\n"
			t.Fatalf("%d bytes of whitespace after </think> in %q", ws, m.textOf(tokens))
		}
		return m.textOf(rest)
	}
	return m.textOf(tokens)
}

var testSchemas = []string{
	`{"type": "integer"}`,
	`{"type": "boolean"}`,
	`{"enum": ["red", "green", 3, null]}`,
	`{"type": "object", "properties": {"name": {"type": "string", "maxLength": 8}, "age": {"type": "integer"}},
	  "required": ["name", "age"], "additionalProperties": false}`,
	`{"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 4}`,
	`{"type": "object", "properties": {"ok": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string"}}},
	  "required": ["ok"], "additionalProperties": false}`,
	`{"anyOf": [{"type": "string", "minLength": 2}, {"type": "null"}]}`,
	`{"type": ["string", "integer"]}`,
	`{"type": "object", "properties": {"a": {"const": 1}, "b": {"type": "object", "properties": {"c": {"type": "null"}},
	  "required": ["c"], "additionalProperties": false}}, "required": ["a", "b"], "additionalProperties": false}`,
}

// TestJSONSchemaProperty: over many seeds, a random model under the policy's mask produces JSON that
// parses and validates against the schema (an independent validator) whenever it finishes.
func TestJSONSchemaProperty(t *testing.T) {
	finished := 0
	runs := 0
	var cfg []byte
	var models []*testModel
	var hosts []*host
	for i := range uint64(4) {
		models = append(models, jsonModel(i))
		hosts = append(hosts, newHost(t, models[i], &cfg))
	}
	for seed := range uint64(240) {
		rng := rand.New(rand.NewPCG(seed, 12))
		m, h := models[seed%4], hosts[seed%4]
		src := testSchemas[seed%uint64(len(testSchemas))]
		var schema any
		d := json.NewDecoder(bytes.NewReader([]byte(src)))
		d.UseNumber()
		if err := d.Decode(&schema); err != nil {
			t.Fatal(err)
		}
		opts := map[string]any{"json_schema": json.RawMessage(src)}
		think := seed%3 == 0
		prompt := []int32{m.tok(t, "a")}
		if think {
			opts["think_budget"] = rng.IntN(6)
			prompt = append(prompt, tokThinkOpen)
		}
		cfg, _ = json.Marshal(opts)
		out := h.run(rng, prompt, 150, closingModel)
		runs++
		if out.end == "length" {
			continue
		}
		finished++
		ans := answer(t, m, out.tokens, think)
		v, err := decodeJSON(ans)
		if err != nil {
			t.Fatalf("seed %d: schema %s: %q does not parse: %v", seed, src, ans, err)
		}
		if err := validate(v, schema); err != nil {
			t.Fatalf("seed %d: schema %s: %q: %v", seed, src, ans, err)
		}
	}
	if finished < runs*3/4 {
		t.Fatalf("only %d of %d runs finished", finished, runs)
	}
}

var testPatterns = []string{
	`[a-z]+@[a-z]+\.(com|org)`,
	`(yes|no)`,
	`\d{3}-\d{4}`,
	`(ab|cd)*x`,
	`[A-Z][a-z]{0,5}( [A-Z][a-z]{0,5})?`,
	`-?(0|[1-9][0-9]*)(\.[0-9]+)?`,
	`[^\n]{1,10}\n`,
	`(é|日本)+!`,
}

// TestRegexProperty: finished outputs match the pattern by Go's regexp, alone and with stop strings,
// banned words and a thinking budget.
func TestRegexProperty(t *testing.T) {
	m := syntheticModel(rand.New(rand.NewPCG(3, 13)), []string{"ab", "cd", "abx", "@", ".com", ".org", "yes", "no", "-",
		"123", "45", "é", "日本", "Ab", " Cd", "\n"}, "abcdxyz@.com0123456789- AZ\n", 300, true)
	finished := 0
	var cfg []byte
	h := newHost(t, m, &cfg)
	for seed := range uint64(240) {
		rng := rand.New(rand.NewPCG(seed, 14))
		p := testPatterns[seed%uint64(len(testPatterns))]
		re := regexp.MustCompile(`^(?:` + p + `)$`)
		opts := map[string]any{"regex": p}
		think := seed%4 == 1
		prompt := []int32{m.tok(t, "a")}
		if think {
			opts["think_budget"] = rng.IntN(6)
			prompt = append(prompt, tokThinkOpen)
		}
		stops, bans := []string{"cdx"}, []string{"abab"}
		if seed%4 == 2 {
			opts["stop"], opts["ban"] = stops, bans
		}
		cfg, _ = json.Marshal(opts)
		out := h.run(rng, prompt, 120, uniformModel(30))
		full := m.textOf(out.tokens)
		if seed%4 == 2 {
			if bytes.Contains(full, []byte("abab")) || bytes.Contains(out.streamed, []byte("cdx")) {
				t.Fatalf("seed %d: text %q, streamed %q", seed, full, out.streamed)
			}
		}
		if out.end != "eog" {
			continue
		}
		finished++
		if ans := answer(t, m, out.tokens, think); !re.Match(ans) {
			t.Fatalf("seed %d: %q does not match %s (text %q)", seed, ans, p, full)
		}
	}
	if finished < 150 {
		t.Fatalf("only %d of 240 runs finished", finished)
	}
}
