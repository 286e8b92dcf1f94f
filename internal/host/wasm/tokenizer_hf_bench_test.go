package wasm

import (
	"context"
	"testing"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/host/vocab"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

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
	text := testutil.MixedText(b, 100<<10)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tok.Encode(ctx, text, false, false); err != nil {
			b.Fatal(err)
		}
	}
}
