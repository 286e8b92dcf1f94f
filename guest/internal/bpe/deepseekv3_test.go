package bpe

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// DeepSeek-V3 has no vocabulary in llama.cpp's models/, so testdata/vocab/ggml-vocab-deepseek-v3.gguf.gz is
// made here from the model's Hugging Face tokenizer.json, following llama.cpp's convert_hf_to_gguf.py
// (get_vocab_base): ids the tokenizer lacks up to config.json's vocab_size become UNUSED "[PAD<id>]", added
// tokens that are special or look like <|…|> / <｜…｜> become CONTROL, others USER_DEFINED with "▁" spelled
// as " ". Its .out vectors come from llama.cpp itself; deepseek-v3-hf-cases.json are Hugging Face's ids.
//
//	WASMOE_DEEPSEEK_V3_TOKENIZER=path/to/tokenizer.json go test ./guest/internal/bpe -run TestMakeDeepSeekV3Vocab
func TestMakeDeepSeekV3Vocab(t *testing.T) {
	path := os.Getenv("WASMOE_DEEPSEEK_V3_TOKENIZER")
	if path == "" {
		t.Skip("set WASMOE_DEEPSEEK_V3_TOKENIZER to regenerate the fixture")
	}
	const vocabSize = 129280 // DeepSeek-V3 config.json
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var hf struct {
		AddedTokens []struct {
			ID         int    `json:"id"`
			Content    string `json:"content"`
			Special    bool   `json:"special"`
			Normalized bool   `json:"normalized"`
		} `json:"added_tokens"`
		Model struct {
			Type   string            `json:"type"`
			Vocab  map[string]int    `json:"vocab"`
			Merges []json.RawMessage `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(raw, &hf); err != nil {
		t.Fatal(err)
	}
	if hf.Model.Type != "BPE" {
		t.Fatalf("model type %q", hf.Model.Type)
	}
	tokens := make([]string, vocabSize)
	types := make([]int32, vocabSize)
	for i := range tokens {
		tokens[i], types[i] = fmt.Sprintf("[PAD%d]", i), 5
	}
	for s, id := range hf.Model.Vocab {
		tokens[id], types[id] = s, 1
	}
	for _, a := range hf.AddedTokens {
		s := a.Content
		looksSpecial := strings.HasPrefix(s, "<|") && strings.HasSuffix(s, "|>") ||
			strings.HasPrefix(s, "<｜") && strings.HasSuffix(s, "｜>")
		if a.Special || looksSpecial {
			tokens[a.ID], types[a.ID] = s, 3
		} else {
			tokens[a.ID], types[a.ID] = strings.ReplaceAll(s, "▁", " "), 4
		}
	}
	merges := make([]string, len(hf.Model.Merges))
	for i, m := range hf.Model.Merges {
		var pair [2]string
		if json.Unmarshal(m, &merges[i]) != nil {
			if err := json.Unmarshal(m, &pair); err != nil {
				t.Fatalf("merge %d: %v", i, err)
			}
			merges[i] = pair[0] + " " + pair[1]
		}
	}
	w := gguf.NewWriter()
	for _, kv := range []struct {
		key string
		val any
	}{
		// Just enough of a llama model for llama.cpp to load the vocabulary alone.
		{"general.architecture", "llama"}, {"general.name", "deepseek-v3"},
		{"llama.block_count", uint32(1)}, {"llama.context_length", uint32(4096)},
		{"llama.embedding_length", uint32(64)}, {"llama.feed_forward_length", uint32(64)},
		{"llama.attention.head_count", uint32(1)}, {"llama.attention.head_count_kv", uint32(1)},
		{"llama.attention.layer_norm_rms_epsilon", float32(1e-6)}, {"llama.vocab_size", uint32(vocabSize)},
		{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", "deepseek-v3"},
		{"tokenizer.ggml.tokens", tokens}, {"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.merges", merges},
		{"tokenizer.ggml.bos_token_id", uint32(0)}, {"tokenizer.ggml.eos_token_id", uint32(1)},
		{"tokenizer.ggml.padding_token_id", uint32(1)},
		{"tokenizer.ggml.add_bos_token", true}, {"tokenizer.ggml.add_eos_token", false},
	} {
		if err := w.Set(kv.key, kv.val); err != nil {
			t.Fatal(err)
		}
	}
	out, err := os.Create(filepath.Join(testutil.Root(), "testdata", "vocab", "ggml-vocab-deepseek-v3.gguf.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw, err := gzip.NewWriterLevel(out, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(zw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDeepSeekV3HFCases(t *testing.T) {
	tok := loadTokenizer(t, "deepseek-v3")
	raw, err := os.ReadFile(filepath.Join(testutil.Root(), "testdata", "vocab", "deepseek-v3-hf-cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Text string  `json:"text"`
		IDs  []int32 `json:"ids"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, c := range cases {
		if got := tok.Encode(c.Text, false, false); !slices.Equal(got, c.IDs) {
			t.Errorf("Encode(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
		}
	}
}
