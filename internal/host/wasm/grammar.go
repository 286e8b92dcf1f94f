package wasm

import (
	"crypto/sha256"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/constraint"
)

// gbnf_mask and json_schema_mask (guest/ABI-v1.md, "Grammar masks") compute a GBNF grammar's or a JSON
// Schema's token mask on the host with guest/constraint, the code a guest would run itself, compiled
// natively: Go's wasm runs that walk 15–20 times slower than native code, which is most of a constrained
// step's time in a guest. The answer is the same bit for bit; only who computes it changes.
//
// The calls are stateless for the guest (the grammar's or schema's text and the text so far, every
// time); the host keeps, per instance, the matchers the last calls fed, so a call whose text extends an
// earlier one's feeds only the new bytes. Every instance of every policy of a model that imports either
// masks on one token trie, built when the first such policy starts (a Trie is safe for concurrent use).

// minFedMatchers is how many fed matchers an instance keeps at the least: one per sequence of its request,
// forks included, up to the policy's MaxForks when that is more; past it the least recently used is
// dropped and fed again from the start (compiled again, for a schema) when needed.
const minFedMatchers = 8

// maxFedBytes bounds the text an instance's matchers keep together (their arenas grow with it): past it
// the least recently used are dropped, and a longer text is fed for its call only.
const maxFedBytes = 16 << 20

// maxHostGrammar is the longest grammar or schema text the mask imports compile: compiling is not
// interrupted at the deadline, so a longer one gets ErrNotReady and the guest masks it itself.
const maxHostGrammar = 1 << 20

// feedCheckEvery is how many bytes a mask import feeds a matcher between looks at the deadline.
const feedCheckEvery = 256

// maskKind is which constraint a mask import's spec is: the import's name says it.
type maskKind uint8

// The kinds of maskKind.
const (
	maskGBNF       maskKind = iota // gbnf_mask: a GBNF grammar
	maskJSONSchema                 // json_schema_mask: a JSON Schema
)

// matcher compiles a spec of kind k.
func (k maskKind) matcher(spec []byte) (constraint.Matcher, error) {
	if k == maskJSONSchema {
		return constraint.JSONSchema(spec)
	}
	return constraint.GBNF(string(spec))
}

// grammarFuncs are the gbnf_mask and json_schema_mask imports.
func grammarFuncs() []hostFunc {
	mask := func(k maskKind) func(inst *instance, stack []uint64) {
		return func(inst *instance, stack []uint64) {
			inst.stopPastDeadline()
			for i := range stack[:6] { // i32 arguments, as ctlFunc takes them
				stack[i] = uint64(uint32(stack[i]))
			}
			stack[0] = uint64(uint32(inst.constraintMask(k, stack[:6])))
			inst.stopPastDeadline()
		}
	}
	return []hostFunc{
		{hostModuleV1, abi.ImportGBNFMask, sig(6, 1), mask(maskGBNF)},
		{hostModuleV1, abi.ImportJSONSchemaMask, sig(6, 1), mask(maskJSONSchema)},
	}
}

// constraintMask answers gbnf_mask and json_schema_mask (spec ptr, len, text ptr, len, mask ptr, words):
// flags or a status.
func (inst *instance) constraintMask(k maskKind, a []uint64) (status int32) {
	if inst.ctl == nil || inst.ctl.policy.trie == nil {
		return notReady
	}
	tr := inst.ctl.policy.trie
	mem := inst.mod.memory()
	src, ok1 := bytesAt(mem, a[0], a[1])
	text, ok2 := bytesAt(mem, a[2], a[3])
	out, ok3 := int32sAt(mem, a[4], int(a[5]))
	if !ok1 || !ok2 || !ok3 || len(out) < max(tr.words, 1) {
		return abi.ErrBadInput
	}
	if len(src) > maxHostGrammar {
		return notReady
	}
	defer func() { // a bug in the matcher fails this call, never the host
		if r := recover(); r != nil {
			inst.grammars.drop()
			inst.log.printf("[host] %s failed: %v\n", [...]string{abi.ImportGBNFMask, abi.ImportJSONSchemaMask}[k], r)
			status = abi.ErrInternal
		}
	}()
	fm, status := inst.grammars.fed(k, src, text, inst.deadline, max(minFedMatchers, inst.ctl.policy.limits.MaxForks))
	if status != abi.OK {
		return status
	}
	mask := unsafe.Slice((*uint32)(unsafe.Pointer(&out[0])), len(out))
	if err := tr.t.MaskBefore(fm.m, mask[:tr.words], inst.deadline); err != nil {
		inst.grammars.forget(fm) // its state is undefined now
		return abi.ErrLimit
	}
	clear(mask[tr.words:])
	switch {
	case fm.m.Done():
		return abi.GBNFAccepting | abi.GBNFDone
	case fm.m.Accepting():
		return abi.GBNFAccepting
	}
	return 0
}

// fedGrammars are an instance's matchers, each fed some text of some grammar, least recently used first.
type fedGrammars struct{ list []*fedMatcher }

// fedMatcher is a grammar's or schema's matcher after text.
type fedMatcher struct {
	kind maskKind
	src  string
	text []byte
	m    constraint.Matcher
}

// fed returns a matcher of kind k and spec src after text: the kept one whose text is the longest prefix
// of text, fed the rest, else a new one, keeping at most keep. ErrBadInput when src does not compile or
// refuses text, ErrLimit when the deadline passes while feeding.
func (g *fedGrammars) fed(k maskKind, src, text []byte, deadline time.Time, keep int) (*fedMatcher, int32) {
	var fm *fedMatcher
	at := -1
	for i, f := range g.list {
		if f.kind == k && f.src == string(src) && len(f.text) <= len(text) && string(f.text) == string(text[:len(f.text)]) &&
			(fm == nil || len(f.text) > len(fm.text)) {
			fm, at = f, i
		}
	}
	if fm == nil {
		m, err := k.matcher(src)
		if err != nil {
			return nil, abi.ErrBadInput
		}
		fm = &fedMatcher{kind: k, src: string(src), m: m}
		if len(g.list) >= keep {
			g.list = slices.Delete(g.list, 0, 1)
		}
	} else {
		g.list = slices.Delete(g.list, at, at+1)
	}
	for i, b := range text[len(fm.text):] {
		if i%feedCheckEvery == feedCheckEvery-1 && !deadline.IsZero() && !time.Now().Before(deadline) {
			return nil, abi.ErrLimit // fm is dropped: its text no longer says its state
		}
		if !fm.m.Advance(b) {
			return nil, abi.ErrBadInput
		}
	}
	fm.text = append(fm.text, text[len(fm.text):]...)
	g.list = append(g.list, fm)
	kept := 0
	for i := len(g.list) - 1; i >= 0; i-- {
		if kept += len(g.list[i].text); kept > maxFedBytes {
			g.list = slices.Delete(g.list, 0, i+1) // fm is this call's even when it is not kept
			break
		}
	}
	return fm, abi.OK
}

// forget drops one matcher.
func (g *fedGrammars) forget(fm *fedMatcher) {
	if i := slices.Index(g.list, fm); i >= 0 {
		g.list = slices.Delete(g.list, i, i+1)
	}
}

// drop forgets every matcher.
func (g *fedGrammars) drop() { g.list = nil }

// grammarTrie is the token trie the mask imports mask on, shared by the policies of one vocabulary.
type grammarTrie struct {
	key   [32]byte // the TokenTable blob's SHA-256
	t     *constraint.Trie
	words int // mask words over the tokens
	refs  int // policies using it
}

// grammarTries are the shared tries by vocabulary.
var grammarTries struct {
	sync.Mutex
	byVocab map[[32]byte]*grammarTrie
}

// acquireGrammarTrie returns the trie of a policy model's streamed tokens (those a guest's text holds:
// not control, unknown or unused ones), building it for the first policy of that vocabulary.
func acquireGrammarTrie(m *PolicyModel, blob []byte) *grammarTrie {
	key := sha256.Sum256(blob)
	grammarTries.Lock()
	defer grammarTries.Unlock()
	if gt := grammarTries.byVocab[key]; gt != nil {
		gt.refs++
		return gt
	}
	texts := make([][]byte, len(m.Pieces))
	for i, p := range m.Pieces {
		if i >= len(m.Types) || streamedType(m.Types[i]) {
			texts[i] = p
		}
	}
	gt := &grammarTrie{key: key, t: constraint.NewTrie(texts), words: (len(m.Pieces) + 31) / 32, refs: 1}
	if grammarTries.byVocab == nil {
		grammarTries.byVocab = map[[32]byte]*grammarTrie{}
	}
	grammarTries.byVocab[key] = gt
	return gt
}

// release gives the trie back; the last policy's release drops it.
func (gt *grammarTrie) release() {
	grammarTries.Lock()
	defer grammarTries.Unlock()
	if gt.refs--; gt.refs == 0 {
		delete(grammarTries.byVocab, gt.key)
	}
}

// streamedType reports whether tokens of an abi.Token* type reach a sequence's text, as the SDK's
// policies count them.
func streamedType(t int32) bool {
	return t != abi.TokenControl && t != abi.TokenUnknown && t != abi.TokenUnused
}

// importsHostMasks reports whether a compiled module imports gbnf_mask or json_schema_mask.
func importsHostMasks(cm compiledModule) bool {
	for _, imp := range cm.imports() {
		if imp.module == hostModuleV1 && (imp.name == abi.ImportGBNFMask || imp.name == abi.ImportJSONSchemaMask) {
			return true
		}
	}
	return false
}
