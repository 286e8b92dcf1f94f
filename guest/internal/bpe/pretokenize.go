package bpe

import "unicode/utf8"

// Pre-tokenization cuts text into pieces that BPE then encodes one by one. Each model names a list of
// regexes (tokenizer.ggml.pre); they are applied one after another, each to every piece the previous one
// produced, with Hugging Face's Split/Isolated semantics: every match becomes a piece and so does every gap
// between matches. Go's regexp has neither look-ahead nor Unicode \s, so each regex is a hand-written
// matcher that returns what a backtracking (leftmost-first, greedy) engine would match at a position.
//
// The classes come from Go's unicode tables (Unicode 15.0); llama.cpp's are newer, so code points assigned
// since (U+2FFC–U+2FFF, CJK extension I, …) can split differently.

// text is one fragment being split: its runes, their classes and their byte offsets. Invalid UTF-8 bytes
// become one utf8.RuneError each, so pieces still cover the original bytes exactly.
type text struct {
	r   []rune
	cls []uint8
	off []int32 // byte offset of rune i; off[len(r)] is the text's length
}

func (t *text) reset(s string) {
	t.r, t.cls, t.off = t.r[:0], t.cls[:0], t.off[:0]
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		t.r = append(t.r, r)
		t.cls = append(t.cls, class(r))
		t.off = append(t.off, int32(i))
		i += n
	}
	t.off = append(t.off, int32(len(s)))
}

// has reports whether rune p exists before end and has one of the classes in c.
func (t *text) has(p, end int, c uint8) bool { return p < end && t.cls[p]&c != 0 }

// run returns the end of the run of runes from p (before end) that have one of the classes in c.
func (t *text) run(p, end int, c uint8) int {
	for p < end && t.cls[p]&c != 0 {
		p++
	}
	return p
}

// runNot returns the end of the run of runes from p (before end) that have none of the classes in c.
func (t *text) runNot(p, end int, c uint8) int {
	for p < end && t.cls[p]&c == 0 {
		p++
	}
	return p
}

func isCRLF(r rune) bool { return r == '\r' || r == '\n' }

// spaces matches `\s*[\r\n]+|\s+(?!\S)|\s+` at a whitespace rune p: through the last CR or LF of the
// whitespace run if it has one; else the whole run when it ends the piece or is one rune long; else all
// of it but the last rune, which stays to prefix the next word.
func (t *text) spaces(p, end int) int {
	e, nl := p, -1
	for e < end && t.cls[e]&clsWS != 0 {
		if isCRLF(t.r[e]) {
			nl = e
		}
		e++
	}
	if nl >= 0 {
		return nl + 1
	}
	return trailingSpaces(p, e, end)
}

// trailingSpaces matches `\s+(?!\S)|\s+` for the whitespace run [p, e) of a piece ending at end.
func trailingSpaces(p, e, end int) int {
	if e == end || e-p == 1 {
		return e
	}
	return e - 1
}

// A matcher returns the end of the match at rune p of the piece ending at end (the regex sees nothing
// past end), or -1 when the regex does not match at p.
type matcher func(t *text, p, end int) int

// A step splits the piece [a, b) and appends the ends of its parts to out.
type step func(t *text, a, b int, out []int32) []int32

// isolate is the Split/Isolated step of a regex: matches and the gaps between them are pieces.
func isolate(m matcher) step {
	return func(t *text, a, b int, out []int32) []int32 {
		gap := a
		for p := a; p < b; {
			e := m(t, p, b)
			if e <= p {
				p++
				continue
			}
			if p > gap {
				out = append(out, int32(p))
			}
			out = append(out, int32(e))
			p, gap = e, e
		}
		if gap < b {
			out = append(out, int32(b))
		}
		return out
	}
}

// stepList is a model's list of steps, applied in order.
type stepList []step

// split cuts the fragment in t into pieces and returns their ends (rune indices), reusing ends and tmp.
func (sl stepList) split(t *text, ends, tmp []int32) (pieces, spare []int32) {
	ends = ends[:0]
	if len(t.r) > 0 {
		ends = append(ends, int32(len(t.r)))
	}
	for _, st := range sl {
		tmp = tmp[:0]
		a := 0
		for _, b := range ends {
			tmp = st(t, a, int(b), tmp)
			a = int(b)
		}
		ends, tmp = tmp, ends
	}
	return ends, tmp
}
