//go:build !wasip1

package constraint

import (
	"sync"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/guest/internal/bpe"
	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/vocab"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

var (
	v3Once   sync.Once
	v3Tokens [][]byte
	v3Err    error
)

// deepSeekV3Vocab is DeepSeek-V3's 129,280-token vocabulary (testdata/vocab) as the built-in policy guest
// sees it: each token's bytes as the tokenizer guest spells them, nil for control, unknown and unused
// tokens (guest/internal/policies/vocab.go).
func deepSeekV3Vocab(tb testing.TB) [][]byte {
	tb.Helper()
	v3Once.Do(func() {
		f, err := gguf.Open(testutil.Vocab(tb, "ggml-vocab-deepseek-v3.gguf"))
		if err != nil {
			v3Err = err
			return
		}
		defer f.Close()
		v, err := vocab.FromGGUF(f)
		if err != nil {
			v3Err = err
			return
		}
		tok, err := bpe.New(v)
		if err != nil {
			v3Err = err
			return
		}
		v3Tokens = make([][]byte, len(v.Tokens))
		for id := range v3Tokens {
			switch v.Types[id] {
			case abi.TokenControl, abi.TokenUnknown, abi.TokenUnused:
			default:
				v3Tokens[id] = tok.Piece(int32(id), true)
			}
		}
	})
	if v3Err != nil {
		tb.Fatal(v3Err)
	}
	return v3Tokens
}
