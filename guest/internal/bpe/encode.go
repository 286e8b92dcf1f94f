package bpe

import (
	"slices"
	"sync"
)

// scratch is the reusable memory of one Encode call.
type scratch struct {
	text      text
	ends, tmp []int32
	merge     mergeScratch
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Encode returns the token ids of text. With addSpecial, BOS is prepended if the vocabulary asks for it
// (AddBOS) and EOS appended likewise (AddEOS). With parseSpecial, CONTROL tokens spelled out in the text
// become their ids; USER_DEFINED tokens always do, as in llama.cpp.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	var out []int32
	if addSpecial && t.addBOS {
		out = append(out, t.bos)
	}
	sc := scratchPool.Get().(*scratch)
	for _, f := range t.added.partition(text, parseSpecial) {
		if f.id >= 0 {
			out = append(out, f.id)
		} else {
			out = t.encodeText(text[f.start:f.end], out, sc)
		}
	}
	scratchPool.Put(sc)
	if addSpecial && t.addEOS {
		out = append(out, t.eos)
	}
	return out
}

// encodeText appends the tokens of raw text (no added tokens in it) to out.
func (t *Tokenizer) encodeText(s string, out []int32, sc *scratch) []int32 {
	if s == "" {
		return out
	}
	sc.text.reset(s)
	sc.ends, sc.tmp = t.pre.steps.split(&sc.text, sc.ends, sc.tmp)
	start := int32(0)
	for _, end := range sc.ends {
		piece := s[sc.text.off[start]:sc.text.off[end]]
		start = end
		if ids, ok := t.cache.get(piece); ok {
			out = append(out, ids...)
			continue
		}
		n := len(out)
		if id, ok := t.wholeToken(piece, sc); ok {
			out = append(out, id)
		} else {
			out = t.merger.encode(piece, out, &sc.merge)
		}
		t.cache.put(piece, slices.Clone(out[n:]))
	}
	return out
}

// wholeToken implements ignore_merges: a piece that is a vocabulary entry is that token.
func (t *Tokenizer) wholeToken(piece string, sc *scratch) (int32, bool) {
	if !t.pre.ignoreMerges {
		return 0, false
	}
	return t.merger.wholeToken(piece, &sc.merge.buf)
}
