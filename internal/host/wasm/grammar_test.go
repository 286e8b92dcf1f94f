package wasm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/constraint"
	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// grammarSamples are outputs of llama.cpp's grammars (guest/constraint/testdata/gbnf) that grammarModel's
// tokens are cut from, so that the grammars take many of them.
var grammarSamples = map[string]string{
	"json.gbnf":       `{"name": "ab\"c", "a": [1, {"x": -2.5e3}, null], "ok": true, "é": "日本"}`,
	"c.gbnf":          "int main(){if(a<b){x = 1;} return f(a, b); /* hi */\n}",
	"arithmetic.gbnf": "(((ab+2)*c)-d/x1)",
	"japanese.gbnf":   "あいうえお、日本語です。",
}

// grammarModel is a model of n tokens: <s> (control), </s> (control, end of generation), the 256 single
// bytes, and pieces of 1–8 bytes cut at random from grammarSamples (some cut inside a character).
func grammarModel(n int) *PolicyModel {
	rng := rand.New(rand.NewSource(5))
	m := &PolicyModel{NLogits: n + 3, NCtx: 4096, BOS: 0, EOS: 1, EOT: -1, ThinkOpen: -1, ThinkClose: -1,
		Pieces: [][]byte{[]byte("<s>"), []byte("</s>")}, Types: []int32{abi.TokenControl, abi.TokenControl}}
	for b := range 256 {
		m.Pieces, m.Types = append(m.Pieces, []byte{byte(b)}), append(m.Types, abi.TokenNormal)
	}
	var all string
	for _, s := range grammarSamples {
		all += s
	}
	for len(m.Pieces) < n {
		at := rng.Intn(len(all))
		m.Pieces, m.Types = append(m.Pieces, []byte(all[at:min(len(all), at+1+rng.Intn(8))])), append(m.Types, abi.TokenNormal)
	}
	return m
}

// The built-in policy's masks under a GBNF grammar come from the host's gbnf_mask, on either engine, and
// they are the masks the guest computes itself and the ones feeding every token's bytes to the grammar's
// matcher gives, along random outputs of llama.cpp's grammars.
func TestPolicyGBNFHostMasks(t *testing.T) {
	m := grammarModel(3000)
	guest, err := NewPolicy(newRuntimeConfig(t, Config{Engine: EngineWazero, guestGrammars: true}), builtin.Policy, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer guest.Close()
	if guest.trie != nil {
		t.Fatal("a runtime without grammar masks built a trie")
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		host, err := NewPolicy(newRuntimeConfig(t, Config{Engine: engine}), builtin.Policy, m, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer host.Close()
		if host.trie == nil {
			t.Fatal("the built-in policy imports gbnf_mask: the host should have built its trie")
		}
		rng := rand.New(rand.NewSource(9))
		for _, name := range slices.Sorted(maps.Keys(grammarSamples)) {
			src, err := os.ReadFile(filepath.Join(testutil.Root(), "guest/constraint/testdata/gbnf", name))
			if err != nil {
				t.Fatal(err)
			}
			native, err := constraint.GBNF(string(src))
			if err != nil {
				t.Fatal(err)
			}
			config, _ := json.Marshal(map[string]string{"grammar": string(src)})
			compareHostMasks(t, host, guest, m, config, maskGBNF, native, name, rng)
		}
		for name, schema := range hostMaskSchemas {
			native, err := constraint.JSONSchema([]byte(schema))
			if err != nil {
				t.Fatal(err)
			}
			config, _ := json.Marshal(map[string]json.RawMessage{"json_schema": json.RawMessage(schema)})
			for range 3 {
				compareHostMasks(t, host, guest, m, config, maskJSONSchema, native.Clone(), name, rng)
			}
		}
	})
}

// hostMaskSchemas are JSON schemas TestPolicyGBNFHostMasks masks along: recursion through $ref, enums of
// any type, bounded numbers and strings, and any JSON value.
var hostMaskSchemas = map[string]string{
	"tree": `{"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer", "minimum": -5, "maximum": 50},
		"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}}, "required": ["v"]}}, "$ref": "#/$defs/node"}`,
	"enum":   `{"type": "object", "properties": {"k": {"enum": ["a", 1, null, true, {"x": [2]}]}, "s": {"type": "string", "maxLength": 3}}}`,
	"any":    `{}`,
	"number": `{"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 1}`,
}

// compareHostMasks steps a request of config on the host and guest policies along a random output (10
// tokens at most) and checks each step's masks against each other and against feeding every token's bytes
// to native, the config's constraint as a native matcher, and that the host policy's masks came from the
// mask import of kind.
func compareHostMasks(t *testing.T, host, guest *Policy, m *PolicyModel, config []byte, kind maskKind, native constraint.Matcher, name string, rng *rand.Rand) {
	t.Helper()
	hs, hdone := openSequence(t, host, config)
	defer hdone()
	gs, gdone := openSequence(t, guest, config)
	defer gdone()
	ids, text := []int32{m.BOS}, ""
	for range 10 {
		ha, err1 := hs.Step(0, ids)
		ga, err2 := gs.Step(0, ids)
		if err1 != nil || err2 != nil || ha.Kind != ga.Kind {
			t.Fatalf("%s, after %q: %v, %v, or the actions differ (%d, %d)", name, text, err1, err2, ha.Kind, ga.Kind)
		}
		if !slices.ContainsFunc(hs.inst.grammars.list, func(f *fedMatcher) bool { return f.kind == kind }) {
			t.Fatalf("%s, after %q: the host computed no mask", name, text)
		}
		if native.Done() {
			return
		}
		if ha.mask == nil || ga.mask == nil {
			t.Fatalf("%s, after %q: no mask", name, text)
		}
		if !bytes.Equal(ha.mask, ga.mask) {
			t.Fatalf("%s, after %q: the host's mask differs from the guest's", name, text)
		}
		var allowed []int32
		for id, piece := range m.Pieces {
			if m.Types[id] != abi.TokenNormal {
				continue
			}
			got, want := ha.mask[id/8]&(1<<(id%8)) != 0, takes(native, piece)
			if got != want {
				t.Fatalf("%s, after %q: token %d %q: mask %v, matcher %v", name, text, id, piece, got, want)
			}
			if got {
				allowed = append(allowed, int32(id))
			}
		}
		if len(allowed) == 0 {
			return
		}
		next := allowed[rng.Intn(len(allowed))]
		for _, b := range m.Pieces[next] {
			native.Advance(b)
		}
		ids, text = []int32{next}, text+string(m.Pieces[next])
	}
}

// maskInstance is a policy instance for calling the mask imports directly: 256 KiB of memory, a shared
// trie of grammarModel(tokens) (released when tb ends), and the mask's words.
func maskInstance(tb testing.TB, tokens int) (*instance, *PolicyModel, int) {
	m := grammarModel(tokens)
	gt := acquireGrammarTrie(m, tokenTable(m))
	tb.Cleanup(gt.release)
	inst := &instance{mod: memModule(make([]byte, 1<<18)), ctl: &control{policy: &Policy{trie: gt}}}
	return inst, m, (len(m.Pieces) + 31) / 32
}

// streamedTrie is a private trie of m's normal tokens, the reference the shared one must agree with.
func streamedTrie(m *PolicyModel) *constraint.Trie {
	texts := make([][]byte, len(m.Pieces))
	for i, p := range m.Pieces {
		if m.Types[i] == abi.TokenNormal {
			texts[i] = p
		}
	}
	return constraint.NewTrie(texts)
}

// gbnfMaskCall calls gbnf_mask on inst with the grammar and text written into its memory and a mask of
// words words, and returns the status and the mask (the part of it in memory). The mask is at 0, the text
// at 64 KiB and the grammar after it.
func gbnfMaskCall(inst *instance, grammar, text string, words int) (int32, []uint32) {
	return maskCall(inst, maskGBNF, grammar, text, words)
}

// maskCall is gbnfMaskCall for the import of kind, spec being its grammar or schema.
func maskCall(inst *instance, kind maskKind, grammar, text string, words int) (int32, []uint32) {
	mem := inst.mod.memory()
	const textAt = 64 << 10
	grammarAt := textAt + len(text)
	clear(mem[:textAt])
	copy(mem[textAt:], text)
	copy(mem[grammarAt:], grammar)
	stack := []uint64{uint64(grammarAt), uint64(len(grammar)), textAt, uint64(len(text)), 0, uint64(words)}
	grammarFuncs()[kind].fn(inst, stack)
	mask := make([]uint32, min(words, len(mem)/4))
	for i := range mask {
		mask[i] = binary.LittleEndian.Uint32(mem[4*i:])
	}
	return int32(uint32(stack[0])), mask
}

// gbnf_mask itself: the mask of a grammar after a text, fed only what is new when the text grows; a clear
// status for bad input; no answer past the deadline.
func TestGBNFMaskImport(t *testing.T) {
	inst, m, words := maskInstance(t, 600)
	gt := inst.ctl.policy.trie
	const grammar = `root ::= "(" [a-z]+ ")"`
	native, _ := constraint.GBNF(grammar)
	for _, text := range []string{"", "(", "(ab", "(abc", "(abc)"} {
		st, mask := gbnfMaskCall(inst, grammar, text, words+2)
		m0 := native.Clone()
		for _, b := range []byte(text) {
			m0.Advance(b)
		}
		if want := map[bool]int32{false: 0, true: abi.GBNFAccepting | abi.GBNFDone}[m0.Done()]; st != want {
			t.Fatalf("after %q: status %d, want %d", text, st, want)
		}
		for id, piece := range m.Pieces {
			want := m.Types[id] == abi.TokenNormal && takes(m0, piece)
			if got := mask[id/32]&(1<<(id%32)) != 0; got != want {
				t.Fatalf("after %q: token %d %q: mask %v, matcher %v", text, id, piece, got, want)
			}
		}
		if mask[words] != 0 || mask[words+1] != 0 {
			t.Fatalf("after %q: the words past the tokens are not cleared", text)
		}
		if len(inst.grammars.list) != 1 || string(inst.grammars.list[0].text) != text {
			t.Fatalf("after %q: the instance keeps %d matchers, not the one fed the text", text, len(inst.grammars.list))
		}
	}
	for _, c := range []struct {
		name, grammar, text string
		words               int
		want                int32
	}{
		{"a grammar that does not compile", `root ::= (`, "", words, abi.ErrBadInput},
		{"a text the grammar refuses", grammar, "(a1", words, abi.ErrBadInput},
		{"a mask too short", grammar, "(", words - 1, abi.ErrBadInput},
		{"a mask past memory", grammar, "(", 1 << 20, abi.ErrBadInput},
	} {
		if st, _ := gbnfMaskCall(inst, c.grammar, c.text, c.words); st != c.want {
			t.Errorf("%s: status %d, want %d", c.name, st, c.want)
		}
	}
	for i := range 2 * minFedMatchers {
		gbnfMaskCall(inst, grammar, "("+strings.Repeat("a", i), words)
		gbnfMaskCall(inst, grammar+" ", "(", words)
	}
	if len(inst.grammars.list) > minFedMatchers {
		t.Errorf("the instance keeps %d matchers", len(inst.grammars.list))
	}
	// A policy whose requests may fork into more sequences keeps a matcher for each.
	forks := &instance{mod: inst.mod, ctl: &control{policy: &Policy{trie: gt, limits: Limits{MaxForks: 3 * minFedMatchers}}}}
	for _, more := range []string{"", "z"} { // a text per sequence, then each one grown
		for i := range 3 * minFedMatchers {
			gbnfMaskCall(forks, grammar, "("+string(rune('a'+i))+more, words)
		}
	}
	if n := len(forks.grammars.list); n != 3*minFedMatchers {
		t.Errorf("with MaxForks %d, the instance keeps %d matchers", 3*minFedMatchers, n)
	}
	long := &instance{mod: memModule(make([]byte, 1<<18+maxFedBytes)), ctl: inst.ctl}
	if st, _ := gbnfMaskCall(long, grammar+strings.Repeat(" ", maxHostGrammar), "(", words); st != abi.ErrNotReady {
		t.Errorf("a grammar past maxHostGrammar: status %d, want not ready (the guest masks it itself)", st)
	}
	if st, _ := gbnfMaskCall(long, grammar, "("+strings.Repeat("a", maxFedBytes), words); st != 0 || len(long.grammars.list) != 0 {
		t.Errorf("a text past maxFedBytes: status %d, %d matchers kept, want it masked and not kept", st, len(long.grammars.list))
	}
	if st, _ := gbnfMaskCall(&instance{mod: inst.mod, ctl: &control{policy: &Policy{}}}, grammar, "", words); st != abi.ErrNotReady {
		t.Errorf("a policy without the trie: status %d, want not ready", st)
	}
	// A walk that reaches the deadline gives up (ErrLimit, the wrapper then stops the guest) and drops its
	// matcher, whose state is undefined after it.
	inst.deadline = time.Now().Add(-time.Millisecond)
	other := grammar + " # another program, so no cached mask answers"
	copy(inst.mod.memory(), other)
	copy(inst.mod.memory()[1<<16:], "(a")
	if st := inst.constraintMask(maskGBNF, []uint64{0, uint64(len(other)), 1 << 16, 2, 1 << 17, uint64(words)}); st != abi.ErrLimit {
		t.Errorf("a walk past the deadline: status %d, want ErrLimit", st)
	}
	for _, f := range inst.grammars.list {
		if f.src == other {
			t.Error("the matcher of a walk that gave up is kept")
		}
	}
	defer func() {
		if _, ok := recover().(*trap); !ok {
			t.Error("a call past the deadline returned to the guest")
		}
	}()
	gbnfMaskCall(inst, grammar, "(", words)
}

// json_schema_mask itself: a schema's mask and flags after a text are a native matcher's, and bad input
// gets a clear status.
func TestJSONSchemaMaskImport(t *testing.T) {
	inst, m, words := maskInstance(t, 600)
	const schema = `{"type": "object", "properties": {"a": {"enum": [1, "x"]}}, "required": ["a"], "additionalProperties": false}`
	for _, c := range []struct {
		text  string
		flags int32
	}{{"", 0}, {`{"a"`, 0}, {`{"a": 1`, 0}, {`{"a": 1}`, abi.GBNFAccepting | abi.GBNFDone}} {
		st, mask := maskCall(inst, maskJSONSchema, schema, c.text, words)
		if st != c.flags {
			t.Errorf("after %q: status %d, want %d", c.text, st, c.flags)
		}
		if st&abi.GBNFDone != 0 {
			continue
		}
		native, err := constraint.JSONSchema([]byte(schema))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(c.text); i++ {
			native.Advance(c.text[i])
		}
		allowed := 0
		for id, piece := range m.Pieces {
			got := mask[id/32]&(1<<(id%32)) != 0
			if want := m.Types[id] == abi.TokenNormal && takes(native, piece); got != want {
				t.Fatalf("after %q: token %d %q: mask %v, matcher %v", c.text, id, piece, got, want)
			}
			if got {
				allowed++
			}
		}
		if allowed == 0 {
			t.Errorf("after %q: no token allowed; the vocabulary does not test the mask", c.text)
		}
	}
	for _, c := range []struct{ schema, text string }{
		{`{"type": "object"`, ""},                               // not JSON
		{`{"type": "integer", "minimum": 5, "maximum": 1}`, ""}, // no JSON text satisfies it
		{`{"type": "integer"}`, `"a`},                           // refused text
		{`{"if": {}}`, ""},                                      // an unsupported keyword
	} {
		if st, _ := maskCall(inst, maskJSONSchema, c.schema, c.text, words); st != abi.ErrBadInput {
			t.Errorf("schema %s after %q: status %d, want ErrBadInput", c.schema, c.text, st)
		}
	}
	if st, _ := maskCall(inst, maskJSONSchema, schema, "", words-1); st != abi.ErrBadInput {
		t.Errorf("a short mask: status %d, want ErrBadInput", st)
	}
	// A GBNF grammar's matcher is never a schema's, though their texts be equal.
	if st, _ := maskCall(inst, maskGBNF, `root ::= "1"`, "", words); st != 0 {
		t.Fatalf("gbnf: status %d", st)
	}
	if st, _ := maskCall(inst, maskJSONSchema, `root ::= "1"`, "", words); st != abi.ErrBadInput {
		t.Errorf("a grammar as a schema: status %d, want ErrBadInput", st)
	}
}

// Instances on many goroutines mask on one shared trie at once (run with -race): each gets the masks a
// trie of its own gives.
func TestGBNFMaskShared(t *testing.T) {
	m := grammarModel(2000)
	gt := acquireGrammarTrie(m, tokenTable(m))
	defer gt.release()
	if again := acquireGrammarTrie(m, tokenTable(m)); again != gt {
		t.Fatal("a second policy of the vocabulary got a trie of its own")
	} else {
		again.release()
	}
	private := streamedTrie(m)
	words := (len(m.Pieces) + 31) / 32
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst := &instance{mod: memModule(make([]byte, 1<<18)), ctl: &control{policy: &Policy{trie: gt}}}
			name := []string{"json.gbnf", "c.gbnf", "arithmetic.gbnf", "japanese.gbnf"}[g]
			src, err := os.ReadFile(filepath.Join(testutil.Root(), "guest/constraint/testdata/gbnf", name))
			if err != nil {
				errs <- err.Error()
				return
			}
			sample, checked := grammarSamples[name], 0
			for n := 0; n <= len(sample); n++ {
				text := sample[:n]
				st, mask := gbnfMaskCall(inst, string(src), text, words)
				if st < 0 {
					continue // past where the grammar refuses the sample
				}
				checked++
				ref, _ := constraint.GBNF(string(src))
				for _, b := range []byte(text) {
					ref.Advance(b)
				}
				want := make([]uint32, words)
				private.Mask(ref, want)
				if !slices.Equal(mask, want) {
					errs <- fmt.Sprintf("%s after %q: the shared trie's mask differs from a private one's", name, text)
					return
				}
			}
			if checked < len(sample)/2 {
				errs <- fmt.Sprintf("%s: the grammar refuses its sample early: %d prefixes checked", name, checked)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// FuzzMaskImports calls gbnf_mask and json_schema_mask (schema) with arbitrary grammars or schemas and
// texts on one instance (so calls reuse and extend its kept matchers): an answer is -1 exactly where the
// grammar or schema does not compile or refuses the text, and otherwise the mask and flags of its matcher
// fed the text on a trie of its own.
func FuzzMaskImports(f *testing.F) {
	for name, sample := range grammarSamples {
		src, err := os.ReadFile(filepath.Join(testutil.Root(), "guest/constraint/testdata/gbnf", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(false, string(src), sample[:len(sample)/2])
	}
	for _, text := range []string{"(", "(ab", "(abc", "(abc)", "(ab"} { // one grammar's text growing: fed only what is new
		f.Add(false, `root ::= "(" [a-z]+ ")"`, text)
	}
	f.Add(false, `root ::= (`, "")
	for name, schema := range hostMaskSchemas {
		f.Add(true, schema, map[string]string{"tree": `{"v": 3, "kids": [{"v"`, "enum": `{"k": {"x": [`,
			"any": `[1, {"a": nu`, "number": `[0.5, 1e`}[name])
	}
	for _, text := range []string{"[", "[1", "[1, 2", "[1, 2]"} {
		f.Add(true, `{"type": "array", "items": {"type": "integer"}}`, text)
	}
	f.Add(true, `{"type": `, "")
	inst, m, words := maskInstance(f, 400)
	private := streamedTrie(m)
	f.Fuzz(func(t *testing.T, schema bool, grammar, text string) {
		if len(grammar) > 4096 || len(text) > 4096 {
			return
		}
		kind := maskGBNF
		if schema {
			kind = maskJSONSchema
		}
		st, mask := maskCall(inst, kind, grammar, text, words)
		ref, err := kind.matcher([]byte(grammar))
		taken := err == nil
		for i := 0; taken && i < len(text); i++ {
			taken = ref.Advance(text[i])
		}
		if !taken {
			if st != abi.ErrBadInput {
				t.Fatalf("%q after %q: status %d, want -1 (bad input)", grammar, text, st)
			}
			return
		}
		want := make([]uint32, words)
		private.Mask(ref, want)
		flags := int32(0)
		if ref.Done() {
			flags = abi.GBNFAccepting | abi.GBNFDone
		} else if ref.Accepting() {
			flags = abi.GBNFAccepting
		}
		if st != flags || !slices.Equal(mask, want) {
			t.Fatalf("%q after %q: status %d (want %d), or the mask differs from a private trie's", grammar, text, st, flags)
		}
	})
}
