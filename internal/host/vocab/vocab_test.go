package vocab

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// file builds an in-memory GGUF holding a small valid tokenizer, changed by edit (a nil value deletes a key).
func file(t *testing.T, edit map[string]any) *gguf.File {
	t.Helper()
	kv := map[string]any{
		KeyModel:     "gpt2",
		KeyPre:       "qwen2",
		KeyTokens:    []string{"a", "b", "ab", "<|im_end|>", "<|endoftext|>", "<think>", "<|fim_pad|>"},
		KeyTokenType: []int32{1, 1, 1, 4, 3, 4, 1},
		KeyMerges:    []string{"a b"},
		KeyBOS:       uint32(4),
		KeyEOS:       uint32(4),
		KeyPAD:       uint32(99), // out of range: ignored, as llama.cpp does
	}
	for k, v := range edit {
		if v == nil {
			delete(kv, k)
		} else {
			kv[k] = v
		}
	}
	w := gguf.NewWriter()
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := w.Set(k, kv[k]); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse("test.gguf", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFromGGUF(t *testing.T) {
	v, err := FromGGUF(file(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := &abi.Vocab{
		Model:  "gpt2",
		Pre:    "qwen2",
		Tokens: []string{"a", "b", "ab", "<|im_end|>", "<|endoftext|>", "<think>", "<|fim_pad|>"},
		// <|im_end|> (an EOG text) and <|fim_pad|> (a FIM text) become CONTROL, as in llama.cpp.
		Types:  []int32{1, 1, 1, 3, 3, 4, 3},
		Merges: []string{"a b"},
		BOS:    4, EOS: 4,
		EOT: 3, // found by its text, the lowest such id
		EOM: -1, PAD: -1, UNK: -1,
	}
	if !equalVocab(v, want) {
		t.Errorf("FromGGUF:\n got %+v\nwant %+v", v, want)
	}
	if got := EOGTokens(v); !slices.Equal(got, []int32{3, 4, 6}) {
		t.Errorf("EOGTokens = %v, want [3 4 6]", got)
	}
}

func equalVocab(a, b *abi.Vocab) bool {
	return a.Model == b.Model && a.Pre == b.Pre && slices.Equal(a.Tokens, b.Tokens) &&
		slices.Equal(a.Types, b.Types) && slices.Equal(a.Merges, b.Merges) && a.BOS == b.BOS &&
		a.EOS == b.EOS && a.EOT == b.EOT && a.EOM == b.EOM && a.PAD == b.PAD && a.UNK == b.UNK &&
		a.AddBOS == b.AddBOS && a.AddEOS == b.AddEOS
}

func TestFromGGUFDefaults(t *testing.T) {
	v, err := FromGGUF(file(t, map[string]any{
		KeyPre: "llama-bpe", KeyTokenType: nil, KeyBOS: nil, KeyEOS: nil, KeyPAD: nil, KeyEOT: uint32(2),
		KeyAddEOS: true,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if v.BOS != -1 || v.EOS != -1 || v.EOT != 2 || v.PAD != -1 {
		t.Errorf("ids BOS %d EOS %d EOT %d PAD %d", v.BOS, v.EOS, v.EOT, v.PAD)
	}
	if !v.AddBOS || !v.AddEOS {
		t.Errorf("llama-bpe adds BOS by default and add_eos_token was set: AddBOS %v AddEOS %v", v.AddBOS, v.AddEOS)
	}
	// Without token types every token is normal, except those retyped by their text.
	if !slices.Equal(v.Types, []int32{1, 1, 1, 3, 3, 1, 3}) {
		t.Errorf("types %v", v.Types)
	}
	v, err = FromGGUF(file(t, map[string]any{KeyAddBOS: true, KeyPre: nil}))
	if err != nil {
		t.Fatal(err)
	}
	if !v.AddBOS || v.Pre != "" {
		t.Errorf("AddBOS %v Pre %q", v.AddBOS, v.Pre)
	}
}

func TestFromGGUFErrors(t *testing.T) {
	for _, tc := range []struct {
		edit map[string]any
		want string
	}{
		{map[string]any{KeyModel: nil}, "tokenizer.ggml.model missing"},
		{map[string]any{KeyModel: uint32(1)}, "tokenizer.ggml.model is not a string"},
		{map[string]any{KeyTokens: nil}, "tokenizer.ggml.tokens missing"},
		{map[string]any{KeyTokens: []int32{1}}, "tokenizer.ggml.tokens is not an array of strings"},
		{map[string]any{KeyMerges: nil}, `tokenizer.ggml.merges missing (required by tokenizer model "gpt2")`},
		{map[string]any{KeyTokenType: []int32{1}}, "tokenizer.ggml.token_type has 1 entries for 7 tokens"},
		{map[string]any{KeyTokenType: "x"}, "tokenizer.ggml.token_type is not an array of integers"},
		{map[string]any{KeyBOS: uint32(7)}, "tokenizer.ggml.bos_token_id = 7 is not a token id (7 tokens)"},
		{map[string]any{KeyEOS: "x"}, "tokenizer.ggml.eos_token_id is not an integer"},
		{map[string]any{KeyAddBOS: uint8(1)}, "tokenizer.ggml.add_bos_token is not a bool"},
	} {
		_, err := FromGGUF(file(t, tc.edit))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.edit, err, tc.want)
		}
	}
	// A model other than gpt2 needs no merges.
	if _, err := FromGGUF(file(t, map[string]any{KeyModel: "llama", KeyMerges: nil})); err != nil {
		t.Errorf("llama model without merges: %v", err)
	}
}

func TestEOGTokens(t *testing.T) {
	harmony := &abi.Vocab{
		Tokens: []string{"x", "<|end|>", "<|return|>", "<|call|>", "<|EOT|>", "<|im_end|>"},
		Types:  []int32{1, 3, 3, 3, 4, 1},
		BOS:    -1, EOS: 0, EOT: -1, EOM: -1, PAD: -1, UNK: -1,
	}
	// <|end|> is dropped next to <|return|> and <|call|>; a NORMAL <|im_end|> does not count.
	if got := EOGTokens(harmony); !slices.Equal(got, []int32{0, 2, 3, 4}) {
		t.Errorf("EOGTokens = %v, want [0 2 3 4]", got)
	}
}

// The llama.cpp test vocabularies convert, and their end-of-generation tokens are llama.cpp's.
func TestFromGGUFTestVocabs(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		n                        int
		bos, eos                 int32
		addBOS                   bool
		eog                      []int32
		controlText, userDefined string
	}{
		{"qwen2", 151936, 151643, 151643, false, []int32{151643, 151645}, "<|im_start|>", "[PAD151646]"},
		{"llama-bpe", 128256, 128000, 128001, true, []int32{128001, 128009}, "<|eot_id|>", ""},
		{"deepseek-llm", 102400, 100000, 100001, true, []int32{100001}, "<｜end▁of▁sentence｜>", "ø"},
		{"deepseek-coder", 32256, 32013, 32014, true, []int32{32014, 32021}, "<｜fim▁hole｜>", "<|EOT|>"},
	} {
		f, err := gguf.Open(testutil.Vocab(t, "ggml-vocab-"+tc.name+".gguf"))
		if err != nil {
			t.Fatal(err)
		}
		v, err := FromGGUF(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(v.Tokens) != tc.n || len(v.Types) != tc.n || v.BOS != tc.bos || v.EOS != tc.eos || v.AddBOS != tc.addBOS {
			t.Errorf("%s: %d tokens, %d types, BOS %d, EOS %d, AddBOS %v", tc.name, len(v.Tokens), len(v.Types),
				v.BOS, v.EOS, v.AddBOS)
		}
		if got := EOGTokens(v); !slices.Equal(got, tc.eog) {
			t.Errorf("%s: EOGTokens = %v, want %v", tc.name, got, tc.eog)
		}
		if i := slices.Index(v.Tokens, tc.controlText); i < 0 || v.Types[i] != abi.TokenControl {
			t.Errorf("%s: %q is not CONTROL", tc.name, tc.controlText)
		}
		if tc.userDefined != "" {
			if i := slices.Index(v.Tokens, tc.userDefined); i < 0 || v.Types[i] != abi.TokenUserDefined {
				t.Errorf("%s: %q is not USER_DEFINED", tc.name, tc.userDefined)
			}
		}
		if _, err := v.MarshalBinary(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
