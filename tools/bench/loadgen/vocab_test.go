package main

import (
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// GPT-2's byte-level spellings, as the Qwen2 and DeepSeek vocabularies write them.
func TestByteLevelBytes(t *testing.T) {
	for spelled, want := range map[string]string{"Ġthe": " the", "Ċ": "\n", "Ã©": "é", "Ã": "\xc3", "ä½ł": "你", "!": "!"} {
		if got := string(byteLevelBytes(spelled)); got != want {
			t.Errorf("byteLevelBytes(%q) = %q, want %q", spelled, got, want)
		}
	}
}

// The Qwen2 vocabulary has byte tokens that are not UTF-8 alone (lone lead and continuation bytes): they
// are banned, whole characters and words are not.
func TestInvalidUTF8Bias(t *testing.T) {
	path := testutil.Vocab(t, "ggml-vocab-qwen2.gguf")
	bias, err := invalidUTF8Bias(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tokens, _ := f.Strings("tokenizer.ggml.tokens")
	index := map[string]string{}
	for id, tok := range tokens {
		index[tok] = strconv.Itoa(id)
	}
	for _, tok := range []string{"Ã", "Â", "ä", "¼"} { // 0xC3, 0xC2, 0xE4, 0xBC alone
		if id, ok := index[tok]; !ok || bias[id] != -100 {
			t.Errorf("the lone byte token %q (id %s) is not banned", tok, id)
		}
	}
	for _, tok := range []string{"Ġthe", "Hello", "Ã©", "Ċ"} {
		if id := index[tok]; bias[id] != 0 {
			t.Errorf("the whole-character token %q (id %s) is banned", tok, id)
		}
	}
	if len(bias) < 100 || len(bias) > len(tokens)/10 {
		t.Errorf("%d of %d tokens banned", len(bias), len(tokens))
	}
	for id := range bias {
		if n, _ := strconv.Atoi(id); utf8.Valid(byteLevelBytes(tokens[n])) {
			t.Fatalf("token %d %q is valid UTF-8 but banned", n, tokens[n])
		}
	}
}
