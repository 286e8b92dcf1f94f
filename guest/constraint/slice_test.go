package constraint

import (
	"fmt"
	"math/rand"
	"os"
	"slices"
	"testing"
	"unicode/utf8"
)

// Matchers whose states offer every kind of free run: unbounded loops, loops that start after a few
// characters, tight counts, counts past sliceDepth, multibyte classes, string patterns and lengths, keys,
// numbers; and states that offer none (literals, structure, escapes, cut-short characters).
var (
	sliceRegexes = []string{`[A-Za-z ,.!?]{0,40}`, `[^"\\]{0,20}x`, `.*`, `[a-z]+(-[0-9]{2,5})?`, `\w+`,
		`[^a]*b`, `"([^"\\]|\\.)*"`, `(ab|cd)*e{3}`, `[а-я]+ [a-z]*`, `[😀-🙏]{1,3}\d+`, `x{0,3}y{20}`,
		`(?s).{0,17}`, `\{"name": "[^"\\]{0,40}", "n": -?\d+(\.\d+)?\}`}
	sliceSchemas = []string{``,
		`{"type":"object","properties":{"name":{"type":"string","minLength":3},"tags":{"type":"array","items":` +
			`{"type":"string","maxLength":5}},"n":{"type":"number"},"i":{"type":"integer"}},` +
			`"additionalProperties":{"type":"string","maxLength":20}}`,
		`{"type":"string","pattern":"^[a-z]{2,30}[0-9]*$"}`,
		`{"type":"string","pattern":"é+","minLength":2,"maxLength":18}`,
		`{"anyOf":[{"type":"string","maxLength":3},{"type":"string","minLength":5}]}`,
		`{"type":"array","items":{"type":"string","minLength":20}}`,
		// The schema compiler's later features: bounded numbers (a DFA per bound), formats, $ref recursion,
		// allOf, enums of any type and objects whose additional properties stop at a depth.
		`{"type":"object","properties":{"age":{"type":"integer","minimum":18,"maximum":130},` +
			`"score":{"type":"number","exclusiveMinimum":-2.5,"maximum":1000},"when":{"type":"string","format":"date-time"},` +
			`"id":{"type":"string","format":"uuid"},"kind":{"enum":["a",1,null,{"x":[true]}]}},"required":["age"]}`,
		`{"$defs":{"node":{"type":"object","properties":{"v":{"type":"string","maxLength":4},` +
			`"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"additionalProperties":false}},"$ref":"#/$defs/node"}`,
		`{"allOf":[{"type":"object"},{"properties":{"b":{"type":"integer","minimum":0}},"required":["b"]}],` +
			`"properties":{"a":{"type":"string"},"b":{}},"additionalProperties":{"type":"array","items":{"type":"number"},"maxItems":3}}`}
)

// sliceStarts are states random walks seldom stop in: a matcher (a schema, "" any JSON value) and the
// text it has taken.
var sliceStarts = []struct{ schema, prefix string }{
	{`{"type":"number"}`, `-`}, {`{"type":"integer"}`, `-`}, {`{"type":"number"}`, `1.`}, {`{"type":"number"}`, `1e`},
	{`{"type":"number"}`, `1E-`}, {`{"type":"number"}`, `0`}, {``, `"\`}, {``, `"\u`}, {``, "\"\xe6"},
	{``, `{"x`}, {``, `[[`}, {`{"type":"string","minLength":2}`, `"`},
	{`{"properties":{"i":{"type":"integer"}},"additionalProperties":{"type":"string"}}`, `{"i`},
	{`{"type":"object"}`, `{"a":1, `}, {``, `[1, `}, {``, `{"a": `}, {``, `[true`},
	{``, "{\n  \"a\":"}, {``, "[1,\n\t"}, {`{"type":"integer","minimum":-40,"maximum":125}`, `1`},
	{`{"type":"integer","minimum":-40,"maximum":125}`, `-`}, {`{"type":"number","maximum":0.5}`, `0.`},
	{`{"type":"string","format":"date"}`, `"2024-0`},
}

// sliceMatchers compiles sliceRegexes and sliceSchemas, and sliceStarts.
func sliceMatchers(t *testing.T) []Matcher {
	var ms []Matcher
	for _, st := range sliceStarts {
		ms = append(ms, stateMatcher(t, "", st.schema, st.prefix))
	}
	for _, p := range sliceRegexes {
		m, err := Regex(p)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	for _, s := range sliceSchemas {
		m, err := JSONSchema([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	ms = append(ms, sliceGrammars(t)...)
	return append(ms, sliceGBNFs(t)...)
}

// sliceGBNFs are GBNF matchers, fresh and after a prefix: most of the benchmarks' states (gbnfStates), llama.cpp's
// json.gbnf, a loop of a negated class, a counted class, multibyte classes (whole, and partial: some
// multibyte characters, as japanese.gbnf's), two loops whose classes overlap, where a character held by both stacks must not count
// as free, and counted repetitions, whose runs end (tight) rather than loop.
func sliceGBNFs(t *testing.T) []Matcher {
	jsonGBNF, err := os.ReadFile("testdata/gbnf/json.gbnf")
	if err != nil {
		t.Fatal(err)
	}
	japaneseGBNF, err := os.ReadFile("testdata/gbnf/japanese.gbnf")
	if err != nil {
		t.Fatal(err)
	}
	var ms []Matcher
	for _, st := range gbnfStates {
		switch st.name {
		case "json-string", "json-key-start", "json-nested-key", "json-utf8-lead", "c-comment":
			continue // alike states are below or reached by the walks
		}
		ms = append(ms, gbnfState(t, st.grammar, st.prefix))
	}
	for _, g := range []struct {
		src      string
		prefixes []string
	}{
		{string(jsonGBNF), []string{"", `{"a": "xy`, `{"a": [1, 2`, `{"ab`}},
		{`root ::= "\"" [^"\\]* "\""`, []string{"", `"ab`}},
		{`root ::= [a-z]+ ("," [0-9]{1,3})*`, []string{"", "ab", "ab,1"}},
		{`root ::= "<" ([^\x00-\x7F] | [a-c])* ">" | [α-ω]+`, []string{"", "<", "<é", "α"}},
		{`root ::= [a-m]* "!" | [h-z]* "?"`, []string{"", "k", "hi"}},
		{`root ::= ([^a] | [é-ï] "a")*`, []string{"", "é", "x"}},
		// Classes of some multibyte characters: japanese.gbnf's, two that share lead bytes and part ways
		// (after 一 or 二 both go on), and a counted one followed by a class of the same lead byte, whose run
		// must not end tight on that byte.
		{string(japaneseGBNF), []string{"", "あ", "日本 ", "ア\n"}},
		{`root ::= [一-龥]* "!" | [ぁ-ん一-二]* "?"`, []string{"", "一", "ぁ"}},
		{`root ::= [α-γ]{3} [δ-ω] "x"`, []string{"", "α"}},
		{`root ::= "x" [ \t]{0,20} "\"" ([^"\\] | "\\u" [0-9a-f]{4})* "\""`, []string{"x", "x  ", `x"\u0`}},
	} {
		for _, pre := range g.prefixes {
			m, err := GBNF(g.src)
			if err != nil {
				t.Fatalf("%s: %v", g.src, err)
			}
			for i := 0; i < len(pre); i++ {
				if !m.Advance(pre[i]) {
					t.Fatalf("%s: %q refused at %d", g.src, pre, i)
				}
			}
			ms = append(ms, m)
		}
	}
	return ms
}

// sliceGrammars are Grammars around JSON matchers, fresh and after a prefix: tool calls, whose free runs
// are their arguments', and an integer that is the whole sub-value followed by a literal starting with a
// digit, whose digits must not be a run of the grammar (the sub accepts along it).
func sliceGrammars(t *testing.T) []Matcher {
	schema := func(s string) *Pattern {
		m, err := JSONSchema([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return Sub(m)
	}
	var ms []Matcher
	for _, g := range []struct {
		p        *Pattern
		prefixes []string
	}{
		{Repeat(Seq(Lit(`<tool_call>{"name": "get", "arguments": `),
			schema(`{"type":"object","properties":{"city":{"type":"string","maxLength":12},"n":{"type":"integer"}},"required":["city"]}`),
			Lit("}</tool_call>")), Lit("\n"), 1, 3),
			[]string{"", `<tool_call>{"name": "get", "arguments": {"city": "Ro`, `<tool_call>{"name": "get", "arguments": {"n": 1`}},
		{Seq(Lit("n="), schema(`{"type":"integer"}`), Lit("1,")), []string{"", "n=", "n=12"}},
	} {
		for _, pre := range g.prefixes {
			m, err := Grammar(g.p)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(pre); i++ {
				if !m.Advance(pre[i]) {
					t.Fatalf("%q refused at %d", pre, i)
				}
			}
			ms = append(ms, m)
		}
	}
	return ms
}

// sliceVocab is a synthetic vocabulary that makes Mask slice: all single bytes, then tokens of 1 to 40
// characters (long ones sometimes) over letters, digits, JSON punctuation, escapes, control characters,
// multibyte characters and cut-short or invalid UTF-8, so that thousands share a first byte.
func sliceVocab(rng *rand.Rand, n int) [][]byte {
	alpha := []string{"a", "b", "e", "x", "y", "z", "A", "Q", " ", ",", ".", "!", "-", "0", "1", "7", "\"", "\\",
		"n", "u", "{", "}", "[", "]", ":", "\n", "\t", "é", "日", "😀", "а", "я", "\xc3", "\xe6\x97", "\xbf", "\xff",
		"あ", "ア", "一", "二", "α", "δ", "\xe3\x81", "\xce"}
	v := make([][]byte, 0, n)
	for b := 0; b < 256; b++ {
		v = append(v, []byte{byte(b)})
	}
	for len(v) < n {
		var tok []byte
		k := 1 + rng.Intn(8)
		if rng.Intn(10) == 0 {
			k = 10 + rng.Intn(30)
		}
		run := alpha[:10+rng.Intn(len(alpha)-10)] // some tokens draw from fewer characters, so more are whole
		for i := 0; i < k; i++ {
			tok = append(tok, run[rng.Intn(len(run))]...)
		}
		v = append(v, tok)
	}
	// Tokens that end a string or key and go on, as real vocabularies have.
	for _, end := range []string{`"`, `":`, `":1`, `": "a`, `", "`, `"}`, `"]`, `\n`, `\"`, `\u00e9`, "\n", `1,`} {
		for _, start := range []string{"", "x", "ab", "é", "1", "日本"} {
			v = append(v, []byte(start+end))
		}
	}
	v[300] = nil // a control token
	v[301] = append([]byte(nil), v[302]...)
	return v
}

// snapOnly hides a Matcher's concrete type but keeps Snapshotter and slicer: Mask's generic path, as a
// matcher of another file would take it.
type snapOnly struct {
	sm interface {
		Snapshotter
		slicer
	}
}

func (s snapOnly) Advance(b byte) bool { return s.sm.Advance(b) }
func (s snapOnly) Accepting() bool     { return s.sm.Accepting() }
func (s snapOnly) Done() bool          { return s.sm.Done() }
func (s snapOnly) Clone() Matcher {
	return snapOnly{s.sm.Clone().(interface {
		Snapshotter
		slicer
	})}
}
func (s snapOnly) Snapshot() int         { return s.sm.Snapshot() }
func (s snapOnly) Restore(h int)         { s.sm.Restore(h) }
func (s snapOnly) free() (freeRun, bool) { return s.sm.free() }

// snapMask is naiveMask on a snapshot instead of clones, fast enough for a real vocabulary.
func snapMask(vocab [][]byte, m Snapshotter, words int) []uint32 {
	mask := make([]uint32, words)
	for id, tok := range vocab {
		if len(tok) == 0 || id/32 >= words {
			continue
		}
		h := m.Snapshot()
		ok := true
		for _, b := range tok {
			if !m.Advance(b) {
				ok = false
				break
			}
		}
		m.Restore(h)
		if ok {
			mask[id/32] |= 1 << (id % 32)
		}
	}
	return mask
}

// checkMasks walks random reachable states of each matcher (by allowed tokens, sometimes by single
// allowed bytes, so escapes and cut-short characters come up too) and checks in each that Mask, through
// every cursor, equals the mask of feeding every token byte by byte (twice for the matcher itself, the
// second from the mask cache where it keys its states), and that the state keeps its free run's promises.
func checkMasks(t *testing.T, rng *rand.Rand, vocab [][]byte, ms []Matcher, walks, steps int, cursors bool) {
	trie := NewTrie(vocab)
	words := (len(vocab) + 31) / 32
	sliced := 0
	for _, m0 := range ms {
		for w := 0; w < walks; w++ {
			m := m0.Clone()
			for step := 0; step < steps && !m.Done(); step++ {
				want := snapMask(vocab, m.(Snapshotter), words)
				variants := []Matcher{m}
				if cursors {
					variants = append(variants, snapOnly{m.(interface {
						Snapshotter
						slicer
					})}, cloneOnly{m})
				}
				for _, mm := range variants {
					masks := 1
					if _, ok := mm.(stateKeyer); ok {
						masks = 2 // the second comes from the mask cache
					}
					for again := range masks {
						got := make([]uint32, words)
						for i := range got {
							got[i] = ^uint32(0) // Mask must clear
						}
						trie.Mask(mm, got)
						for i := range got {
							if got[i] != want[i] {
								t.Fatalf("%T at step %d (mask %d): word %d: got %032b want %032b (tokens %s)", mm, step, again, i, got[i], want[i], diffTokens(vocab, i, got[i]^want[i]))
							}
						}
					}
				}
				if _, ok := m.(slicer).free(); ok {
					sliced++
					checkFreeRun(t, rng, m)
				}
				next := randomAllowed(rng, vocab, want)
				if rng.Intn(4) == 0 {
					next = next[:1]
				}
				for _, b := range next {
					m.Advance(b)
				}
			}
		}
	}
	if sliced < len(ms)*walks {
		t.Errorf("only %d states offered a free run", sliced)
	}
}

// randomAllowed is a random token of vocab whose bit mask sets; nil if it sets none.
func randomAllowed(rng *rand.Rand, vocab [][]byte, mask []uint32) []byte {
	var ids []int
	for id := range vocab {
		if mask[id/32]&(1<<(id%32)) != 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return vocab[ids[rng.Intn(len(ids))]]
}

// diffTokens names the tokens of mask word w whose bits are set in diff.
func diffTokens(vocab [][]byte, w int, diff uint32) string {
	s := ""
	for i := 0; i < 32; i++ {
		if diff&(1<<i) != 0 {
			s += fmt.Sprintf("%d:%q ", w*32+i, vocab[w*32+i])
		}
	}
	return s
}

// checkFreeRun checks a state's free run against its promises: random texts of the class's characters,
// up to the run's length, are taken; two texts of the same length lead to states that take the same next
// bytes; a loop's state stays; a tight run takes no byte that starts a character of the class after max.
func checkFreeRun(t *testing.T, rng *rand.Rand, m Matcher) {
	t.Helper()
	run, _ := m.(slicer).free()
	var chars [][]byte
	for b := byte(0); b < utf8.RuneSelf; b++ {
		if run.cls.has(b) {
			chars = append(chars, []byte{b})
		}
	}
	for e := byte(0); e < utf8.RuneSelf; e++ {
		if run.cls.esc[e>>6]&(1<<(e&63)) != 0 {
			chars = append(chars, []byte{'\\', e})
		}
	}
	if run.cls.multi {
		for _, r := range []rune{'é', 'ß', 'я', '日', '\uFFFD', '😀', utf8.MaxRune} {
			chars = append(chars, []byte(string(r)))
		}
	}
	for i := range run.cls.some.n() { // each range's ends and middle
		r := run.cls.some.at(i)
		for _, c := range []rune{r.lo, (r.lo + r.hi) / 2, r.hi} {
			chars = append(chars, []byte(string(c)))
		}
	}
	n := run.max
	if n < 0 {
		n = run.loop + 3
	}
	n = min(n, 24)
	after := func(k int) Matcher {
		c := m.Clone()
		for i := 0; i < k; i++ {
			for _, b := range chars[rng.Intn(len(chars))] {
				if !c.Advance(b) {
					t.Fatalf("free run %+v: character %d of %d refused", run, i+1, k)
				}
			}
		}
		return c
	}
	for _, k := range []int{1, rng.Intn(n + 1), n} {
		if behaviour(after(k)) != behaviour(after(k)) {
			t.Fatalf("free run %+v: two texts of %d characters lead to different states", run, k)
		}
	}
	if run.max < 0 && behaviour(after(run.loop)) != behaviour(after(run.loop+1+rng.Intn(5))) {
		t.Fatalf("free run %+v: the state moves after the loop", run)
	}
	if run.max >= 0 && run.max < sliceDepth {
		a := after(run.max)
		for _, b := range allowedBytes(a) {
			if run.cls.starts(b) {
				t.Fatalf("free run %+v: byte %#x taken after max characters", run, b)
			}
		}
	}
}

// TestMaskSlicesSynthetic checks Mask against the byte-by-byte mask on a synthetic vocabulary.
func TestMaskSlicesSynthetic(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	walks, steps := 2, 10
	if testing.Short() {
		walks = 1
	}
	checkMasks(t, rng, sliceVocab(rng, 4000), sliceMatchers(t), walks, steps, true)
}

// TestMaskSlicesDeepSeekV3 checks Mask against the byte-by-byte mask on DeepSeek-V3's vocabulary.
func TestMaskSlicesDeepSeekV3(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	steps := 6
	if testing.Short() {
		steps = 2
	}
	checkMasks(t, rng, deepSeekV3Vocab(t), sliceMatchers(t), 1, steps, false)
}

// probes are the texts behaviour tries: every string of up to three of these characters.
var probes = func() (out []string) {
	alpha := []string{`"`, `:`, `1`, `a`, `,`, `}`, `\`, "\n", "\xc3"}
	out = []string{""}
	for n, lo := 0, 0; n < 3; n++ {
		hi := len(out)
		for _, p := range out[lo:hi] {
			for _, c := range alpha {
				out = append(out, p+c)
			}
		}
		lo = hi
	}
	return out
}()

// behaviour is a fingerprint of m's state: which probes it takes, and which it takes as complete.
func behaviour(m Matcher) string {
	fp := make([]byte, len(probes))
	for i, p := range probes {
		c := m.Clone()
		fp[i] = '1'
		for j := 0; j < len(p); j++ {
			if !c.Advance(p[j]) {
				fp[i] = '0'
				break
			}
		}
		if fp[i] == '1' && c.Accepting() {
			fp[i] = '2'
		}
	}
	return string(fp)
}

// TestMaskCursorBudget checks that a GBNF walk whose cursor runs past its memory budget gives the same masks
// (Trie.Mask walks again the plain way), and that a cursor does give up past it.
func TestMaskCursorBudget(t *testing.T) {
	defer func(b int) { cursorBudget = b }(cursorBudget)
	m, err := GBNF(`root ::= [a-z]+ ("," [a-z]+)*`)
	if err != nil {
		t.Fatal(err)
	}
	cursorBudget = 1
	c := m.(*gbnfMatcher).cursor()
	func() {
		defer func() {
			if _, full := recover().(cursorFull); !full {
				t.Error("a cursor named a second state past a budget of 1")
			}
		}()
		c.step(0, 'a')
	}()
	c.close()
	rng := rand.New(rand.NewSource(13))
	vocab := sliceVocab(rng, 2000)
	trie := NewTrie(vocab)
	words := (len(vocab) + 31) / 32
	for _, budget := range []int{1, 40} {
		cursorBudget = budget
		walkGBNFs(t, rng, vocab, func(step int, m Matcher, want []uint32) {
			got := make([]uint32, words)
			trie.masks = maskCache{}
			trie.Mask(m, got)
			if !slices.Equal(got, want) {
				t.Fatalf("budget %d, step %d: the mask differs from the byte-by-byte one", budget, step)
			}
		})
	}
}

// walkGBNFs advances each of sliceGBNFs by up to 4 random tokens of vocab that its state allows, and
// calls check at every state with its byte-by-byte mask (snapMask).
func walkGBNFs(t *testing.T, rng *rand.Rand, vocab [][]byte, check func(step int, m Matcher, want []uint32)) {
	words := (len(vocab) + 31) / 32
	for _, m0 := range sliceGBNFs(t) {
		m := m0.Clone()
		for step := 0; step < 4 && !m.Done(); step++ {
			want := snapMask(vocab, m.(Snapshotter), words)
			check(step, m, want)
			next := randomAllowed(rng, vocab, want)
			if next == nil {
				break
			}
			for _, b := range next {
				m.Advance(b)
			}
		}
	}
}

// TestBuildsOutsideLock checks that what walks build (slices, tail and rest tries, bitmaps) is built
// without the Trie's lock held, on the masks of the benchmarks' GBNF states and a regex at DeepSeek-V3's
// vocabulary: a Trie the host shares between policies must not hold up every other walk and cached mask
// for the milliseconds of a build.
func TestBuildsOutsideLock(t *testing.T) {
	vocab := deepSeekV3Vocab(t)
	trie := NewTrie(vocab)
	builds := map[string]int{}
	testHookBuilt = func(tr *Trie, what string) {
		builds[what]++
		if !tr.mu.TryLock() {
			t.Errorf("a %s was built with the Trie's lock held", what)
			return
		}
		tr.mu.Unlock()
	}
	defer func() { testHookBuilt = nil }()
	mask := make([]uint32, (len(vocab)+31)/32)
	for _, c := range gbnfStates {
		trie.Mask(gbnfState(t, c.grammar, c.prefix), mask)
	}
	re, err := Regex(`[A-Za-z ,.!?]{0,400}`)
	if err != nil {
		t.Fatal(err)
	}
	trie.Mask(re, mask)
	for _, what := range []string{"slice", "tails", "rest", "bits"} {
		if builds[what] == 0 {
			t.Errorf("no %s was built: the test no longer covers it (builds: %v)", what, builds)
		}
	}
}
