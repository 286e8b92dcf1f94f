package hfmap

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/vocab"
)

// Open reads a Hugging Face directory's config.json and tokenizer.json (with tokenizer_config.json) and
// returns the configuration and the GGUF metadata llama.cpp's converter writes for them:
// general.architecture, general.name (the directory's name), config.json's keys in sorted order, then the
// tokenizer's. The File has no tensors. Errors name the file at fault.
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
