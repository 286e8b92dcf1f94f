package constraint

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

type schemaCase struct {
	name, schema string
	valid        []string // must be accepted, every prefix included
	invalid      []string // must be rejected
}

var schemaCases = []schemaCase{
	{"any", ``,
		[]string{`{}`, `[]`, `"x"`, `0`, `-1.5e+3`, `true`, `null`, `{"a":[1, {"b":null}],"c":"\u00e9\n"}`, `[1,2, 3]`, `{"a" :1}`, `[1 ,2]`, "[\n  1,\n\t2\n]", "{ }", "[\n" + strings.Repeat(" \t", 16) + "1]", strings.Repeat(`{"a":[`, 16) + strings.Repeat("]}", 16)},
		[]string{` 1`, `1 `, "[1,\n\n2]", "[1, \n2]", "{\t\"a\":1}", "[\n" + strings.Repeat(" ", 33) + "1]", strings.Repeat("[", 33) + strings.Repeat("]", 33), `01`, `1.`, `.5`, `+1`, `"a` + "\x01" + `"`, `"\x"`, `{,}`, `[1,]`, `tru`, `nul`, `"\ud800"`, "\"\xff\"", "\"\xe0\x80\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc3\"", `{}{}`, `[1,  2]`}},
	{"object", `{"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":5},"age":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"},"maxItems":2}},"required":["name","age"]}`,
		[]string{`{"name":"bob","age":3}`, `{"age": -4, "name": "日本"}`, `{"name":"a","age":0,"tags":[]}`, `{"tags":["x", "y"],"age":1,"name":"x"}`},
		[]string{`{"name":"bob"}`, `{"name":"","age":1}`, `{"name":"abcdef","age":1}`, `{"name":"a","age":1.5}`, `{"name":"a","age":1,"x":1}`, `{"name":"a","age":1,"tags":["a","b","c"]}`, `{"name":"a","name":"b","age":1}`, `[]`}},
	{"additional", `{"type":"object","properties":{"a":{"type":"boolean"}},"additionalProperties":{"type":"number"}}`,
		[]string{`{}`, `{"a":true,"b":1,"c":2.5}`, `{"ab":3}`, `{"\n":1}`},
		[]string{`{"a":1}`, `{"b":true}`, `{"a":true,"a":false}`, `{"\u0061":true}`}},
	{"enum", `{"enum":["red","green",1,1.5,null,{"b":1,"a":[true]},"a\"b"]}`,
		[]string{`"red"`, `"green"`, `1`, `1.5`, `null`, `{"a":[true],"b":1}`, `"a\"b"`},
		[]string{`"blue"`, `2`, `15`, `1.50`, `"re"`, `{"b":1,"a":[true]}`}},
	{"typed enum", `{"type":"string","enum":["a",1,"b"]}`, []string{`"a"`, `"b"`}, []string{`1`}},
	{"const", `{"const":"fixed"}`, []string{`"fixed"`}, []string{`"fix"`, `"fixedd"`}},
	{"anyOf", `{"anyOf":[{"type":"string","maxLength":2},{"type":"string","minLength":4},{"type":"integer"},{"type":"array","items":{"type":"null"}}]}`,
		[]string{`"ab"`, `"abcd"`, `""`, `12`, `[null,null]`},
		[]string{`"abc"`, `1.5`, `[1]`}},
	{"oneOf objects", `{"oneOf":[{"type":"object","properties":{"kind":{"const":"a"},"x":{"type":"integer"}},"required":["kind","x"]},{"type":"object","properties":{"kind":{"const":"b"},"y":{"type":"string"}},"required":["kind"]}]}`,
		[]string{`{"kind":"a","x":1}`, `{"kind":"b"}`, `{"y":"q","kind":"b"}`, `{"x":2,"kind":"a"}`},
		[]string{`{"kind":"a"}`, `{"kind":"b","x":1}`, `{"kind":"a","y":"q"}`}},
	{"pattern", `{"type":"string","pattern":"^[a-z]+-\\d{2}$"}`,
		[]string{`"ab-12"`, `"x-00"`},
		[]string{`"ab12"`, `"AB-12"`, `"ab-123"`, `"\u0061b-12"`}},
	{"unanchored pattern", `{"type":"string","pattern":"ab","maxLength":4}`,
		[]string{`"ab"`, `"xaby"`, `"\"ab"`, `"ab\n"`},
		[]string{`"a"`, `"xxaby"`, `"a\nb"`}},
	{"array bounds", `{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3}`,
		[]string{`[1,2]`, `[1, 2, 3]`},
		[]string{`[]`, `[1]`, `[1,2,3,4]`, `[1,"a"]`}},
	{"types", `{"type":["integer","null","boolean"]}`, []string{`null`, `true`, `-0`, `7`}, []string{`1.0`, `"x"`, `[]`}},
	{"nested", `{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"array","items":{"type":"object","properties":{"c":{"type":"number"}},"additionalProperties":false}}},"required":["b"]}},"required":["a"],"additionalProperties":false,"title":"T","description":"d"}`,
		[]string{`{"a":{"b":[]}}`, `{"a":{"b":[{},{"c":1e5}]}}`},
		[]string{`{}`, `{"a":{}}`, `{"a":{"b":[{"d":1}]}}`}},
	{"string escapes", `{"type":"string","maxLength":3}`,
		[]string{`"\u00e9\n\/"`, `"\uD7FF"`, `"😀"`},
		[]string{`"\ud83d\ude00"`, `"abcd"`, `"\u00g0"`}},
	{"required additional", `{"type":"object","required":["x"]}`, []string{`{"x":1}`, `{"y":[],"x":null}`}, []string{`{}`, `{"y":1}`}},
	{"empty object", `{"type":"object","properties":{}}`, []string{`{}`}, []string{`{"a":1}`}},
}

// feedAll feeds s and reports whether every byte is accepted and the result is accepting.
func feedAll(m Matcher, s string) bool {
	for i := 0; i < len(s); i++ {
		if !m.Advance(s[i]) {
			return false
		}
	}
	return m.Accepting()
}

func TestJSONSchemaCases(t *testing.T) {
	for _, c := range schemaCases {
		m, err := JSONSchema([]byte(c.schema))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, doc := range c.valid {
			if err := refValid(t, c.schema, doc); err != nil {
				t.Fatalf("%s: test document %s is not valid: %v", c.name, doc, err)
			}
			if !feedAll(m.Clone(), doc) {
				t.Errorf("%s: %s rejected", c.name, doc)
			}
		}
		for _, doc := range c.invalid {
			if feedAll(m.Clone(), doc) {
				t.Errorf("%s: %s accepted", c.name, doc)
			}
		}
	}
}

// TestJSONDone checks Done against hand-worked answers.
func TestJSONDone(t *testing.T) {
	cases := []struct {
		schema, doc string
		done        bool
	}{
		{``, `{}`, true}, {``, `1`, false}, {``, `"a"`, true}, {`{"type":"integer"}`, `0`, true},
		{`{"type":"integer"}`, `-10`, false}, {`{"enum":[1,12]}`, `1`, false}, {`{"enum":[1,12]}`, `12`, true},
		{`{"type":"boolean"}`, `true`, true}, {`{"type":"array","maxItems":1}`, `[1]`, true}, {`{"type":"number"}`, `1.5`, false},
	}
	for _, c := range cases {
		m, err := JSONSchema([]byte(c.schema))
		if err != nil {
			t.Fatal(err)
		}
		if !feedAll(m, c.doc) || m.Done() != c.done {
			t.Errorf("%s %s: Done %v, want %v", c.schema, c.doc, m.Done(), c.done)
		}
	}
}

func TestJSONSchemaErrors(t *testing.T) {
	for _, c := range []struct{ schema, want string }{
		{`{"$ref":"#/a"}`, `#/$ref: $ref "#/a": no such location`}, {`{"patternProperties":{}}`, `#/patternProperties: unsupported keyword "patternProperties"`},
		{`{"$ref":"other.json#/a"}`, `#/$ref: $ref "other.json#/a": only references into this schema`}, {`{"$ref":"#foo"}`, `anchors`},
		{`{"type":"nope"}`, `unknown type`}, {`[1]`, `object or a boolean`}, {`{"allOf":[]}`, `#/allOf: allOf must be a non-empty array`},
		{`{"items":[{}]}`, `tuple`}, {`{"minItems":-1}`, `#/minItems: must be a non-negative integer`}, {`{"pattern":"("}`, `#/pattern: error parsing regexp: missing closing )`}, {`{`, `json schema`},
		{`{"properties":{"a/b~":{"not":{}}}}`, `#/properties/a~1b~0/not: unsupported keyword "not"`},
		{`{"$defs":{"x":{"if":{}}},"items":{"$ref":"#/$defs/x"}}`, `#/$defs/x/if: unsupported keyword "if"`},
		{`{"$ref":"#"}`, `a $ref cycle`}, {`{"uniqueItems":true}`, `"uniqueItems"`}, {`{"type":"integer","minimum":1e50}`, `#/minimum: bounds beyond`},
		{`{"dependentRequired":{}}`, `"dependentRequired"`}, {`{"contains":{}}`, `"contains"`}, {`{"anyOf":[{"not":1}]}`, `#/anyOf/0/not: unsupported`},
	} {
		_, err := JSONSchema([]byte(c.schema))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %s", c.schema, err, c.want)
		}
	}
	for _, s := range []string{`false`, `{"enum":[]}`, `{"type":"string","minLength":3,"maxLength":2}`,
		`{"type":"object","properties":{"a":false},"required":["a"]}`, `{"type":"string","pattern":"^a$","minLength":2}`,
		`{"type":"integer","enum":["a"]}`, `{"type":"object","properties":{"deep":{"$ref":"#"}},"required":["deep"]}`,
		`{"type":"array","items":{"$ref":"#"},"minItems":1}`, `{"const":"abc","maxLength":2}`, `{"type":"integer","minimum":1.5,"maximum":1.9}`,
		`{"allOf":[{"type":"string"},{"type":"number"}]}`, `{"enum":[1,2],"allOf":[{"enum":[3]}]}`, `{"type":"number","exclusiveMinimum":1,"exclusiveMaximum":1}`} {
		if _, err := JSONSchema([]byte(s)); !errors.Is(err, ErrEmpty) {
			t.Errorf("%s: %v, want ErrEmpty", s, err)
		}
	}
}

// walkSchemas are the schemas of the random-walk property test.
var walkSchemas = func() []string {
	var out []string
	for _, c := range schemaCases {
		out = append(out, c.schema)
	}
	return append(append(out,
		`{"type":"object","properties":{"s":{"type":"string","pattern":"^(a|\\n|\"|\\\\)*$","minLength":1,"maxLength":3},"n":{"type":"number"}},"required":["s","n"]}`,
		`{"type":"array","items":{"anyOf":[{"type":"string","pattern":"x"},{"const":"y"},{"type":"object","additionalProperties":{"type":"integer"}}]},"maxItems":4}`,
		`{"type":"object","properties":{"a\"b":{"type":"null"},"a":{"type":"null"},"ab":{"type":"null"},"\\":{"type":"null"}},"required":["a"]}`,
	), featureSchemas...)
}()

// checkOutput holds a finished output against encoding/json and the reference validator.
func checkOutput(t *testing.T, schema, out string) {
	t.Helper()
	if !json.Valid([]byte(out)) || !utf8.ValidString(out) {
		t.Fatalf("schema %s: output %q is not JSON", schema, out)
	}
	if err := refValid(t, schema, out); err != nil {
		t.Fatalf("schema %s: output %q invalid: %v", schema, out, err)
	}
}

// randomByteWalk follows random accepted bytes until Done, a random stop once accepting, or the cap.
// It fails on a dead end (no byte accepted while not Done). Closing bytes are favoured so that
// walks finish.
func randomByteWalk(t *testing.T, rng *rand.Rand, m Matcher, cap int) (string, bool) {
	var out []byte
	for len(out) < cap {
		if m.Done() || m.Accepting() && rng.Intn(3) == 0 {
			return string(out), true
		}
		ok := allowedBytes(m)
		if len(ok) == 0 {
			t.Fatalf("dead end after %q", out)
		}
		b := ok[rng.Intn(len(ok))]
		if rng.Intn(3) == 0 {
			for _, c := range ok {
				if strings.IndexByte(`"]}`, c) >= 0 {
					b = c
				}
			}
		}
		if !m.Advance(b) {
			t.Fatalf("byte %q allowed by a clone, refused by the matcher", b)
		}
		out = append(out, b)
	}
	return string(out), false
}

func TestJSONRandomWalk(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 10
	}
	finished, total := 0, 0
	for _, schema := range walkSchemas {
		m, err := JSONSchema([]byte(schema))
		if err != nil {
			t.Fatalf("%s: %v", schema, err)
		}
		total += seeds
		for seed := 0; seed < seeds; seed++ {
			rng := rand.New(rand.NewSource(int64(seed)))
			out, ok := randomByteWalk(t, rng, m.Clone(), 400)
			if ok {
				finished++
				checkOutput(t, schema, out)
			}
		}
	}
	if finished < total/3 { // the test must check many finished outputs
		t.Errorf("only %d of %d walks finished", finished, total)
	}
}

// allowedBytes lists the bytes m accepts next, trying each on a snapshot (or a clone).
func allowedBytes(m Matcher) []byte {
	var ok []byte
	for c := 0; c < 256; c++ {
		if s, isSnap := m.(Snapshotter); isSnap {
			h := s.Snapshot()
			if s.Advance(byte(c)) {
				ok = append(ok, byte(c))
			}
			s.Restore(h)
		} else if m.Clone().Advance(byte(c)) {
			ok = append(ok, byte(c))
		}
	}
	return ok
}

// tokenVocab is a small synthetic vocabulary: every single byte plus random strings over bytes that
// matter to JSON.
func tokenVocab(rng *rand.Rand, n int) [][]byte {
	alpha := []byte("{}[]:,\" \\/0123456789-+.eEabnrtufl\n\x01\xc3\xa9\xe6\x97\xa5")
	toks := make([][]byte, 0, 256+n)
	for b := 0; b < 256; b++ {
		toks = append(toks, []byte{byte(b)})
	}
	for i := 0; i < n; i++ {
		tok := make([]byte, 1+rng.Intn(6))
		for j := range tok {
			tok[j] = alpha[rng.Intn(len(alpha))]
		}
		toks = append(toks, tok)
	}
	return append(toks, nil, []byte(`"name"`), []byte(`": `), []byte(`true`), []byte(`null`))
}

// TestJSONTokenWalk walks by whole tokens picked from Trie.Mask.
func TestJSONTokenWalk(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	vocab := tokenVocab(rng, 2000)
	trie := NewTrie(vocab)
	mask := make([]uint32, (len(vocab)+31)/32)
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for _, schema := range walkSchemas {
		m0, err := JSONSchema([]byte(schema))
		if err != nil {
			t.Fatal(err)
		}
		for seed := 0; seed < seeds; seed++ {
			m := m0.Clone()
			var out []byte
			for len(out) < 400 && !m.Done() && !(m.Accepting() && rng.Intn(3) == 0) {
				trie.Mask(m, mask)
				var ids []int
				for id := range vocab {
					if mask[id/32]&(1<<(id%32)) != 0 {
						ids = append(ids, id)
					}
				}
				if len(ids) == 0 {
					t.Fatalf("%s: no token allowed after %q", schema, out)
				}
				tok := vocab[ids[rng.Intn(len(ids))]]
				for _, b := range tok {
					if !m.Advance(b) {
						t.Fatalf("%s: masked token %q refused after %q", schema, tok, out)
					}
				}
				out = append(out, tok...)
			}
			if m.Accepting() {
				checkOutput(t, schema, string(out))
			}
		}
	}
}

// FuzzJSONSchema: the compiler never panics and fails only with a *SchemaError, ErrEmpty or a JSON
// syntax error; a schema it takes keeps its promises on a random walk (no dead end, and an output the
// reference validator accepts wherever that validator takes the schema).
func FuzzJSONSchema(f *testing.F) {
	for _, s := range walkSchemas {
		f.Add([]byte(s), int64(1))
	}
	f.Fuzz(func(t *testing.T, schema []byte, seed int64) {
		if len(schema) > 1024 {
			return
		}
		m, err := JSONSchema(schema)
		var se *SchemaError
		switch {
		case err == nil:
		case errors.As(err, &se) && se.Pointer != "" && se.Reason != "", errors.Is(err, ErrEmpty), !json.Valid(schema):
			return
		default:
			t.Fatalf("schema %q: error %v is neither a SchemaError, ErrEmpty nor bad JSON", schema, err)
		}
		rng := rand.New(rand.NewSource(seed))
		out, finished := randomByteWalk(t, rng, m, 64)
		// The validator follows the spec, where oneOf means exactly one; the matcher treats it as anyOf.
		if !finished || strings.Contains(string(schema), "oneOf") {
			return
		}
		if _, err := compileRef(string(schema)); err == nil {
			checkOutput(t, string(schema), out)
		}
	})
}

// hasSurrogateEscape reports a \uD800–\uDFFF escape inside a string of the JSON text s.
func hasSurrogateEscape(s string) bool {
	in := false
	for i := 0; i < len(s); i++ {
		switch {
		case !in && s[i] == '"':
			in = true
		case in && s[i] == '"':
			in = false
		case in && s[i] == '\\':
			if i+5 < len(s) && s[i+1] == 'u' && (s[i+2] == 'd' || s[i+2] == 'D') && strings.IndexByte("89abcdefABCDEF", s[i+3]) >= 0 {
				return true
			}
			i++
		}
	}
	return false
}

// TestJSONAnyAgainstEncodingJSON: with no schema and texts without whitespace, the matcher accepts
// exactly the valid UTF-8 JSON texts (less \u escapes of surrogates).
func TestJSONAnyAgainstEncodingJSON(t *testing.T) {
	m, err := JSONSchema(nil)
	if err != nil {
		t.Fatal(err)
	}
	pieces := []string{`{`, `}`, `[`, `]`, `"`, `:`, `,`, `\`, `u`, `d`, `8`, `0`, `1`, `-`, `.`, `e`, `+`, `a`, `n`, `/`,
		`true`, `null`, `false`, `"k"`, `""`, "\x01", "\xc3\xa9", "\xe6\x97", "\xa5", `\u00e9`, `\ud800`, `\n`, `1.5e-3`, `[1,2]`, `{"a":1}`,
		"\xe0", "\x80", "\xed", "\xa0", "\xf4", "\x90", "\xbf"}
	rng := rand.New(rand.NewSource(9))
	accepted, n := 0, 200000
	if testing.Short() {
		n = 20000
	}
	for i := 0; i < n; i++ {
		var sb strings.Builder
		for n := 1 + rng.Intn(7); n > 0; n-- {
			sb.WriteString(pieces[rng.Intn(len(pieces))])
		}
		s := sb.String()
		want := json.Valid([]byte(s)) && utf8.ValidString(s) && !hasSurrogateEscape(s)
		if got := feedAll(m.Clone(), s); got != want {
			t.Fatalf("%q: matcher %v, encoding/json %v", s, got, want)
		}
		if want {
			accepted++
		}
	}
	if accepted < n/200 {
		t.Fatalf("only %d valid texts tried", accepted)
	}
}

// TestJSONStringUTF8 holds the string lexer against utf8.Valid: every 1- and 2-byte string and random
// 3- and 4-byte ones, between quotes.
func TestJSONStringUTF8(t *testing.T) {
	m, err := JSONSchema([]byte(`{"type":"string"}`))
	if err != nil {
		t.Fatal(err)
	}
	check := func(s []byte) {
		if bytes.IndexByte(s, '\\') >= 0 {
			return // escapes are tested elsewhere
		}
		want := utf8.Valid(s)
		for _, b := range s {
			want = want && b >= 0x20 && b != '"'
		}
		if got := feedAll(m.Clone(), `"`+string(s)+`"`); got != want {
			t.Fatalf("%x: matcher %v, want %v", s, got, want)
		}
	}
	for i := 0; i < 1<<16; i++ {
		check([]byte{byte(i)})
		check([]byte{byte(i >> 8), byte(i)})
	}
	rng := rand.New(rand.NewSource(11))
	lead := []byte{0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5}
	for i := 0; i < 100000; i++ {
		s := make([]byte, 3+rng.Intn(2))
		rng.Read(s)
		s[0] = lead[rng.Intn(len(lead))]
		for j := 1; j < len(s); j++ {
			s[j] = 0x80 | s[j]&0x3f
		}
		check(s)
	}
}
