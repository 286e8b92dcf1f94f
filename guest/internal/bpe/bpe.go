// Package bpe is the byte-level BPE tokenizer of GPT-2-style vocabularies (tokenizer.ggml.model "gpt2":
// Qwen2, Llama 3, DeepSeek), matching llama.cpp's tokenizer token for token.
//
// Encoding cuts added tokens out of the text, splits the rest with the model's pre-tokenizer regexes
// (tokenizer.ggml.pre), spells each piece's bytes in GPT-2's byte alphabet and applies the merges, lowest
// rank first. It is pure Go and runs in the wasip1 tokenizer guest.
package bpe

import (
	"fmt"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// Tokenizer encodes text to token ids and decodes them back. It is safe for concurrent use.
type Tokenizer struct {
	pre    *preTokenizer
	merger *merger
	added  *addedTokens
	cache  *pieceCache
	pieces pieceTable

	bos, eos       int32
	addBOS, addEOS bool
}

// New builds the tokenizer of v. It fails for a tokenizer model other than "gpt2", an unsupported
// pre-tokenizer name, or inconsistent token types and special ids.
func New(v *abi.Vocab) (*Tokenizer, error) {
	if v.Model != "gpt2" {
		return nil, fmt.Errorf("bpe: unsupported tokenizer model %q (want \"gpt2\")", v.Model)
	}
	pre, err := lookupPre(v.Pre)
	if err != nil {
		return nil, err
	}
	if len(v.Types) != 0 && len(v.Types) != len(v.Tokens) {
		return nil, fmt.Errorf("bpe: %d token types for %d tokens", len(v.Types), len(v.Tokens))
	}
	n := int32(len(v.Tokens))
	if int(n) != len(v.Tokens) {
		return nil, fmt.Errorf("bpe: %d tokens, more than token ids can address", len(v.Tokens))
	}
	for _, s := range []struct {
		name string
		id   int32
		need bool
	}{{"BOS", v.BOS, v.AddBOS}, {"EOS", v.EOS, v.AddEOS}} {
		if s.id < -1 || s.id >= n || s.need && s.id < 0 {
			return nil, fmt.Errorf("bpe: %s id %d is not a token (%d tokens)", s.name, s.id, n)
		}
	}
	return &Tokenizer{
		pre:    pre,
		merger: newMerger(v.Tokens, v.Merges),
		added:  newAddedTokens(v.Tokens, v.Types),
		cache:  newPieceCache(),
		pieces: newPieceTable(v.Tokens, v.Types),
		bos:    v.BOS,
		eos:    v.EOS,
		addBOS: v.AddBOS,
		addEOS: v.AddEOS,
	}, nil
}

// VocabSize returns the number of tokens; valid ids are 0 … VocabSize()-1.
func (t *Tokenizer) VocabSize() int { return len(t.pieces.kind) }
