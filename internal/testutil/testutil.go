// Package testutil holds fixtures shared by the tests of several packages.
package testutil

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
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

// SplitModel unpacks internal/host/gguf/testdata/split (tools/ggmlvectors/split.sh) into a temporary directory and
// returns it: tiny.gguf, a tiny random qwen2 model with a 64-token vocabulary, and the three parts llama.cpp's
// llama-gguf-split cut it into, tiny-0000N-of-00003.gguf.
func SplitModel(t testing.TB) string {
	t.Helper()
	src := filepath.Join(Root(), "internal", "host", "gguf", "testdata", "split")
	dir := t.TempDir()
	for _, n := range []string{"tiny.gguf", "tiny-00001-of-00003.gguf", "tiny-00002-of-00003.gguf", "tiny-00003-of-00003.gguf"} {
		in, err := os.Open(filepath.Join(src, n+".gz"))
		if err != nil {
			t.Fatalf("split fixture: %v", err)
		}
		zr, err := gzip.NewReader(in)
		if err != nil {
			t.Fatalf("split fixture %s: %v", n, err)
		}
		b, err := io.ReadAll(zr)
		in.Close()
		if err != nil {
			t.Fatalf("split fixture %s: %v", n, err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Vector is one of llama.cpp's tokenizer test cases: a text and the ids llama.cpp gives it.
type Vector struct {
	Text string
	IDs  []int32
}

// LlamaCppVectors reads testdata/vocab/ggml-vocab-NAME.gguf.inp (texts separated by
// "\n__ggml_vocab_test__\n", the last one followed by the separator too) and .out (one line of
// space-separated ids per text), as llama.cpp's test-tokenizer-0 does.
func LlamaCppVectors(t testing.TB, name string) []Vector {
	t.Helper()
	base := filepath.Join(Root(), "testdata", "vocab", "ggml-vocab-"+name+".gguf")
	inp, err := os.ReadFile(base + ".inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(base + ".out")
	if err != nil {
		t.Fatal(err)
	}
	texts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	texts = texts[:len(texts)-1] // the file ends with the separator
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(texts) || len(texts) < 40 {
		t.Fatalf("%s: %d texts, %d lines of ids", name, len(texts), len(lines))
	}
	vs := make([]Vector, len(texts))
	for i, text := range texts {
		vs[i].Text = text
		for _, f := range strings.Fields(lines[i]) {
			id, err := strconv.ParseInt(f, 10, 32)
			if err != nil {
				t.Fatal(err)
			}
			vs[i].IDs = append(vs[i].IDs, int32(id))
		}
	}
	return vs
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

// The prose of MixedText.
const (
	mixedEnglish = `The tokenizer runs inside a sandboxed WebAssembly guest. The host reads the model's metadata and hands
the guest a vocabulary; the guest builds the tokenizer from it, encodes prompts and decodes generated tokens.
Byte-level BPE never fails: every byte has a token, so any input, even invalid UTF-8, round-trips exactly.
In 2024, DeepSeek-V3 shipped 671B parameters (37B active per token) and a 128K vocabulary; it's fast, isn't it?`
	mixedChinese = `混合专家模型在每个词元上只激活一小部分参数，因此推理成本远低于同等规模的稠密模型。分词器先把文本切成片段，
再对每个片段应用字节级的合并规则，最后查表得到词元编号。我们在沙箱中运行分词器，主机只负责读取模型文件并传递词表。
中文、日本語のテキスト、그리고 한국어 문장도 함께 처리해야 합니다。`
)

// MixedText returns about n bytes of English prose, Chinese prose and Go source (guest/internal/bpe's
// files), with the words of each paragraph shuffled so that not every piece is a tokenizer cache hit. The
// same n gives the same text, so native and guest tokenizer benchmarks can be compared.
func MixedText(t testing.TB, n int) string {
	files, err := filepath.Glob(filepath.Join(Root(), "guest", "internal", "bpe", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatal("no Go sources for the benchmark text")
	}
	var code []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		code = append(code, string(src))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	shuffle := func(s, sep string) string {
		w := strings.Split(s, sep)
		rng.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
		return strings.Join(w, sep)
	}
	var sb strings.Builder
	for i := 0; sb.Len() < n; i++ {
		sb.WriteString(shuffle(mixedEnglish, " "))
		sb.WriteString("\n\n")
		sb.WriteString(shuffle(mixedChinese, "，"))
		sb.WriteString("\n\n")
		sb.WriteString(code[i%len(code)])
	}
	return sb.String()[:n]
}
