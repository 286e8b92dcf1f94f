package bpe

// llama3Words matches the regex of Llama 3 (digits = 3) and of Qwen2 (digits = 1):
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,digits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Every rune starts a match, so it leaves no gaps.
func llama3Words(digits int) matcher {
	return func(t *text, p, end int) int {
		if e := contraction(t, p, end, true); e > 0 {
			return e
		}
		r, c := t.r[p], t.cls[p]
		if c&clsL != 0 {
			return t.run(p+1, end, clsL)
		}
		if !isCRLF(r) && c&clsN == 0 && t.has(p+1, end, clsL) {
			return t.run(p+2, end, clsL)
		}
		if c&clsN != 0 {
			return t.run(p+1, min(end, p+digits), clsN)
		}
		const word = clsWS | clsL | clsN
		q := p
		if r == ' ' && p+1 < end && t.cls[p+1]&word == 0 {
			q = p + 1
		}
		if t.cls[q]&word == 0 {
			e := t.runNot(q+1, end, word)
			for e < end && isCRLF(t.r[e]) {
				e++
			}
			return e
		}
		return t.spaces(p, end)
	}
}

// contraction matches 's|'t|'re|'ve|'m|'ll|'d at p, ignoring ASCII case when fold is set; -1 if none.
func contraction(t *text, p, end int, fold bool) int {
	if t.r[p] != '\'' || p+1 >= end {
		return -1
	}
	lower := func(r rune) rune {
		if fold && r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	a := lower(t.r[p+1])
	switch a {
	case 's', 't', 'm', 'd':
		return p + 2
	}
	if p+2 >= end {
		return -1
	}
	b := lower(t.r[p+2])
	if a == 'r' && b == 'e' || a == 'v' && b == 'e' || a == 'l' && b == 'l' {
		return p + 3
	}
	return -1
}
