package constraint

import (
	"math/big"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// refSchemas caches the reference validator's compiled schemas by schema text.
var refSchemas sync.Map

// compileRef compiles schema with santhosh-tekuri/jsonschema, the independent validator: draft 2020-12
// unless the schema names another, formats asserted.
func compileRef(schema string) (*jsonschema.Schema, error) {
	if s, ok := refSchemas.Load(schema); ok {
		return s.(*jsonschema.Schema), nil
	}
	text := schema
	if strings.TrimSpace(text) == "" {
		text = "true"
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("mem://schema.json", doc); err != nil {
		return nil, err
	}
	s, err := c.Compile("mem://schema.json")
	if err != nil {
		return nil, err
	}
	refSchemas.Store(schema, s)
	return s, nil
}

// refSchema is compileRef for schemas the reference validator must take.
func refSchema(t testing.TB, schema string) *jsonschema.Schema {
	t.Helper()
	s, err := compileRef(schema)
	if err != nil {
		t.Fatalf("schema %s: the reference validator refuses it: %v", schema, err)
	}
	return s
}

// refValid reports why doc is invalid against schema under the reference validator (nil: valid).
func refValid(t testing.TB, schema, doc string) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		return err
	}
	return refSchema(t, schema).Validate(v)
}

// corpusSchema is a real-world schema of testdata/schemas and its hand-written valid documents.
type corpusSchema struct {
	name, schema string
	docs         []string
}

// loadCorpus reads testdata/schemas: each NAME.json with its documents in NAME.docs, separated by
// lines of "---".
func loadCorpus(t *testing.T) []corpusSchema {
	files, err := filepath.Glob("testdata/schemas/*.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("corpus: %v (%d files)", err, len(files))
	}
	var out []corpusSchema
	for _, f := range files {
		schema, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".docs")
		if err != nil {
			t.Fatal(err)
		}
		c := corpusSchema{name: filepath.Base(f), schema: string(schema)}
		for _, d := range strings.Split(string(docs), "\n---\n") {
			c.docs = append(c.docs, strings.TrimSuffix(d, "\n"))
		}
		out = append(out, c)
	}
	return out
}

// featureSchemas exercise each supported keyword and their combinations.
var featureSchemas = []string{
	`{"type":"integer","minimum":-37,"maximum":1205}`,
	`{"type":"integer","exclusiveMinimum":9.5,"exclusiveMaximum":100}`,
	`{"type":"number","minimum":-2.75,"exclusiveMaximum":0.125}`,
	`{"type":"number","exclusiveMinimum":-0.001,"maximum":1e3}`,
	`{"type":"array","items":{"type":"integer","maximum":-10},"maxItems":3}`,
	`{"type":"string","format":"date-time"}`,
	`{"type":"array","items":{"type":"string","format":"ipv6"},"maxItems":2}`,
	`{"type":"array","items":{"anyOf":[{"format":"email"},{"format":"hostname"},{"format":"uri"}],"type":"string"},"maxItems":2}`,
	`{"type":"array","items":{"type":"string","format":"duration"},"maxItems":3}`,
	`{"type":"string","format":"ipv4","minLength":9}`,
	`{"type":"string","format":"date","pattern":"-02-"}`,
	`{"allOf":[{"type":"object","properties":{"a":{"type":"integer","minimum":0}},"required":["a"]},{"properties":{"a":{"maximum":9},"b":{"type":"string"}},"required":["b"]}]}`,
	`{"allOf":[{"type":["string","integer","null"]},{"type":["number","null"]}],"minimum":5}`,
	`{"type":"object","properties":{"x":{"type":"integer"}},"additionalProperties":false,"anyOf":[{"required":["x"]},{"properties":{"y":{}}}]}`,
	`{"enum":[1,2.5,"a",{"k":[1]},[null],true],"type":["number","object"],"minimum":2}`,
	`{"enum":["abc","ab",1],"maxLength":2}`,
	`{"enum":[{"a":1},{"a":"x"},{"b":1}],"properties":{"a":{"type":"integer"}},"required":["a"]}`,
	`{"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},"required":["v","next"],"additionalProperties":false}`,
	`{"$defs":{"t":{"type":"array","items":{"$ref":"#/$defs/t"},"maxItems":2}},"$ref":"#/$defs/t"}`,
	`{"$defs":{"a/b":{"type":"string","maxLength":3},"c~d":{"type":"boolean"}},"type":"array","items":{"anyOf":[{"$ref":"#/$defs/a~1b"},{"$ref":"#/$defs/c~0d"}]}}`,
	`{"type":"object","additionalProperties":{"type":"object","additionalProperties":{"type":"integer","minimum":0,"maximum":3}}}`,
	`{"type":"object","properties":{"deep":{"$ref":"#"},"n":{"type":"integer"}}}`,
	`{"anyOf":[{"type":"array","items":{"$ref":"#"},"minItems":1,"maxItems":2},{"type":"integer","minimum":0,"maximum":9}]}`,
	`{"type":"object","properties":{"a":{"type":"null"},"b":{"type":"boolean"},"c":{"enum":[[],{}]}},"required":["c","a"]}`,
	`{"$defs":{"A":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}},"type":"object","properties":{"a":{"allOf":[{"$ref":"#/$defs/A"}],"default":{"x":1},"description":"older Pydantic"}},"required":["a"]}`,
	`{"$defs":{"My Model":{"type":"string","enum":["p","q"]}},"type":"array","items":{"$ref":"#/$defs/My%20Model"},"minItems":1}`,
}

// refWalk checks random walks through schema's matcher against the reference validator; it returns
// how many finished.
func refWalk(t *testing.T, schema string, seeds, cap int) int {
	m, err := JSONSchema([]byte(schema))
	if err != nil {
		t.Fatalf("%.200s: %v", schema, err)
	}
	finished := 0
	for seed := 0; seed < seeds; seed++ {
		rng := rand.New(rand.NewSource(int64(seed)))
		out, ok := randomByteWalk(t, rng, m.Clone(), cap)
		if ok {
			finished++
			if err := refValid(t, schema, out); err != nil {
				t.Fatalf("%.200s: output %q is invalid: %v", schema, out, err)
			}
		}
	}
	return finished
}

// TestJSONSchemaReferenceWalks: random walks through the matcher (random allowed bytes until Done or a
// random stop) over the corpus and the feature schemas produce documents the reference validator
// accepts.
func TestJSONSchemaReferenceWalks(t *testing.T) {
	seeds := 20
	if testing.Short() {
		seeds = 8
	}
	schemas := append([]string(nil), featureSchemas...)
	for _, c := range loadCorpus(t) {
		schemas = append(schemas, c.schema)
	}
	for _, s := range schemas {
		if n := refWalk(t, s, seeds, 4000); n < seeds/4 {
			t.Errorf("%.200s: only %d of %d walks finished", s, n, seeds)
		}
	}
}

// TestJSONSchemaCorpusDocs: the hand-written documents, which the reference validator accepts, are
// accepted byte by byte (compact and pretty-printed alike).
func TestJSONSchemaCorpusDocs(t *testing.T) {
	for _, c := range loadCorpus(t) {
		m, err := JSONSchema([]byte(c.schema))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(c.docs) < 2 {
			t.Errorf("%s: fewer than 2 documents", c.name)
		}
		for _, d := range c.docs {
			if err := refValid(t, c.schema, d); err != nil {
				t.Fatalf("%s: test document %s is invalid: %v", c.name, d, err)
			}
			mc := m.Clone()
			for i := 0; i < len(d); i++ {
				if !mc.Advance(d[i]) {
					t.Fatalf("%s: %q refused at byte %d (%q)", c.name, d, i, d[:i+1])
				}
			}
			if !mc.Accepting() {
				t.Errorf("%s: %q not accepting at its end", c.name, d)
			}
		}
	}
}

// TestJSONNumberBounds holds bounded numbers against exact comparison: every canonical text of a grid
// of values is accepted exactly when it is within the bounds (texts of a negative zero may be refused).
func TestJSONNumberBounds(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	bounds := []string{"-100", "-10.5", "-1", "-0.25", "0", "0.5", "1", "7", "9.99", "10", "99", "100.001", "1e2", "-1.5e1"}
	n := 60
	if testing.Short() {
		n = 20
	}
	for i := 0; i < n; i++ {
		integer := rng.Intn(2) == 0
		kw := [...]string{"minimum", "exclusiveMinimum"}[rng.Intn(2)]
		kx := [...]string{"maximum", "exclusiveMaximum"}[rng.Intn(2)]
		lo, hi := bounds[rng.Intn(len(bounds))], bounds[rng.Intn(len(bounds))]
		typ := "number"
		if integer {
			typ = "integer"
		}
		var parts []string
		if rng.Intn(4) > 0 {
			parts = append(parts, `"`+kw+`":`+lo)
		}
		if rng.Intn(4) > 0 {
			parts = append(parts, `"`+kx+`":`+hi)
		}
		schema := `{"type":"` + typ + `"` + strings.Repeat(",", min(1, len(parts))) + strings.Join(parts, ",") + `}`
		m, err := JSONSchema([]byte(schema))
		if err != nil {
			continue // ErrEmpty: no number in range
		}
		for v := -1050; v <= 1050; v += 1 + rng.Intn(7) {
			for _, text := range numberTexts(v) {
				got := feedAll(m.Clone(), text)
				want := refValid(t, schema, text) == nil
				r, _ := new(big.Rat).SetString(text)
				if want && !got && r.Sign() == 0 && strings.HasPrefix(text, "-") {
					continue
				}
				if integer && strings.Contains(text, ".") {
					want = false // integers are written without a fraction
				}
				if got != want {
					t.Fatalf("%s: %s accepted %v, valid %v", schema, text, got, want)
				}
			}
		}
	}
}

// numberTexts are decimal texts near v/10: the integer v/10 (when whole) and v/10, v/100 with fractions.
func numberTexts(v int) []string {
	var out []string
	r := big.NewRat(int64(v), 10)
	if r.IsInt() {
		out = append(out, r.Num().String(), r.FloatString(1))
	} else {
		out = append(out, r.FloatString(1), r.FloatString(3))
	}
	return append(out, big.NewRat(int64(v), 100).FloatString(2), big.NewRat(int64(v), 1000).FloatString(4))
}

// TestDecAgainstBigRat holds the exact decimals against math/big: parsing, comparison, integrality and
// rounding to 10^-2 and to integers, on random number texts.
func TestDecAgainstBigRat(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.Intn(10))
		}
		return string(b)
	}
	text := func() string {
		s := [...]string{"", "-"}[rng.Intn(2)] + digits(1+rng.Intn(4))
		if rng.Intn(2) == 0 {
			s += "." + digits(1+rng.Intn(4))
		}
		if rng.Intn(3) == 0 {
			s += [...]string{"e", "E", "e+", "e-"}[rng.Intn(4)] + digits(1+rng.Intn(1))
		}
		return s
	}
	scale := big.NewRat(1, 100)
	for i := 0; i < 20000; i++ {
		a, b := text(), text()
		da, ok1 := parseDec(a)
		db, ok2 := parseDec(b)
		ra, _ := new(big.Rat).SetString(a)
		rb, _ := new(big.Rat).SetString(b)
		if !ok1 || !ok2 {
			t.Fatalf("%s or %s not parsed", a, b)
		}
		if da.cmp(db) != ra.Cmp(rb) || da.isInt() != ra.IsInt() {
			t.Fatalf("%s vs %s: cmp %d isInt %v, want %d %v", a, b, da.cmp(db), da.isInt(), ra.Cmp(rb), ra.IsInt())
		}
		for _, up := range []bool{false, true} {
			for _, sc := range []int{-2, 0} {
				r, moved := da.roundTo(sc, up)
				unit := scale
				if sc == 0 {
					unit = big.NewRat(1, 1)
				}
				q := new(big.Rat).Quo(ra, unit) // want floor or ceil of q, times unit
				fl := new(big.Int).Div(q.Num(), q.Denom())
				if up && !q.IsInt() {
					fl.Add(fl, big.NewInt(1))
				}
				want := new(big.Rat).Mul(new(big.Rat).SetInt(fl), unit)
				ip, fp := r.intFrac()
				got, _ := new(big.Rat).SetString(map[bool]string{true: "-", false: ""}[r.neg] + ip + "." + fp + "0")
				if got.Cmp(want) != 0 || moved != !q.IsInt() {
					t.Fatalf("%s rounded to 10^%d up=%v: %s (moved %v), want %s", a, sc, up, got.RatString(), moved, want.RatString())
				}
			}
		}
	}
}

// TestJSONNestingBound: at maxNesting open arrays a recursive schema that needs one more level to
// finish offers only the alternative that closes (no dead end), and an object whose required property
// would go deeper is not started.
func TestJSONNestingBound(t *testing.T) {
	m, err := JSONSchema([]byte(`{"$defs":{"n":{"anyOf":[{"type":"integer"},{"type":"array","items":{"$ref":"#/$defs/n"},"minItems":1},
		{"type":"object","properties":{"x":{"$ref":"#/$defs/n"}},"required":["x"]}]}},"$ref":"#/$defs/n"}`))
	if err != nil {
		t.Fatal(err)
	}
	open := strings.Repeat("[", maxNesting-1)
	if !feedAll(m.Clone(), open+`{"x":1}`+strings.Repeat("]", maxNesting-1)) {
		t.Fatalf("an object at depth %d refused", maxNesting)
	}
	deep := m.Clone()
	for i := 0; i < len(open)+1; i++ {
		if !deep.Advance('[') {
			t.Fatalf("[ number %d refused", i+1)
		}
	}
	if got := string(allowedBytes(deep)); got != "\n -0123456789" {
		t.Fatalf("at depth %d allowed %q, want whitespace or an integer", maxNesting, got)
	}
	if !feedAll(deep, "7"+strings.Repeat("]", maxNesting)) {
		t.Fatal("the deepest value refused")
	}
}
