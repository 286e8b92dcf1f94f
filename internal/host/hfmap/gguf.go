package hfmap

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/vocab"
)

// Open reads a Hugging Face directory's config.json and tokenizer.json (with tokenizer_config.json) and
// returns the configuration and the GGUF metadata llama.cpp's converter writes for them:
// general.architecture, general.name (the directory's name), config.json's keys in sorted order, then the
// tokenizer's, its token list padded to config.json's vocab_size as the converter pads it (so llama.cpp
// finds one token per embedding row). The File has no tensors. Errors name the file at fault.
func Open(dir string) (*Config, *gguf.File, error) {
	cfgPath := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := ParseConfig(raw, cfgPath)
	if err != nil {
		return nil, nil, err
	}
	meta, err := cfg.Metadata()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	tok, err := vocab.LoadHF(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, nil, err
	}
	if err := padVocab(tok.Vocab, cfg.Vocab, cfgPath); err != nil {
		return nil, nil, err
	}
	w := gguf.NewWriter()
	w.Set("general.architecture", meta["general.architecture"])
	w.Set("general.name", filepath.Base(filepath.Clean(dir)))
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := w.Set(k, meta[k]); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", cfgPath, err)
		}
	}
	if err := vocab.SetGGUF(w, tok.Vocab, tok.ChatTemplate); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", dir, err)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		return nil, nil, err
	}
	f, err := gguf.Parse(dir, b.Bytes())
	if err != nil {
		return nil, nil, err
	}
	return cfg, f, nil
}

// padVocab appends "[PAD<id>]" tokens of type UNUSED up to size, as llama.cpp's converter (get_vocab_base)
// does for ids the tokenizer leaves unused below config.json's vocab_size; a tokenizer with more tokens
// than vocab_size is refused, as the converter refuses it.
func padVocab(v *abi.Vocab, size int, cfgPath string) error {
	n := len(v.Tokens)
	if size > 0 && n > size {
		return fmt.Errorf("%s: vocab_size %d is smaller than the tokenizer's %d tokens", cfgPath, size, n)
	}
	if len(v.Types) == 0 && size > n { // no types means all normal; the pads are not
		v.Types = make([]int32, n, size)
		for i := range v.Types {
			v.Types[i] = abi.TokenNormal
		}
	}
	for id := n; id < size; id++ {
		v.Tokens = append(v.Tokens, fmt.Sprintf("[PAD%d]", id))
		v.Types = append(v.Types, abi.TokenUnused)
	}
	return nil
}
