package constraint

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var gbnfOracle = flag.String("gbnf-oracle", "", "llama.cpp's oracle program (testdata/gbnf/README.md): rewrite testdata/gbnf/oracle.txt")

// recognizer decides membership by backtracking over a parsed grammar's rules, code point by code
// point: a second, much simpler implementation than the matcher's parse stacks, for checking them.
// Rules that reach themselves without consuming anything are solved by iterating to a fixed point: a
// rule met again while it is being matched gives the ends it had in the pass before.
type recognizer struct {
	p       *gbnfParser
	in      []rune
	prev    map[[2]int][]int // (rule, start) → the ends of its matches, in the last pass
	memo    map[[2]int][]int // the same in this pass
	busy    map[[2]int]bool
	tail    map[[4]int][]int // (rule, alternative, symbol, start) → the ends of the alternative's rest
	changed bool             // some rule has more ends than in the last pass
}

// parsedGrammars caches the recognizer's parses by source.
var parsedGrammars = map[string]*gbnfParser{}

// recognize reports whether s is a word of the grammar src.
func recognize(t *testing.T, src, s string) bool {
	p, ok := parsedGrammars[src]
	if !ok {
		var err error
		if p, err = parseGBNF(src); err != nil {
			t.Fatal(err)
		}
		if len(parsedGrammars) > 1000 { // the fuzzer's grammars
			clear(parsedGrammars)
		}
		parsedGrammars[src] = p
	}
	if !utf8.ValidString(s) {
		return false
	}
	r := &recognizer{p: p, in: []rune(s), prev: map[[2]int][]int{}}
	for {
		r.memo, r.busy, r.tail, r.changed = map[[2]int][]int{}, map[[2]int]bool{}, map[[4]int][]int{}, false
		ends := r.rule(int(p.ids["root"]), 0)
		if !r.changed {
			return slices.Contains(ends, len(r.in))
		}
		r.prev = r.memo
	}
}

// rule returns the ends of rule id's matches from i.
func (r *recognizer) rule(id, i int) []int {
	k := [2]int{id, i}
	if e, ok := r.memo[k]; ok {
		return e
	}
	if r.busy[k] {
		return r.prev[k]
	}
	r.busy[k] = true
	var ends []int
	for a := range r.p.rules[id].alts {
		for _, e := range r.seq(id, a, 0, i) {
			if !slices.Contains(ends, e) {
				ends = append(ends, e)
			}
		}
	}
	delete(r.busy, k)
	r.memo[k] = ends
	if len(ends) != len(r.prev[k]) {
		r.changed = true
	}
	return ends
}

// seq returns the ends of the matches from i of alternative a of rule id from its symbol j on.
func (r *recognizer) seq(id, a, j, i int) []int {
	alt := r.p.rules[id].alts[a]
	if j == len(alt) {
		return []int{i}
	}
	k := [4]int{id, a, j, i}
	if e, ok := r.tail[k]; ok {
		return e
	}
	var firsts []int
	if s := alt[j]; s.rule >= 0 {
		firsts = r.rule(int(s.rule), i)
	} else if i < len(r.in) && inRanges(r.p.classes[s.cls], r.in[i]) {
		firsts = []int{i + 1}
	}
	var ends []int
	for _, f := range firsts {
		for _, e := range r.seq(id, a, j+1, f) {
			if !slices.Contains(ends, e) {
				ends = append(ends, e)
			}
		}
	}
	r.tail[k] = ends
	return ends
}

// inRanges reports whether c is in one of rs.
func inRanges(rs []crange, c rune) bool {
	for _, x := range rs {
		if x.lo <= c && c <= x.hi {
			return true
		}
	}
	return false
}

// gbnfWalk returns a random word of m's language: bytes drawn uniformly from those m accepts, ending with
// probability 1/8 at each accepting point (or at Done); ok is false when no end came within max bytes.
func gbnfWalk(m Matcher, rng *rand.Rand, max int) (string, bool) {
	m = m.Clone()
	s := m.(Snapshotter)
	var out []byte
	var allowed []byte
	for len(out) < max {
		if m.Done() || m.Accepting() && rng.Intn(8) == 0 {
			return string(out), true
		}
		allowed = allowed[:0]
		for b := 0; b < 256; b++ {
			h := s.Snapshot()
			if m.Advance(byte(b)) {
				allowed = append(allowed, byte(b))
			}
			s.Restore(h)
		}
		if len(allowed) == 0 {
			panic(fmt.Sprintf("dead end after %q", out))
		}
		b := allowed[rng.Intn(len(allowed))]
		m.Advance(b)
		out = append(out, b)
	}
	return string(out), false
}

// gbnfMutate returns s with a random edit: a byte or character deleted, inserted, replaced, or the end cut.
func gbnfMutate(s string, rng *rand.Rand) string {
	alphabet := []string{"a", "0", " ", "\n", "\"", "{", "}", "[", "]", ",", ":", "-", "(", ")", "+", "=", "é", "ひ", "x", "\\"}
	i := 0
	if len(s) > 0 {
		i = rng.Intn(len(s) + 1)
	}
	switch rng.Intn(4) {
	case 0:
		return s[:i]
	case 1:
		return s[:i] + alphabet[rng.Intn(len(alphabet))] + s[i:]
	case 2:
		if i < len(s) {
			return s[:i] + s[i+1:]
		}
	}
	if i < len(s) {
		return s[:i] + alphabet[rng.Intn(len(alphabet))] + s[i+1:]
	}
	return s + alphabet[rng.Intn(len(alphabet))]
}

// walkGrammars are the grammars of the differential tests: llama.cpp's grammars/, the cases above and
// those of testdata/gbnf/integration.jsonl.
func walkGrammars(t *testing.T) map[string]string {
	files, err := filepath.Glob("testdata/gbnf/*.gbnf")
	if err != nil || len(files) < 8 {
		t.Fatalf("testdata/gbnf: %v %v", files, err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(b)
	}
	for _, c := range llamaGrammarCases {
		out[c.name] = c.grammar
	}
	lines, err := os.ReadFile("testdata/gbnf/integration.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(lines)), "\n") {
		var c struct{ Name, Grammar string }
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatal(err)
		}
		out["integration: "+c.Name] = c.Grammar
	}
	return out
}

// gbnfGenerate returns a random word of the grammar src by a random derivation, independent of the
// matcher: random alternatives (the shortest past a depth of 12) and random characters of classes.
func gbnfGenerate(t *testing.T, src string, rng *rand.Rand) string {
	p, err := parseGBNF(src)
	if err != nil {
		t.Fatal(err)
	}
	const inf = 1 << 30
	short := make([]int, len(p.rules)) // each rule's shortest word, in characters
	altLen := func(alt []gsym) int {
		n := 0
		for _, s := range alt {
			if s.rule < 0 {
				n++
			} else {
				n += short[s.rule]
			}
		}
		return min(n, inf)
	}
	for i := range short {
		short[i] = inf
	}
	for changed := true; changed; {
		changed = false
		for i, r := range p.rules {
			for _, alt := range r.alts {
				if n := altLen(alt); n < short[i] {
					short[i], changed = n, true
				}
			}
		}
	}
	var out []rune
	var gen func(id, depth int)
	gen = func(id, depth int) {
		alts := p.rules[id].alts
		alt := alts[rng.Intn(len(alts))]
		if depth > 12 || altLen(alt) >= inf {
			for _, a := range alts {
				if altLen(a) < altLen(alt) {
					alt = a
				}
			}
		}
		for _, s := range alt {
			if s.rule >= 0 {
				gen(int(s.rule), depth+1)
				continue
			}
			rs := p.classes[s.cls]
			r := rs[rng.Intn(len(rs))]
			if r.hi-r.lo > 200 && rng.Intn(2) == 0 { // mostly near the start of wide ranges
				r.hi = r.lo + 200
			}
			out = append(out, r.lo+rune(rng.Intn(int(r.hi-r.lo)+1)))
		}
	}
	gen(int(p.ids["root"]), 0)
	return string(out)
}

// TestGBNFWalks: random words of each grammar's matcher are words for the backtracking recognizer,
// random derivations of the grammar are words for the matcher, and on random edits of either the
// matcher and the recognizer agree.
func TestGBNFWalks(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	grammars := walkGrammars(t)
	for _, name := range slices.Sorted(maps.Keys(grammars)) { // in order: the same draws each run
		src := grammars[name]
		m, err := GBNF(src)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		walks, tries, max := 0, 60, 300
		if strings.HasPrefix(name, "integration: ") { // many, and mostly like each other
			tries, max = 8, 100
		}
		for i := 0; i < tries; i++ {
			w, ok := gbnfWalk(m, rng, max)
			if ok {
				walks++
				if !recognize(t, src, w) {
					t.Errorf("%s: the matcher's word %q is no word", name, w)
				}
			}
			d := gbnfGenerate(t, src, rng)
			if !gbnfMatch(m, d) {
				t.Errorf("%s: the derivation %q is refused", name, d)
			}
			for j := 0; j < 4; j++ {
				e := gbnfMutate(d, rng)
				if ok && j%2 == 0 {
					e = gbnfMutate(w, rng)
				}
				if got, want := gbnfMatch(m, e), recognize(t, src, e); got != want {
					t.Errorf("%s: %q: matcher %v, recognizer %v", name, e, got, want)
				}
			}
		}
		if walks < tries/20 {
			t.Errorf("%s: only %d walks ended", name, walks)
		}
	}
}

// TestGBNFOracle compares the matcher with llama.cpp's verdicts on strings of its own grammars
// (testdata/gbnf/oracle.txt; -gbnf-oracle rewrites it).
func TestGBNFOracle(t *testing.T) {
	if *gbnfOracle != "" {
		writeOracle(t)
	}
	f, err := os.Open("testdata/gbnf/oracle.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	matchers := map[string]Matcher{}
	n, yes := 0, 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		s, err := hex.DecodeString(parts[2])
		if err != nil || len(parts) != 3 {
			t.Fatalf("oracle.txt: bad line %q", sc.Text())
		}
		m, ok := matchers[parts[0]]
		if !ok {
			src, err := os.ReadFile(filepath.Join("testdata/gbnf", parts[0]))
			if err != nil {
				t.Fatal(err)
			}
			if m, err = GBNF(string(src)); err != nil {
				t.Fatal(err)
			}
			matchers[parts[0]] = m
		}
		if got := gbnfMatch(m, string(s)); got != (parts[1] == "1") {
			t.Errorf("%s: %q: matcher %v, llama.cpp %s", parts[0], s, got, parts[1])
		}
		n++
		if parts[1] == "1" {
			yes++
		}
	}
	if n < 900 || yes < n/4 || yes > 3*n/4 {
		t.Errorf("oracle.txt: %d strings, %d accepted by llama.cpp", n, yes)
	}
}

// writeOracle asks llama.cpp's oracle for its verdicts on walks and edits of walks of each grammar file
// (valid UTF-8 without NUL, which ends a C string).
func writeOracle(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	var out strings.Builder
	files, _ := filepath.Glob("testdata/gbnf/*.gbnf")
	for _, f := range files {
		src, _ := os.ReadFile(f)
		m, err := GBNF(string(src))
		if err != nil {
			t.Fatal(err)
		}
		var in strings.Builder
		var strs []string
		for len(strs) < 120 {
			w, ok := gbnfWalk(m, rng, 120)
			if !ok {
				continue
			}
			for _, s := range []string{w, gbnfMutate(w, rng), gbnfMutate(gbnfMutate(w, rng), rng)} {
				if utf8.ValidString(s) && !strings.ContainsRune(s, 0) { // llama.cpp's strings end at NUL
					strs = append(strs, s)
					fmt.Fprintf(&in, "%x\n", s)
				}
			}
		}
		cmd := exec.Command(*gbnfOracle, f)
		cmd.Stdin = strings.NewReader(in.String())
		res, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		verdicts := strings.Fields(string(res))
		if len(verdicts) != len(strs) {
			t.Fatalf("%s: %d verdicts for %d strings", f, len(verdicts), len(strs))
		}
		for i, s := range strs {
			fmt.Fprintf(&out, "%s\t%s\t%x\n", filepath.Base(f), verdicts[i], s)
		}
	}
	if err := os.WriteFile("testdata/gbnf/oracle.txt", []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGBNFMask: the trie's mask for a GBNF matcher (the Snapshotter path) is exactly the tokens that a
// clone of the matcher consumes whole, at several points of random words.
func TestGBNFMask(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	src, err := os.ReadFile("testdata/gbnf/json.gbnf")
	if err != nil {
		t.Fatal(err)
	}
	m, err := GBNF(string(src))
	if err != nil {
		t.Fatal(err)
	}
	vocab := [][]byte{nil}
	for i := 0; i < 3000; i++ {
		w, _ := gbnfWalk(m, rng, 30)
		if len(w) > 0 {
			a := rng.Intn(len(w))
			vocab = append(vocab, []byte(w[a:min(len(w), a+1+rng.Intn(6))]))
		}
	}
	for b := 0; b < 256; b++ {
		vocab = append(vocab, []byte{byte(b)})
	}
	trie := NewTrie(vocab)
	mask := make([]uint32, (len(vocab)+31)/32)
	for i := 0; i < 10; i++ {
		w, _ := gbnfWalk(m, rng, 60)
		x := m.Clone()
		for j := 0; j < len(w); j++ {
			if j%7 == 0 || j == len(w)-1 {
				trie.Mask(x, mask)
				for id, tok := range vocab {
					want := len(tok) > 0 && gbnfMatchPrefix(x, tok)
					if got := mask[id/32]>>(id%32)&1 == 1; got != want {
						t.Fatalf("after %q, token %q: mask %v, want %v", w[:j], tok, got, want)
					}
				}
			}
			x.Advance(w[j])
		}
	}
}

// gbnfMatchPrefix reports whether a clone of m consumes all of tok.
func gbnfMatchPrefix(m Matcher, tok []byte) bool {
	m = m.Clone()
	for _, b := range tok {
		if !m.Advance(b) {
			return false
		}
	}
	return true
}
