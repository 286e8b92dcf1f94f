package vocab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// DeepSeek-V3's tokenizer.json gives the vocabulary llama.cpp's converter gives: that of
// ggml-vocab-deepseek-v3.gguf, whose ids testdata/vocab's llama.cpp vectors check, minus the "[PAD<id>]"
// tokens the converter appends up to config.json's vocab_size.
func TestFromHFDeepSeekV3MatchesGGUF(t *testing.T) {
	path := testutil.HFTokenizer(t, "deepseek-v3")
	h, err := LoadHF(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(testutil.Vocab(t, "ggml-vocab-deepseek-v3.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := FromGGUF(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	v := h.Vocab
	const n = 128815 // highest id of tokenizer.json: <｜tool▁sep｜> 128814
	if len(v.Tokens) != n || len(v.Types) != n {
		t.Fatalf("%d tokens, %d types, want %d", len(v.Tokens), len(v.Types), n)
	}
	for id := n; id < len(want.Tokens); id++ {
		if want.Tokens[id] != fmt.Sprintf("[PAD%d]", id) || want.Types[id] != abi.TokenUnused {
			t.Fatalf("GGUF token %d = %q type %d, want an UNUSED pad", id, want.Tokens[id], want.Types[id])
		}
	}
	trimmed := *want
	trimmed.Tokens, trimmed.Types = want.Tokens[:n], want.Types[:n]
	if !equalVocab(v, &trimmed) {
		for id := range n {
			if v.Tokens[id] != want.Tokens[id] || v.Types[id] != want.Types[id] {
				t.Errorf("token %d: %q type %d, GGUF %q type %d", id, v.Tokens[id], v.Types[id], want.Tokens[id], want.Types[id])
				break
			}
		}
		t.Fatalf("vocab differs from the GGUF's:\n got %s\nwant %s", summary(v), summary(&trimmed))
	}
	if got, want := EOGTokens(v), EOGTokens(want); !slices.Equal(got, want) {
		t.Errorf("EOGTokens = %v, GGUF %v", got, want)
	}
	// Spec §8.4: BOS 0, EOS 1 with these texts; tokenizer_config.json adds BOS and pads with EOS.
	if h.BOSToken != "<｜begin▁of▁sentence｜>" || h.EOSToken != "<｜end▁of▁sentence｜>" || v.BOS != 0 || v.EOS != 1 ||
		v.PAD != 1 || !v.AddBOS || v.AddEOS || v.Pre != "deepseek-v3" {
		t.Errorf("special: %s", summary(v))
	}
	cfg, err := os.ReadFile(filepath.Join(filepath.Dir(path), ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		ChatTemplate string `json:"chat_template"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	if h.ChatTemplate != c.ChatTemplate || !strings.Contains(h.ChatTemplate, "<｜Assistant｜>") {
		t.Errorf("chat template %.80q…, want tokenizer_config.json's", h.ChatTemplate)
	}
}

func summary(v *abi.Vocab) string {
	return fmt.Sprintf("model %q pre %q, %d tokens, %d merges, BOS %d EOS %d EOT %d EOM %d PAD %d UNK %d, AddBOS %v AddEOS %v",
		v.Model, v.Pre, len(v.Tokens), len(v.Merges), v.BOS, v.EOS, v.EOT, v.EOM, v.PAD, v.UNK, v.AddBOS, v.AddEOS)
}

// hfFixture is a small byte-level tokenizer.json and tokenizer_config.json as maps, for edits.
func hfFixture() (tok, cfg map[string]any) {
	tok = map[string]any{
		"version":    "1.0",
		"normalizer": nil,
		"pre_tokenizer": map[string]any{
			"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true,
		},
		"post_processor": map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false},
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true},
		"added_tokens": []any{
			map[string]any{"id": 0, "content": "<s>", "special": true, "normalized": false},
			map[string]any{"id": 7, "content": "<think>", "special": false, "normalized": true},
			map[string]any{"id": 8, "content": "<｜User｜>", "special": false, "normalized": true},
			map[string]any{"id": 9, "content": "▁x▁", "special": false},
			map[string]any{"id": 10, "content": "</s>", "special": true},
		},
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false,
			"vocab":  map[string]any{"<s>": 0, "a": 1, "b": 2, "ab": 3, "Ġ": 4, "Ġa": 5},
			"merges": []any{"a b", []any{"Ġ", "a"}},
		},
	}
	cfg = map[string]any{
		"add_bos_token": true,
		"bos_token":     map[string]any{"__type": "AddedToken", "content": "<s>"},
		"eos_token":     "</s>",
		"chat_template": []any{
			map[string]any{"name": "tool_use", "template": "T"},
			map[string]any{"name": "default", "template": "D"},
		},
	}
	return tok, cfg
}

func marshal(t testing.TB, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func model(tok map[string]any) map[string]any { return tok["model"].(map[string]any) }

func TestFromHF(t *testing.T) {
	tok, cfg := hfFixture()
	h, err := FromHF(marshal(t, tok), marshal(t, cfg), "m/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	want := &abi.Vocab{
		Model: "gpt2", Pre: "gpt2",
		// id 6 is a hole; "<｜User｜>" looks special; "▁" of a user-defined token is a space.
		Tokens: []string{"<s>", "a", "b", "ab", "Ġ", "Ġa", "[PAD6]", "<think>", "<｜User｜>", " x ", "</s>"},
		Types:  []int32{3, 1, 1, 1, 1, 1, 5, 4, 3, 4, 3},
		Merges: []string{"a b", "Ġ a"},
		BOS:    0, EOS: 10, EOT: -1, EOM: -1, PAD: -1, UNK: -1,
		AddBOS: true,
	}
	if !equalVocab(h.Vocab, want) {
		t.Errorf("FromHF:\n got %+v\nwant %+v", h.Vocab, want)
	}
	if h.ChatTemplate != "D" || h.BOSToken != "<s>" || h.EOSToken != "</s>" {
		t.Errorf("template %q, BOS %q, EOS %q", h.ChatTemplate, h.BOSToken, h.EOSToken)
	}

	// Without tokenizer_config.json: no special ids, nothing added, no template.
	h, err = FromHF(marshal(t, tok), nil, "m/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	if v := h.Vocab; v.BOS != -1 || v.EOS != -1 || v.AddBOS || h.ChatTemplate != "" || h.BOSToken != "" {
		t.Errorf("without config: %s, template %q", summary(v), h.ChatTemplate)
	}

	// A LlamaTokenizerFast adds BOS unless told otherwise; the model's unk_token names UNK.
	delete(cfg, "add_bos_token")
	cfg["tokenizer_class"] = "LlamaTokenizerFast"
	cfg["chat_template"] = "{{ bos_token }}"
	model(tok)["unk_token"] = "b"
	if h, err = FromHF(marshal(t, tok), marshal(t, cfg), "tokenizer.json"); err != nil {
		t.Fatal(err)
	}
	if v := h.Vocab; !v.AddBOS || v.UNK != 2 || h.ChatTemplate != "{{ bos_token }}" {
		t.Errorf("LlamaTokenizerFast: %s, template %q", summary(v), h.ChatTemplate)
	}
}

// A Llama-3-style post-processor that adds BOS sets AddBOS and, without bos_token, the BOS id.
func TestFromHFTemplateProcessing(t *testing.T) {
	tok, _ := hfFixture()
	tp := map[string]any{
		"type": "TemplateProcessing",
		"single": []any{
			map[string]any{"SpecialToken": map[string]any{"id": "<s>", "type_id": 0}},
			map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
			map[string]any{"SpecialToken": map[string]any{"id": "</s>", "type_id": 0}},
		},
	}
	tok["post_processor"] = map[string]any{"type": "Sequence", "processors": []any{
		map[string]any{"type": "ByteLevel"}, tp,
	}}
	h, err := FromHF(marshal(t, tok), nil, "tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	if v := h.Vocab; !v.AddBOS || !v.AddEOS || v.BOS != 0 || v.EOS != 10 {
		t.Errorf("%s", summary(v))
	}
	// tokenizer_config.json overrides the post-processor.
	h, err = FromHF(marshal(t, tok), []byte(`{"add_eos_token": false}`), "tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	if v := h.Vocab; !v.AddBOS || v.AddEOS {
		t.Errorf("add_eos_token false: %s", summary(v))
	}
}

// The pre-tokenizers of the models' tokenizer.json files, as those files spell them.
func TestFromHFPreTokenizers(t *testing.T) {
	split := func(re string) map[string]any {
		return map[string]any{"type": "Split", "pattern": map[string]any{"Regex": re}, "behavior": "Isolated", "invert": false}
	}
	byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
	seq := func(steps ...any) map[string]any { return map[string]any{"type": "Sequence", "pretokenizers": steps} }
	// DeepSeek-R1-Distill-Qwen and Llama 3 tokenizer.json (spec §8.3).
	const qwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	const llama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	for _, tc := range []struct {
		name         string
		pre          any
		ignoreMerges bool
		want         string // the pre-tokenizer, or a part of the error
	}{
		{"qwen2", seq(split(qwen2), byteLevel), false, "qwen2"},
		{"llama3", seq(split(llama3), byteLevel), true, "llama-bpe"},
		{"llama3 without ignore_merges", seq(split(llama3), byteLevel), false,
			"model.ignore_merges: false, but the llama-bpe pre-tokenizer needs true"},
		{"qwen2 with ignore_merges", seq(split(qwen2), byteLevel), true, "model.ignore_merges: true"},
		{"gpt2, use_regex absent", map[string]any{"type": "ByteLevel", "add_prefix_space": false}, false, "gpt2"},
		{"prefix space", map[string]any{"type": "ByteLevel", "add_prefix_space": true}, false,
			"pre_tokenizer.add_prefix_space: true is not supported"},
		{"no ByteLevel", seq(split(qwen2)), false, "pre_tokenizer.pretokenizers: does not end with ByteLevel"},
		{"Whitespace", seq(map[string]any{"type": "Whitespace"}, byteLevel), false,
			`pre_tokenizer.pretokenizers[0]: type "Whitespace" is not supported`},
		{"string pattern", seq(map[string]any{"type": "Split", "pattern": map[string]any{"String": " "}, "behavior": "Isolated"}, byteLevel),
			false, "pre_tokenizer.pretokenizers[0].pattern: not a Regex"},
		{"removed", seq(map[string]any{"type": "Split", "pattern": map[string]any{"Regex": qwen2}, "behavior": "Removed"}, byteLevel),
			false, `behavior "Removed"`},
		{"unknown regex", seq(split(`\w+`), byteLevel), false, "match no supported pre-tokenizer"},
		{"two regexes of ByteLevel", seq(split(qwen2), map[string]any{"type": "ByteLevel"}), false, "match no supported pre-tokenizer"},
		{"missing", nil, false, "pre_tokenizer: missing"},
	} {
		tok, _ := hfFixture()
		tok["pre_tokenizer"] = tc.pre
		model(tok)["ignore_merges"] = tc.ignoreMerges
		h, err := FromHF(marshal(t, tok), nil, "tokenizer.json")
		switch {
		case err != nil && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		case err == nil && h.Vocab.Pre != tc.want:
			t.Errorf("%s: pre-tokenizer %q, want %q", tc.name, h.Vocab.Pre, tc.want)
		}
	}
}

func TestFromHFErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(tok, cfg map[string]any)
		want string
	}{
		{"model type", func(tok, _ map[string]any) { model(tok)["type"] = "WordPiece" },
			`m/tokenizer.json: model.type: "WordPiece", want "BPE"`},
		{"no vocab", func(tok, _ map[string]any) { delete(model(tok), "vocab") }, "m/tokenizer.json: model.vocab: missing"},
		{"no merges", func(tok, _ map[string]any) { delete(model(tok), "merges") }, "model.merges: missing"},
		{"vocab id type", func(tok, _ map[string]any) { model(tok)["vocab"].(map[string]any)["a"] = "1" },
			"m/tokenizer.json: model.vocab: JSON string where int64 belongs"},
		{"vocab id negative", func(tok, _ map[string]any) { model(tok)["vocab"].(map[string]any)["a"] = -1 },
			`model.vocab["a"]: id -1 out of range`},
		{"vocab id huge", func(tok, _ map[string]any) { model(tok)["vocab"].(map[string]any)["a"] = int64(1) << 31 },
			`model.vocab["a"]: id 2147483648 out of range`},
		{"duplicate id", func(tok, _ map[string]any) { model(tok)["vocab"].(map[string]any)["b"] = 1 },
			`model.vocab: id 1 is both "a" and "b"`},
		{"sparse ids", func(tok, _ map[string]any) { model(tok)["vocab"].(map[string]any)["b"] = 100 },
			"model.vocab, added_tokens: ids reach 100 but only 10 are used"},
		{"merge unknown", func(tok, _ map[string]any) { model(tok)["merges"] = []any{"a c"} },
			`model.merges[0]: "a c": "c" is not in model.vocab`},
		{"merge result unknown", func(tok, _ map[string]any) { model(tok)["merges"] = []any{"b a"} },
			`model.merges[0]: "b a": "ba" is not in model.vocab`},
		{"merge of three", func(tok, _ map[string]any) { model(tok)["merges"] = []any{"a b Ġ"} },
			`model.merges[0]: "a b Ġ" is not a pair of tokens`},
		{"merge pair of one", func(tok, _ map[string]any) { model(tok)["merges"] = []any{[]any{"a"}} },
			`model.merges[0]: ["a"] is not a pair of tokens`},
		{"merge with space", func(tok, _ map[string]any) { model(tok)["merges"] = []any{[]any{"a b", "b"}} },
			"a token with a space cannot be merged"},
		{"merge number", func(tok, _ map[string]any) { model(tok)["merges"] = []any{7} },
			`model.merges[0]: 7 is neither "a b" nor ["a", "b"]`},
		{"byte fallback", func(tok, _ map[string]any) { model(tok)["byte_fallback"] = true }, "model.byte_fallback: true"},
		{"dropout", func(tok, _ map[string]any) { model(tok)["dropout"] = 0.1 }, "model.dropout: 0.1 is not supported"},
		{"suffix", func(tok, _ map[string]any) { model(tok)["end_of_word_suffix"] = "</w>" }, "model.end_of_word_suffix"},
		{"added id missing", func(tok, _ map[string]any) { delete(tok["added_tokens"].([]any)[1].(map[string]any), "id") },
			"added_tokens[1].id: missing"},
		{"added id out of range", func(tok, _ map[string]any) { tok["added_tokens"].([]any)[1].(map[string]any)["id"] = -3 },
			"added_tokens[1].id: -3 out of range"},
		{"added id twice", func(tok, _ map[string]any) { tok["added_tokens"].([]any)[2].(map[string]any)["id"] = 7 },
			"added_tokens[2].id: 7 is also added_tokens[1]"},
		{"added text twice", func(tok, _ map[string]any) { tok["added_tokens"].([]any)[2].(map[string]any)["content"] = "<think>" },
			`added_tokens[2].content: "<think>" is also id 7`},
		{"added over vocab", func(tok, _ map[string]any) { tok["added_tokens"].([]any)[1].(map[string]any)["id"] = 1 },
			`added_tokens[1]: id 1 is "<think>", but model.vocab has "a" there`},
		{"added vocab text", func(tok, _ map[string]any) { tok["added_tokens"].([]any)[1].(map[string]any)["content"] = "ab" },
			`added_tokens[1]: "ab" has id 7, but model.vocab gives it 3`},
		{"added empty", func(tok, _ map[string]any) { tok["added_tokens"].([]any)[1].(map[string]any)["content"] = "" },
			"added_tokens[1].content: empty"},
		{"lstrip", func(tok, _ map[string]any) { tok["added_tokens"].([]any)[1].(map[string]any)["lstrip"] = true },
			`added_tokens[1]: "<think>": lstrip, rstrip and single_word are not supported`},
		{"normalizer", func(tok, _ map[string]any) {
			tok["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "Lowercase"}}}
		}, `normalizer.normalizers[0]: type "Lowercase" is not supported`},
		{"decoder", func(tok, _ map[string]any) { delete(tok, "decoder") }, "decoder: none, want ByteLevel"},
		{"post-processor", func(tok, _ map[string]any) { tok["post_processor"] = map[string]any{"type": "BertProcessing"} },
			`post_processor: type "BertProcessing" is not supported`},
		{"template adds a stranger", func(tok, _ map[string]any) {
			tok["post_processor"] = map[string]any{"type": "TemplateProcessing", "single": []any{
				map[string]any{"SpecialToken": map[string]any{"id": "<think>"}}, map[string]any{"Sequence": map[string]any{"id": "A"}}}}
		}, `post_processor.single: adds "<think>", which is not the BOS token`},
		{"bos not a token", func(_, cfg map[string]any) { cfg["bos_token"] = "<bos>" },
			`m/tokenizer_config.json: bos_token: "<bos>" is not a token`},
		{"bos a number", func(_, cfg map[string]any) { cfg["bos_token"] = 5 },
			"m/tokenizer_config.json: bos_token: 5 is neither a string"},
		{"bos missing", func(_, cfg map[string]any) { delete(cfg, "bos_token") },
			"m/tokenizer_config.json: bos_token: missing, but BOS is to be added"},
		{"add_bos type", func(_, cfg map[string]any) { cfg["add_bos_token"] = "yes" },
			"m/tokenizer_config.json: add_bos_token: JSON string where bool belongs"},
		{"chat template", func(_, cfg map[string]any) { cfg["chat_template"] = 3 },
			"m/tokenizer_config.json: chat_template: neither a string nor a list"},
	} {
		tok, cfg := hfFixture()
		tc.edit(tok, cfg)
		_, err := FromHF(marshal(t, tok), marshal(t, cfg), "m/tokenizer.json")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	for _, tc := range []struct{ tok, cfg, want string }{
		{`{"model": `, ``, "m/tokenizer.json: invalid JSON at byte 10"},
		{`[]`, ``, "m/tokenizer.json: (top level): JSON array where"},
		{`{}`, ``, `m/tokenizer.json: model.type: "", want "BPE"`},
		{`{}`, `{"bos_token": `, "m/tokenizer_config.json: invalid JSON"},
	} {
		_, err := FromHF([]byte(tc.tok), []byte(tc.cfg), "m/tokenizer.json")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromHF(%q, %q): error %v, want %q", tc.tok, tc.cfg, err, tc.want)
		}
	}
	if _, err := LoadHF(filepath.Join(t.TempDir(), "tokenizer.json")); err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Errorf("LoadHF of a missing file: %v", err)
	}
}

// FuzzHF feeds arbitrary tokenizer.json and tokenizer_config.json bytes to FromHF: it must return an
// error or a vocabulary the tokenizer guest accepts, never panic.
func FuzzHF(f *testing.F) {
	tok, cfg := hfFixture()
	f.Add(marshal(f, tok), marshal(f, cfg))
	f.Add(marshal(f, tok), []byte(nil))
	model(tok)["merges"] = []any{[]any{"a", "b"}, "Ġ a"}
	tok["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
		map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `\p{N}{1,3}`}, "behavior": "Isolated"},
		map[string]any{"type": "ByteLevel", "use_regex": false}}}
	f.Add(marshal(f, tok), []byte(`{"bos_token": null, "chat_template": "x"}`))
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"a": 3}, "merges": []}}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, tok, cfg []byte) {
		h, err := FromHF(tok, cfg, "fuzz/tokenizer.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "vocab: fuzz/tokenizer") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		v := h.Vocab
		if len(v.Types) != len(v.Tokens) || v.AddBOS && v.BOS < 0 || v.AddEOS && v.EOS < 0 {
			t.Fatalf("inconsistent vocab: %s", summary(v))
		}
		blob, err := v.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back abi.Vocab
		if err := back.UnmarshalBinary(blob); err != nil || !equalVocab(&back, v) {
			t.Fatalf("blob round trip: %v", err)
		}
	})
}

// TestSetGGUFRoundTrip writes the DeepSeek-V3 HF vocabulary as GGUF metadata and reads it back.
func TestSetGGUFRoundTrip(t *testing.T) {
	hf, err := LoadHF(testutil.HFTokenizer(t, "deepseek-v3"))
	if err != nil {
		t.Fatal(err)
	}
	w := gguf.NewWriter()
	if err := SetGGUF(w, hf.Vocab, hf.ChatTemplate); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse("mem", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	v, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v, hf.Vocab) {
		t.Error("the vocabulary read back differs")
	}
	if tmpl, _ := f.String(KeyChatTemplate); tmpl != hf.ChatTemplate || tmpl == "" {
		t.Errorf("chat template %q", tmpl)
	}
}
