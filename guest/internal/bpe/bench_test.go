package bpe

import (
	"testing"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

func benchmarkEncode(b *testing.B, name string, cold bool) {
	tok := loadTokenizer(b, name)
	text := testutil.MixedText(b, 100<<10)
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
	text := testutil.MixedText(b, 100<<10)
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
