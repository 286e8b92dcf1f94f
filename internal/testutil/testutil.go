// Package testutil holds fixtures shared by the tests of several packages.
package testutil

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Vocab unpacks testdata/vocab/NAME.gz (a llama.cpp vocab GGUF, e.g. "ggml-vocab-qwen2.gguf") into a
// temporary directory and returns its path.
func Vocab(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join(Root(), "testdata", "vocab", name+".gz")
	in, err := os.Open(src)
	if err != nil {
		t.Fatalf("vocab fixture: %v", err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatalf("vocab fixture %s: %v", src, err)
	}
	dst := filepath.Join(t.TempDir(), name)
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatalf("vocab fixture %s: %v", src, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// SHA256File returns the hex SHA-256 of a file.
func SHA256File(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// HFTokenizer copies the Hugging Face tokenizer testdata/tokenizers/NAME (tokenizer.json.gz unpacked, and
// tokenizer_config.json) into a temporary directory and returns the path of its tokenizer.json.
func HFTokenizer(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join(Root(), "testdata", "tokenizers", name)
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(src, "tokenizer_config.json"))
	if err != nil {
		t.Fatalf("tokenizer fixture: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(filepath.Join(src, "tokenizer.json.gz"))
	if err != nil {
		t.Fatalf("tokenizer fixture: %v", err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatalf("tokenizer fixture %s: %v", in.Name(), err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("tokenizer fixture %s: %v", in.Name(), err)
	}
	dst := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// RandomTokenizations are llama.cpp's ids for texts built to hit the pre-tokenizers' corners
// (testdata/vocab/llama-cpp-random.json.gz): per vocabulary name, the ids of every text without (Plain)
// and with (Special) special-token parsing.
type RandomTokenizations struct {
	Texts []string
	IDs   map[string]struct{ Plain, Special [][]int32 }
}

// LlamaCppRandom reads testdata/vocab/llama-cpp-random.json.gz.
func LlamaCppRandom(t testing.TB) *RandomTokenizations {
	t.Helper()
	f, err := os.Open(filepath.Join(Root(), "testdata", "vocab", "llama-cpp-random.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var data RandomTokenizations
	if err := json.NewDecoder(zr).Decode(&data); err != nil {
		t.Fatal(err)
	}
	return &data
}
