package main

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
)

// invalidUTF8Bias reads the byte-level BPE vocabulary of a GGUF file and returns a logit_bias that bans
// (-100) every normal token whose bytes are not valid UTF-8 on their own. With it a random-weight model can
// only generate valid UTF-8, which llama-server needs: it parses every streamed completion's text as a
// chat message and fails the stream (HTTP 500 mid-stream) when the text is not valid UTF-8. Both servers
// get the same bias, so the comparison stays like for like.
func invalidUTF8Bias(path string) (map[string]float64, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if m, _ := f.String("tokenizer.ggml.model"); m != "gpt2" {
		return nil, fmt.Errorf("%s: tokenizer.ggml.model is %q; -utf8-only needs a byte-level BPE (gpt2) vocabulary", path, m)
	}
	tokens, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok {
		return nil, fmt.Errorf("%s: no tokenizer.ggml.tokens", path)
	}
	types, _ := f.Ints("tokenizer.ggml.token_type")
	bias := map[string]float64{}
	for id, tok := range tokens {
		const normal = 1
		if id < len(types) && types[id] != normal {
			continue
		}
		if !utf8.Valid(byteLevelBytes(tok)) {
			bias[strconv.Itoa(id)] = -100
		}
	}
	return bias, nil
}

// byteLevelBytes decodes GPT-2's byte-level spelling: bytes 33–126, 161–172 and 174–255 stand for the
// code point of the same number, the other 68 bytes in increasing order for U+0100 … U+0143.
func byteLevelBytes(s string) []byte {
	var byteOf [0x144]int
	n := 0
	for b := range 256 {
		if b >= 33 && b <= 126 || b >= 161 && b <= 172 || b >= 174 {
			byteOf[b] = b
		} else {
			byteOf[256+n] = b
			n++
		}
	}
	var out []byte
	for _, r := range s {
		if r < 0x144 {
			out = append(out, byte(byteOf[r]))
		} else {
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}
