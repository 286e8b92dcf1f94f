package modelgen

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/kernels"
)

// The default model's tokenizer is Qwen2's (as in DeepSeek-R1-Distill-Qwen), from llama.cpp's vocab file,
// with Qwen2.5's chat template.
var (
	//go:embed defaultvocab/ggml-vocab-qwen2.gguf.gz
	defaultVocabGz []byte
	//go:embed defaultvocab/chat_template.jinja
	defaultTemplate string
)

// DefaultOptions is the small model `wasmoe serve` runs when given no --model: random weights, real
// tokenizer, Q8_0.
func DefaultOptions() Options {
	return Options{Arch: "qwen2", Type: kernels.Q8_0, Layers: 4, Dim: 128, FFN: 384, Heads: 4, KVHeads: 2,
		Context: 4096, TiedOutput: true, Seed: 1, Name: "wasmoe default (random weights)", ChatTemplate: defaultTemplate}
}

// EnsureDefault writes the default model into dir once and returns its path; later calls reuse the file.
func EnsureDefault(dir string) (string, error) {
	o := DefaultOptions()
	key := sha256.Sum256(fmt.Appendf(nil, "%+v|%x", o, sha256.Sum256(defaultVocabGz)))
	path := filepath.Join(dir, "default-"+hex.EncodeToString(key[:6])+".gguf")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(defaultVocabGz))
	if err != nil {
		return "", err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return "", err
	}
	vocab, err := gguf.Parse("embedded qwen2 vocab", raw)
	if err != nil {
		return "", err
	}
	w, err := Generate(o, vocab)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := w.WriteFile(tmp); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}
