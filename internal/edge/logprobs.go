package edge

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// minLogprob stands for a probability too small for a float32 logarithm (JSON has no -Infinity), as
// vLLM writes it.
const minLogprob = -9999.0

// appendLogprobs appends a choice's "logprobs" value for the tokens lps: chat's {"content":[…]} or
// completions' {"tokens","token_logprobs","top_logprobs","text_offset"} (text_offset continues from
// off, which it advances), or null when the request asked for none.
func appendLogprobs(b []byte, chat, asked bool, lps []*engine.Logprobs, off *textOffset) []byte {
	switch {
	case !asked:
		return append(b, "null"...)
	case chat:
		return appendChatLogprobs(b, lps)
	}
	return appendCompletionLogprobs(b, lps, off)
}

// appendChatLogprobs appends chat's logprobs object: one entry per token with its top alternatives.
func appendChatLogprobs(b []byte, lps []*engine.Logprobs) []byte {
	b = append(b, `{"content":[`...)
	for i, lp := range lps {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTokenLogprob(b, lp.Chosen)
		b = append(b[:len(b)-1], `,"top_logprobs":[`...)
		for j, t := range lp.Top {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendTokenLogprob(b, t)
		}
		b = append(b, "]}"...)
	}
	return append(b, `],"refusal":null}`...)
}

// appendTokenLogprob appends {"token","logprob","bytes"}: the token's text (a partial UTF-8 character
// shows as U+FFFD) and its raw bytes.
func appendTokenLogprob(b []byte, t engine.TokenLogprob) []byte {
	b = append(b, `{"token":`...)
	b = appendJSONString(b, string(t.Bytes))
	b = append(b, `,"logprob":`...)
	b = appendLogprob(b, t.Logprob)
	b = append(b, `,"bytes":[`...)
	for i, c := range t.Bytes {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(c), 10)
	}
	return append(b, "]}"...)
}

// appendCompletionLogprobs appends the completions' logprobs object. Each top_logprobs entry maps the
// token strings of the most likely tokens, and of the chosen token, to their logprobs (tokens with the
// same text keep the likelier's). The prompt's first token (echo) has null for both.
func appendCompletionLogprobs(b []byte, lps []*engine.Logprobs, off *textOffset) []byte {
	b = append(b, `{"tokens":[`...)
	for i, lp := range lps {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, string(lp.Chosen.Bytes))
	}
	b = append(b, `],"token_logprobs":[`...)
	for i, lp := range lps {
		if i > 0 {
			b = append(b, ',')
		}
		if lp.NoContext {
			b = append(b, "null"...)
		} else {
			b = appendLogprob(b, lp.Chosen.Logprob)
		}
	}
	b = append(b, `],"top_logprobs":[`...)
	var keys []string
	for i, lp := range lps {
		if i > 0 {
			b = append(b, ',')
		}
		if lp.NoContext {
			b = append(b, "null"...)
			continue
		}
		b = append(b, '{')
		keys = keys[:0]
		chosen := false
		for _, t := range lp.Top {
			keys, b = appendTopEntry(b, keys, t)
			chosen = chosen || t.Token == lp.Chosen.Token
		}
		if !chosen {
			keys, b = appendTopEntry(b, keys, lp.Chosen)
		}
		b = append(b, '}')
	}
	b = append(b, `],"text_offset":[`...)
	for i, lp := range lps {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(off.next(lp.Chosen.Bytes)), 10)
	}
	return append(b, "]}"...)
}

// appendTopEntry appends "token":logprob to a top_logprobs object unless keys (the object's keys so far)
// has the token's text already.
func appendTopEntry(b []byte, keys []string, t engine.TokenLogprob) ([]string, []byte) {
	key := strings.ToValidUTF8(string(t.Bytes), "\uFFFD")
	for _, k := range keys {
		if k == key {
			return keys, b
		}
	}
	if len(keys) > 0 {
		b = append(b, ',')
	}
	b = appendJSONString(b, key)
	b = append(b, ':')
	return append(keys, key), appendLogprob(b, t.Logprob)
}

// appendLogprob appends a logprob as a JSON number.
func appendLogprob(b []byte, v float32) []byte {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) || f < minLogprob {
		f = minLogprob
	}
	return strconv.AppendFloat(b, f, 'g', -1, 32)
}

// textOffset places tokens in a choice's text for text_offset: in characters (code points), as OpenAI
// counts, a token that continues a UTF-8 character split across tokens starting at that character.
type textOffset struct {
	chars int    // characters complete so far
	tail  []byte // bytes of a character not complete yet
}

// next returns where a token of bytes b starts, and moves past it.
func (o *textOffset) next(b []byte) int {
	at := o.chars
	o.tail = append(o.tail, b...)
	n := len(o.tail)
	for i := n - 1; i >= 0 && i >= n-utf8.UTFMax+1; i-- { // hold back an incomplete last character
		if utf8.RuneStart(o.tail[i]) {
			if !utf8.FullRune(o.tail[i:]) {
				n = i
			}
			break
		}
	}
	o.chars += utf8.RuneCount(o.tail[:n])
	o.tail = append(o.tail[:0], o.tail[n:]...)
	return at
}
