package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// TestBenchPromptVocab draws bench's prompt from DeepSeek-V3's vocabulary, whose first three ids (BOS,
// EOS, PAD) and the added tokens from 128000 on are not normal. The expected ids were worked out apart
// from this code, by a short Python reading of the GGUF file and the documented rule (127,997 normal
// tokens; the walk passes their end at i = 17): every id is a normal token, shifted past the 3 control
// tokens at the start.
func TestBenchPromptVocab(t *testing.T) {
	f, err := gguf.Open(testutil.Vocab(t, "ggml-vocab-deepseek-v3.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := benchPrompt(f, 20)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{14, 7933, 15852, 23771, 31690, 39609, 47528, 55447, 63366, 71285, 79204, 87123, 95042, 102961,
		110880, 118799, 126718, 6640, 14559, 22478}
	if !slices.Equal(got, want) {
		t.Errorf("prompt\n got %v\nwant %v", got, want)
	}
	types, _ := f.Ints("tokenizer.ggml.token_type")
	for _, id := range got {
		if types[id] != 1 {
			t.Errorf("id %d has token type %d, not 1 (normal)", id, types[id])
		}
	}
}

// TestBenchPromptTypes checks the rule on hand-made vocabularies of 5 tokens: walk positions 11 + 7919·i
// mod 3 are 2, 1, 0, 2, so with types [3 1 1 6 1] (normal ids 1, 2, 4) the prompt is 4, 2, 1, 4; without
// token types every token is normal (as llama.cpp reads such a file) and ids 0-2 of a 3-token vocabulary
// give 2, 1, 0, 2; with no normal token there is no prompt, and the error names the file.
func TestBenchPromptTypes(t *testing.T) {
	file := func(t *testing.T, tokens []string, types []int32) *gguf.File {
		t.Helper()
		w := gguf.NewWriter()
		w.Set("tokenizer.ggml.tokens", tokens)
		if types != nil {
			w.Set("tokenizer.ggml.token_type", types)
		}
		var b bytes.Buffer
		if _, err := w.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Parse("vocab.gguf", b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, c := range []struct {
		tokens []string
		types  []int32
		want   []int32
	}{
		{[]string{"a", "b", "c", "d", "e"}, []int32{3, 1, 1, 6, 1}, []int32{4, 2, 1, 4}},
		{[]string{"a", "b", "c"}, nil, []int32{2, 1, 0, 2}},
	} {
		got, err := benchPrompt(file(t, c.tokens, c.types), 4)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("types %v: %v, %v; want %v", c.types, got, err, c.want)
		}
	}
	_, err := benchPrompt(file(t, []string{"a", "b"}, []int32{3, 6}), 4)
	if err == nil || !strings.Contains(err.Error(), "vocab.gguf") {
		t.Errorf("no normal token: %v, want an error naming the file", err)
	}
}
