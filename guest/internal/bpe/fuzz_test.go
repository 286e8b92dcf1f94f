package bpe

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// naiveMerge is the textbook BPE loop, written for clarity rather than speed: merge the lowest-ranked
// adjacent pair, leftmost on ties, until no pair has a merge. It checks merger.encode.
func naiveMerge(ranks map[[2]string]int, textID map[string]int32, piece string) []int32 {
	var syms []string
	for i := 0; i < len(piece); i++ {
		syms = append(syms, string(byteRune[piece[i]]))
	}
	for {
		best, at := -1, -1
		for i := 0; i+1 < len(syms); i++ {
			if r, ok := ranks[[2]string{syms[i], syms[i+1]}]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		syms = slices.Replace(syms, at, at+2, syms[at]+syms[at+1])
	}
	ids := make([]int32, len(syms))
	for i, s := range syms {
		ids[i] = textID[s]
	}
	return ids
}

var (
	ranksOnce sync.Once
	ranks     map[[2]string]int
	tokenIDs  map[string]int32
)

// qwen2Ranks returns the merge ranks and token ids of the qwen2 vocabulary, keyed by text.
func qwen2Ranks(t testing.TB) (map[[2]string]int, map[string]int32) {
	ranksOnce.Do(func() {
		v := loadVocab(t, "qwen2")
		ranks = make(map[[2]string]int, len(v.Merges))
		for i, m := range v.Merges {
			l, r, _ := strings.Cut(m, " ")
			if _, dup := ranks[[2]string{l, r}]; !dup {
				ranks[[2]string{l, r}] = i
			}
		}
		tokenIDs = make(map[string]int32, len(v.Tokens))
		for i, s := range v.Tokens {
			tokenIDs[s] = int32(i)
		}
	})
	return ranks, tokenIDs
}

func TestMergeMatchesNaive(t *testing.T) {
	tok := loadTokenizer(t, "qwen2")
	r, ids := qwen2Ranks(t)
	var sc mergeScratch
	for _, piece := range []string{"a", " the", "aaaaaaaaaaaaaaaa", "Hello", " 🦙🦙", "\xff\xfe\x00", "ababababab",
		"internationalization", "    ", "\n\n\n", "中华人民共和国", "llama.cpp", "))))]]]]"} {
		want := naiveMerge(r, ids, piece)
		if got := tok.merger.encode(piece, nil, &sc); !slices.Equal(got, want) {
			t.Errorf("encode(%q) = %v, naive BPE gives %v", piece, got, want)
		}
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", " \t\n\r\n  x  ", "'s 'LL 're", "中文 テキスト 한국어", "x^2 ∫ 🦙",
		"<|im_end|><|endoftext|>[PAD151650]", "<｜end▁of▁sentence｜>ø", "\xff\xc3(\xe2\x82", "12345678 3.14",
		"\u3000 \u00a0\u2000~a ~/ \u0301é"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, parseSpecial bool) {
		for _, name := range vocabNames {
			tok := loadTokenizer(t, name)
			ids := tok.Encode(text, false, parseSpecial)
			for _, id := range ids {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("%s: Encode(%q) gave id %d out of range", name, text, id)
				}
			}
			// Byte-level BPE loses nothing: added tokens decode to their text (CONTROL ones when asked to),
			// everything else to its bytes. That holds for invalid UTF-8 too where every byte has a token
			// of its own; the DeepSeek vocabularies spell the bytes that UTF-8 never uses (C0, C1, F5–FF)
			// with user-defined tokens whose text is the Latin-1 character instead.
			if !utf8.ValidString(text) && !everyByteHasToken(tok) {
				continue
			}
			if got := string(tok.Decode(ids, parseSpecial)); got != text {
				t.Fatalf("%s: Decode(Encode(%q, parseSpecial=%v)) = %q", name, text, parseSpecial, got)
			}
			// The piece cache must not change results.
			if again := tok.Encode(text, false, parseSpecial); !slices.Equal(again, ids) {
				t.Fatalf("%s: Encode(%q) not repeatable: %v then %v", name, text, ids, again)
			}
		}
		if text != "" && len(text) <= 64 {
			tok := loadTokenizer(t, "qwen2")
			r, ids := qwen2Ranks(t)
			var sc mergeScratch
			if got, want := tok.merger.encode(text, nil, &sc), naiveMerge(r, ids, text); !slices.Equal(got, want) {
				t.Fatalf("merge(%q) = %v, naive BPE gives %v", text, got, want)
			}
		}
		if utf8.ValidString(text) && !parseSpecial {
			tok := loadTokenizer(t, "qwen2")
			if got := string(tok.Decode(tok.Encode(text, true, false), true)); got != text {
				t.Fatalf("qwen2 adds no BOS, yet Decode(Encode(%q, addSpecial)) = %q", text, got)
			}
		}
	})
}

// everyByteHasToken reports whether each of the 256 bytes is spelled by a normal token that decodes to it.
func everyByteHasToken(tok *Tokenizer) bool {
	for b, id := range tok.merger.byteSym {
		if p := tok.Piece(id, false); len(p) != 1 || p[0] != byte(b) {
			return false
		}
	}
	return true
}
