package policies

import (
	"bytes"
	"slices"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/constraint"
	"github.com/wasmoe/wasmoe/guest/internal/greedy"
	"github.com/wasmoe/wasmoe/guest/sdk"
)

// vocab is what a Policy knows of its model, built once per instance.
type vocab struct {
	info    sdk.ModelInfo
	raw     [][]byte  // each token's bytes as the vocab import gives them (control tokens carry their text)
	text    [][]byte  // each token's streamed bytes: nil for control, unknown and unused tokens
	sorted  []int32   // ids of the tokens with text, by text (prefix lookups)
	eog     []int32   // end-of-generation ids (eos, eot)
	wsOnly  []int32   // tokens whose text is all whitespace
	control []int32   // control tokens with raw bytes, end-of-generation ones excepted
	words   int       // mask words over NTokens
	pairs   [][]int32 // by byte pair b0<<8|b1: the tokens whose text contains it (banned words' lookup)

	trie      *constraint.Trie
	spell     *greedy.Encoder // normal and byte tokens: the text kept before a stop string
	maxSplice int             // tokens one splice may add (the splice buffer's size)
	closeToks []int32         // the think-close splice, found on first use; nil = not yet
	closeErr  error
}

// streamed reports whether a token type's bytes reach the client's text.
func streamed(t uint8) bool {
	switch int32(t) {
	case abi.TokenControl, abi.TokenUnknown, abi.TokenUnused:
		return false
	}
	return true
}

func newVocab(info sdk.ModelInfo, t *sdk.TokenTable) *vocab {
	n := min(len(t.Tokens), info.NTokens)
	v := &vocab{info: info, raw: t.Tokens[:n], text: make([][]byte, n), words: sdk.MaskWords(n)}
	for i, b := range v.raw {
		if len(b) > 0 && i < len(t.Types) && int32(t.Types[i]) == abi.TokenControl && int32(i) != info.EOS && int32(i) != info.EOT {
			v.control = append(v.control, int32(i))
		}
		if len(b) == 0 || i < len(t.Types) && !streamed(t.Types[i]) {
			continue
		}
		v.text[i] = b
		v.sorted = append(v.sorted, int32(i))
		if len(bytes.Trim(b, wsBytes)) == 0 {
			v.wsOnly = append(v.wsOnly, int32(i))
		}
	}
	slices.SortFunc(v.sorted, func(a, b int32) int { return bytes.Compare(v.text[a], v.text[b]) })
	v.pairs = pairIndex(v.text, v.sorted)
	v.trie = constraint.NewTrie(v.text)
	v.spell = greedy.New(&sdk.TokenTable{Tokens: v.raw, Types: t.Types}, abi.TokenNormal, abi.TokenByte)
	v.maxSplice = min(sdk.DefaultSplice, info.MaxSplice, abi.MaxCount)
	for _, id := range []int32{info.EOS, info.EOT} {
		if id >= 0 && int(id) < n && !slices.Contains(v.eog, id) {
			v.eog = append(v.eog, id)
		}
	}
	return v
}

// wsBytes is the whitespace skipped after </think>.
const wsBytes = " \t\r\n"

// pairIndex lists, for each byte pair b0<<8|b1, the tokens (of ids) whose text contains it, each once,
// in one allocation: a counting pass, then a filling one.
func pairIndex(text [][]byte, ids []int32) [][]int32 {
	var count [1 << 16]int32
	var last [1 << 16]int32 // the last token counted for each pair, plus one
	total := 0
	walk := func(f func(pair int, id int32)) {
		clear(last[:])
		for _, id := range ids {
			t := text[id]
			for i := 1; i < len(t); i++ {
				if pair := int(t[i-1])<<8 | int(t[i]); last[pair] != id+1 {
					last[pair] = id + 1
					f(pair, id)
				}
			}
		}
	}
	walk(func(pair int, _ int32) { count[pair]++; total++ })
	flat := make([]int32, 0, total)
	pairs := make([][]int32, 1<<16)
	for pair, n := range count {
		pairs[pair] = flat[len(flat) : len(flat) : len(flat)+int(n)]
		flat = flat[:len(flat)+int(n)]
	}
	walk(func(pair int, id int32) { pairs[pair] = append(pairs[pair], id) })
	return pairs
}

// containing calls f for every token whose text contains w, in no particular order: a scan of the
// tokens for one byte, else of the tokens that contain w's rarest byte pair.
func (v *vocab) containing(w []byte, f func(id int32)) {
	candidates := v.sorted
	if len(w) >= 2 {
		for i := 1; i < len(w); i++ {
			if l := v.pairs[int(w[i-1])<<8|int(w[i])]; i == 1 || len(l) < len(candidates) {
				candidates = l
			}
		}
	}
	for _, id := range candidates {
		if bytes.Contains(v.text[id], w) {
			f(id)
		}
	}
}

// isEOG reports whether id ends generation.
func (v *vocab) isEOG(id int32) bool { return slices.Contains(v.eog, id) }

// rawBytes is a token's raw bytes, nil for an id out of range.
func (v *vocab) rawBytes(id int32) []byte {
	if id < 0 || int(id) >= len(v.raw) {
		return nil
	}
	return v.raw[id]
}

// textBytes is a token's streamed bytes, nil for an id out of range.
func (v *vocab) textBytes(id int32) []byte {
	if id < 0 || int(id) >= len(v.text) {
		return nil
	}
	return v.text[id]
}

// withPrefix calls f for every token whose text starts with p.
func (v *vocab) withPrefix(p []byte, f func(id int32)) {
	i, _ := slices.BinarySearchFunc(v.sorted, p, func(id int32, p []byte) int { return bytes.Compare(v.text[id], p) })
	for ; i < len(v.sorted) && bytes.HasPrefix(v.text[v.sorted[i]], p); i++ {
		f(v.sorted[i])
	}
}

// tokenize matches s greedily, longest token first, against the token texts; false if some byte has no
// token.
func (v *vocab) tokenize(s []byte) ([]int32, bool) {
	var ids []int32
	for len(s) > 0 {
		best, n := int32(-1), 0
		// Every token that is a prefix of s sorts at or before s, among the tokens that share s's first byte.
		for k := 1; k <= len(s); k++ {
			i, found := slices.BinarySearchFunc(v.sorted, s[:k], func(id int32, p []byte) int { return bytes.Compare(v.text[id], p) })
			if found {
				best, n = v.sorted[i], k
			}
		}
		if best < 0 {
			return nil, false
		}
		ids = append(ids, best)
		s = s[n:]
	}
	return ids, true
}

// thinkClose returns the tokens spliced to close a thinking block: "\n", think_close, "\n\n" when the
// model has a think_close token, else the text "\n</think>\n\n" tokenized greedily.
func (v *vocab) thinkClose() ([]int32, error) {
	if v.closeToks != nil || v.closeErr != nil {
		return v.closeToks, v.closeErr
	}
	var ok bool
	if c := v.info.ThinkClose; c >= 0 && int(c) < len(v.raw) {
		nl, ok1 := v.tokenize([]byte("\n"))
		nn, ok2 := v.tokenize([]byte("\n\n"))
		v.closeToks, ok = slices.Concat(nl, []int32{c}, nn), ok1 && ok2
	} else {
		v.closeToks, ok = v.tokenize([]byte("\n" + thinkCloseText + "\n\n"))
	}
	if !ok {
		v.closeToks, v.closeErr = nil, badConfig("think_budget: the vocabulary cannot spell %q", "\n"+thinkCloseText+"\n\n")
	}
	return v.closeToks, v.closeErr
}

// The texts that open and close a thinking block.
const (
	thinkOpenText  = "<think>"
	thinkCloseText = "</think>"
)
