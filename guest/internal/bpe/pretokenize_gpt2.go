package bpe

// gpt2Words matches GPT-2's regex:
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// Every rune starts a match, so it leaves no gaps.
func gpt2Words(t *text, p, end int) int {
	if e := contraction(t, p, end, false); e > 0 {
		return e
	}
	q := p
	if t.r[p] == ' ' && p+1 < end {
		q = p + 1
	}
	const word = clsWS | clsL | clsN
	switch c := t.cls[q]; {
	case c&clsL != 0:
		return t.run(q+1, end, clsL)
	case c&clsN != 0:
		return t.run(q+1, end, clsN)
	case c&word == 0:
		return t.runNot(q+1, end, word)
	}
	return trailingSpaces(p, t.run(p, end, clsWS), end)
}

// defaultPunct matches `[\p{P}\$\+<=>\^~\|]+`, the first regex of llama.cpp's default pre-tokenizer.
func defaultPunct(t *text, p, end int) int {
	in := func(i int) bool {
		switch t.r[i] {
		case '$', '+', '<', '=', '>', '^', '~', '|':
			return true
		}
		return t.cls[i]&clsP != 0
	}
	e := p
	for e < end && in(e) {
		e++
	}
	if e == p {
		return -1
	}
	return e
}

// numbers matches `\p{N}{1,limit}`, or `\p{N}+` when limit is 0.
func numbers(limit int) matcher {
	return func(t *text, p, end int) int {
		if t.cls[p]&clsN == 0 {
			return -1
		}
		if limit > 0 {
			end = min(end, p+limit)
		}
		return t.run(p+1, end, clsN)
	}
}

// asciiDigits3 matches `[0-9][0-9][0-9]`.
func asciiDigits3(t *text, p, end int) int {
	if p+3 > end {
		return -1
	}
	for _, r := range t.r[p : p+3] {
		if r < '0' || r > '9' {
			return -1
		}
	}
	return p + 3
}
