// Package vocab turns a model's GGUF tokenizer metadata into the vocab blob the tokenizer guest reads, the
// way llama.cpp's vocabulary loader (llama-vocab.cpp) interprets the same keys.
package vocab

import (
	"fmt"
	"math"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/gguf"
)

// GGUF metadata keys read by FromGGUF.
const (
	KeyModel     = "tokenizer.ggml.model"
	KeyPre       = "tokenizer.ggml.pre"
	KeyTokens    = "tokenizer.ggml.tokens"
	KeyTokenType = "tokenizer.ggml.token_type"
	KeyMerges    = "tokenizer.ggml.merges"
	KeyBOS       = "tokenizer.ggml.bos_token_id"
	KeyEOS       = "tokenizer.ggml.eos_token_id"
	KeyEOT       = "tokenizer.ggml.eot_token_id"
	KeyEOM       = "tokenizer.ggml.eom_token_id"
	KeyPAD       = "tokenizer.ggml.padding_token_id"
	KeyUNK       = "tokenizer.ggml.unknown_token_id"
	KeyAddBOS    = "tokenizer.ggml.add_bos_token"
	KeyAddEOS    = "tokenizer.ggml.add_eos_token"
)

// FromGGUF reads the tokenizer of f.
//
// Errors name the key: a missing tokenizer.ggml.model or tokenizer.ggml.tokens, missing merges for a "gpt2"
// (byte-level BPE) model, a value of the wrong type, a token-type array of the wrong length, or a BOS/EOS id
// that is not a token. As in llama.cpp:
//   - an absent token-type array makes every token normal;
//   - an EOT/EOM/PAD/UNK id outside the vocabulary is ignored (llama.cpp warns and keeps its default);
//   - without tokenizer.ggml.eot_token_id (eom_token_id) the EOT (EOM) token is found by its text
//     (`<|eot_id|>`, `<|im_end|>`, `<｜end▁of▁sentence｜>`, … / `<|eom_id|>`), lowest id first;
//   - tokens llama.cpp treats as control by their text (the EOT/EOM/FIM tokens it detects and every
//     end-of-generation text, see EOGTokens) become CONTROL whatever their declared type;
//   - without tokenizer.ggml.add_bos_token, BOS is added for the llama-bpe pre-tokenizer only.
func FromGGUF(f *gguf.File) (*abi.Vocab, error) {
	v := &abi.Vocab{BOS: -1, EOS: -1, EOT: -1, EOM: -1, PAD: -1, UNK: -1}
	var err error
	if v.Model, err = str(f, KeyModel, true); err != nil {
		return nil, err
	}
	if v.Pre, err = str(f, KeyPre, false); err != nil {
		return nil, err
	}
	var ok bool
	if v.Tokens, ok = f.Strings(KeyTokens); !ok {
		if _, present := f.Value(KeyTokens); present {
			return nil, fmt.Errorf("vocab: %s is not an array of strings", KeyTokens)
		}
		return nil, fmt.Errorf("vocab: %s missing", KeyTokens)
	}
	if len(v.Tokens) > math.MaxInt32 {
		return nil, fmt.Errorf("vocab: %s has %d tokens, more than token ids can address", KeyTokens, len(v.Tokens))
	}
	if v.Types, err = types(f, len(v.Tokens)); err != nil {
		return nil, err
	}
	if v.Merges, ok = f.Strings(KeyMerges); !ok {
		if _, present := f.Value(KeyMerges); present {
			return nil, fmt.Errorf("vocab: %s is not an array of strings", KeyMerges)
		}
		if v.Model == "gpt2" {
			return nil, fmt.Errorf("vocab: %s missing (required by tokenizer model %q)", KeyMerges, v.Model)
		}
	}
	for _, s := range []struct {
		key      string
		dst      *int32
		required bool // present but out of range is an error rather than ignored
	}{
		{KeyBOS, &v.BOS, true}, {KeyEOS, &v.EOS, true},
		{KeyEOT, &v.EOT, false}, {KeyEOM, &v.EOM, false}, {KeyPAD, &v.PAD, false}, {KeyUNK, &v.UNK, false},
	} {
		if err := tokenID(f, s.key, len(v.Tokens), s.required, s.dst); err != nil {
			return nil, err
		}
	}
	v.AddBOS = isLlama3(v.Pre)
	if err := boolKey(f, KeyAddBOS, &v.AddBOS); err != nil {
		return nil, err
	}
	if err := boolKey(f, KeyAddEOS, &v.AddEOS); err != nil {
		return nil, err
	}
	detectSpecial(v)
	return v, nil
}

func str(f *gguf.File, key string, required bool) (string, error) {
	s, ok := f.String(key)
	if ok {
		return s, nil
	}
	if _, present := f.Value(key); present {
		return "", fmt.Errorf("vocab: %s is not a string", key)
	}
	if required {
		return "", fmt.Errorf("vocab: %s missing", key)
	}
	return "", nil
}

func types(f *gguf.File, n int) ([]int32, error) {
	raw, ok := f.Ints(KeyTokenType)
	if !ok {
		if _, present := f.Value(KeyTokenType); present {
			return nil, fmt.Errorf("vocab: %s is not an array of integers", KeyTokenType)
		}
		t := make([]int32, n)
		for i := range t {
			t[i] = abi.TokenNormal
		}
		return t, nil
	}
	if len(raw) != n {
		return nil, fmt.Errorf("vocab: %s has %d entries for %d tokens", KeyTokenType, len(raw), n)
	}
	t := make([]int32, n)
	for i, x := range raw {
		if x < math.MinInt32 || x > math.MaxInt32 {
			return nil, fmt.Errorf("vocab: %s[%d] = %d does not fit in int32", KeyTokenType, i, x)
		}
		t[i] = int32(x)
	}
	return t, nil
}

func tokenID(f *gguf.File, key string, n int, required bool, dst *int32) error {
	if _, present := f.Value(key); !present {
		return nil
	}
	id, ok := f.Int(key)
	if !ok {
		return fmt.Errorf("vocab: %s is not an integer", key)
	}
	if id < 0 || id >= int64(n) {
		if required {
			return fmt.Errorf("vocab: %s = %d is not a token id (%d tokens)", key, id, n)
		}
		return nil
	}
	*dst = int32(id)
	return nil
}

func boolKey(f *gguf.File, key string, dst *bool) error {
	if _, present := f.Value(key); !present {
		return nil
	}
	b, ok := f.Bool(key)
	if !ok {
		return fmt.Errorf("vocab: %s is not a bool", key)
	}
	*dst = b
	return nil
}

// isLlama3 reports whether pre names llama.cpp's LLAMA3 pre-tokenizer, which adds BOS by default.
func isLlama3(pre string) bool {
	switch pre {
	case "llama-bpe", "llama3", "llama-v3":
		return true
	}
	return false
}
