package bpe

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	benchEnglish = `The tokenizer runs inside a sandboxed WebAssembly guest. The host reads the model's metadata and hands
the guest a vocabulary; the guest builds the tokenizer from it, encodes prompts and decodes generated tokens.
Byte-level BPE never fails: every byte has a token, so any input, even invalid UTF-8, round-trips exactly.
In 2024, DeepSeek-V3 shipped 671B parameters (37B active per token) and a 128K vocabulary; it's fast, isn't it?`
	benchChinese = `混合专家模型在每个词元上只激活一小部分参数，因此推理成本远低于同等规模的稠密模型。分词器先把文本切成片段，
再对每个片段应用字节级的合并规则，最后查表得到词元编号。我们在沙箱中运行分词器，主机只负责读取模型文件并传递词表。
中文、日本語のテキスト、그리고 한국어 문장도 함께 처리해야 합니다。`
)

// benchText returns about n bytes of English prose, Chinese prose and Go source (this package's own files),
// with the words of each paragraph shuffled so that not every piece is a cache hit.
func benchText(b *testing.B, n int) string {
	files, err := filepath.Glob("*.go")
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
		sb.WriteString(shuffle(benchEnglish, " "))
		sb.WriteString("\n\n")
		sb.WriteString(shuffle(benchChinese, "，"))
		sb.WriteString("\n\n")
		sb.WriteString(code[i%len(code)])
	}
	return sb.String()[:n]
}

func benchmarkEncode(b *testing.B, name string, cold bool) {
	tok := loadTokenizer(b, name)
	text := benchText(b, 100<<10)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for range b.N {
		if cold {
			tok.cache = newPieceCache()
		}
		tok.Encode(text, false, false)
	}
}

// BenchmarkEncode encodes 100 KiB of mixed text with a warm piece cache (the steady state of a server),
// BenchmarkEncodeCold with an empty one each time.
func BenchmarkEncode(b *testing.B) {
	for _, name := range vocabNames {
		b.Run(name, func(b *testing.B) { benchmarkEncode(b, name, false) })
	}
}

func BenchmarkEncodeCold(b *testing.B) {
	for _, name := range vocabNames {
		b.Run(name, func(b *testing.B) { benchmarkEncode(b, name, true) })
	}
}

func BenchmarkDecode(b *testing.B) {
	tok := loadTokenizer(b, "qwen2")
	text := benchText(b, 100<<10)
	ids := tok.Encode(text, false, false)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for range b.N {
		tok.Decode(ids, false)
	}
}

// BenchmarkNew builds the qwen2 tokenizer (151,936 tokens, 151,387 merges) from its vocabulary.
func BenchmarkNew(b *testing.B) {
	v := loadVocab(b, "qwen2")
	b.ResetTimer()
	for range b.N {
		if _, err := New(v); err != nil {
			b.Fatal(err)
		}
	}
}
