package wasm

import (
	"context"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wasmoe/wasmoe/internal/builtin"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

// vocabs are the tokenizer fixtures of testdata/vocab (llama.cpp's vocab GGUFs and their vectors).
var vocabs = []string{"qwen2", "llama-bpe", "deepseek-llm", "deepseek-coder", "deepseek-v3"}

func newTokenizer(t testing.TB, r *Runtime, name string) *Tokenizer {
	t.Helper()
	tok, err := NewTokenizer(r, builtin.Tokenizer, loadVocab(t, "ggml-vocab-"+name+".gguf"), 2)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// vector is a text of NAME.inp and its ids in NAME.out (llama.cpp's test-tokenizer-0 format).
// TestTokenizerVectors runs llama.cpp's vectors for every fixture vocabulary through the wasm guest on each
// engine: Encode must give llama.cpp's ids, Decode the text back, and the per-token pieces the same bytes.
func TestTokenizerVectors(t *testing.T) {
	forEachEngine(t, tokenizerVectors)
}

func tokenizerVectors(t *testing.T, engine string) {
	ctx := context.Background()
	r := newRuntimeConfig(t, Config{Engine: engine})
	for _, name := range vocabs {
		t.Run(name, func(t *testing.T) {
			tok := newTokenizer(t, r, name)
			for _, v := range testutil.LlamaCppVectors(t, name) {
				ids, err := tok.Encode(ctx, v.Text, false, false)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids, v.IDs) {
					t.Errorf("Encode(%q)\n got %v\nwant %v", v.Text, ids, v.IDs)
					continue
				}
				back, err := tok.Decode(ctx, ids, false)
				if err != nil || string(back) != v.Text {
					t.Errorf("Decode(Encode(%q)) = %q, %v", v.Text, back, err)
				}
				var pieces []byte
				for _, id := range ids {
					p, err := tok.Piece(ctx, id, false)
					if err != nil {
						t.Fatal(err)
					}
					pieces = append(pieces, p...)
				}
				if string(pieces) != v.Text {
					t.Errorf("pieces of %q join to %q", v.Text, pieces)
				}
			}
		})
	}
}

// TestTokenizerRandom checks llama.cpp's ids for 731 texts aimed at the pre-tokenizers' corners, with and
// without special-token parsing, through the guest.
func TestTokenizerRandom(t *testing.T) {
	data := testutil.LlamaCppRandom(t)
	ctx := context.Background()
	r := newRuntime(t)
	for _, name := range []string{"qwen2", "deepseek-v3"} {
		tok := newTokenizer(t, r, name)
		want := data.IDs[name]
		if len(want.Plain) != len(data.Texts) || len(want.Special) != len(data.Texts) {
			t.Fatalf("%s: ids missing", name)
		}
		bad := 0
		for i, text := range data.Texts {
			for parse, ids := range map[bool][]int32{false: want.Plain[i], true: want.Special[i]} {
				got, err := tok.Encode(ctx, text, false, parse)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, ids) {
					if bad++; bad <= 5 {
						t.Errorf("%s: Encode(%q, parseSpecial=%v)\n got %v\nwant %v", name, text, parse, got, ids)
					}
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d encodings differ from llama.cpp", name, bad, 2*len(data.Texts))
		}
	}
}

// TestTokenizerSpecial: addSpecial prepends BOS where the vocabulary asks for it; special pieces come back
// only when asked for; an empty text and an out-of-range id behave.
func TestTokenizerSpecial(t *testing.T) {
	ctx := context.Background()
	r := newRuntime(t)
	v := loadVocab(t, "ggml-vocab-llama-bpe.gguf")
	tok, err := NewTokenizer(r, builtin.Tokenizer, v, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !v.AddBOS {
		t.Fatal("llama-bpe should add BOS")
	}
	ids, err := tok.Encode(ctx, "Hello", true, false)
	if err != nil || len(ids) < 2 || ids[0] != v.BOS {
		t.Fatalf("Encode with addSpecial: %v, %v; want BOS %d first", ids, err, v.BOS)
	}
	bos := v.Tokens[v.BOS]
	if p, err := tok.Piece(ctx, v.BOS, true); err != nil || string(p) != bos {
		t.Errorf("Piece(BOS, special) = %q, %v; want %q", p, err, bos)
	}
	if p, err := tok.Piece(ctx, v.BOS, false); err != nil || len(p) != 0 {
		t.Errorf("Piece(BOS, plain) = %q, %v; want nothing", p, err)
	}
	if ids, err := tok.Encode(ctx, bos+"Hi", false, true); err != nil || ids[0] != v.BOS {
		t.Errorf("Encode(%q, parseSpecial) = %v, %v", bos+"Hi", ids, err)
	}
	if ids, err := tok.Encode(ctx, "", false, false); err != nil || len(ids) != 0 {
		t.Errorf("Encode(\"\") = %v, %v", ids, err)
	}
	if p, err := tok.Piece(ctx, int32(len(v.Tokens)+5), false); err != nil || len(p) != 0 {
		t.Errorf("Piece(out of range) = %q, %v; want nothing", p, err)
	}
}

// benchText is about n bytes of the vocabulary vectors' texts (prose, code, CJK, emoji, numbers).
func benchText(t testing.TB, n int) string {
	var sb strings.Builder
	for sb.Len() < n {
		for _, v := range testutil.LlamaCppVectors(t, "qwen2") {
			sb.WriteString(v.Text)
			sb.WriteString("\n")
		}
	}
	s := sb.String()[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// BenchmarkTokenizerEncode encodes 10 KB of text in the guest, copies included.
func BenchmarkTokenizerEncode(b *testing.B) {
	ctx := context.Background()
	tok := newTokenizer(b, newRuntime(b), "qwen2")
	text := benchText(b, 10_000)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tok.Encode(ctx, text, false, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenizerPiece is the per-generated-token cost of detokenizing in the guest.
func BenchmarkTokenizerPiece(b *testing.B) {
	ctx := context.Background()
	tok := newTokenizer(b, newRuntime(b), "qwen2")
	ids, err := tok.Encode(ctx, benchText(b, 2000), false, false)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := tok.Piece(ctx, ids[i%len(ids)], false); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
