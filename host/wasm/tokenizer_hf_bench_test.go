package wasm

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/guest/builtin"
	"github.com/wasmoe/wasmoe/host/vocab"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// mixedText is the text of guest/internal/bpe's benchText, built the same way so that the guest's figure
// compares with BenchmarkEncode/deepseek-v3 there: about n bytes of English prose and Chinese prose with
// their words shuffled, and the Go sources of guest/internal/bpe.
func mixedText(b *testing.B, n int) string {
	const (
		english = `The tokenizer runs inside a sandboxed WebAssembly guest. The host reads the model's metadata and hands
the guest a vocabulary; the guest builds the tokenizer from it, encodes prompts and decodes generated tokens.
Byte-level BPE never fails: every byte has a token, so any input, even invalid UTF-8, round-trips exactly.
In 2024, DeepSeek-V3 shipped 671B parameters (37B active per token) and a 128K vocabulary; it's fast, isn't it?`
		chinese = `混合专家模型在每个词元上只激活一小部分参数，因此推理成本远低于同等规模的稠密模型。分词器先把文本切成片段，
再对每个片段应用字节级的合并规则，最后查表得到词元编号。我们在沙箱中运行分词器，主机只负责读取模型文件并传递词表。
中文、日本語のテキスト、그리고 한국어 문장도 함께 처리해야 합니다。`
	)
	files, err := filepath.Glob(filepath.Join(testutil.Root(), "guest", "internal", "bpe", "*.go"))
	if err != nil || len(files) == 0 {
		b.Fatal("no Go sources for the benchmark text")
	}
	var code []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
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
		sb.WriteString(shuffle(english, " "))
		sb.WriteString("\n\n")
		sb.WriteString(shuffle(chinese, "，"))
		sb.WriteString("\n\n")
		sb.WriteString(code[i%len(code)])
	}
	return sb.String()[:n]
}

// BenchmarkTokenizerEncodeHF encodes 100 KiB of mixed English, Chinese and Go source in the guest with
// DeepSeek-V3's Hugging Face tokenizer (tokenizer.json through vocab.LoadHF), copies included, the piece
// cache warm as in a running server. The native figure for the same text and vocabulary is
// guest/internal/bpe's BenchmarkEncode/deepseek-v3.
func BenchmarkTokenizerEncodeHF(b *testing.B) {
	ctx := context.Background()
	h, err := vocab.LoadHF(testutil.HFTokenizer(b, "deepseek-v3"))
	if err != nil {
		b.Fatal(err)
	}
	tok, err := NewTokenizer(newRuntime(b), builtin.Tokenizer, h.Vocab, 1)
	if err != nil {
		b.Fatal(err)
	}
	text := mixedText(b, 100<<10)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tok.Encode(ctx, text, false, false); err != nil {
			b.Fatal(err)
		}
	}
}
