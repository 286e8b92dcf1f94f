package main

import (
	"fmt"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/vocab"
)

// The stride walk of benchPrompt: prompt[i] = normal[(benchStart + benchStride·i) mod len(normal)].
// 7919 is a prime, so the walk visits every normal token before it repeats unless the count is a
// multiple of it, and it spreads a short prompt over the whole vocabulary.
const (
	benchStart  = 11
	benchStride = 7919
)

// benchPrompt returns the n prompt ids that `wasmoe bench` and tools/bench/llamacpp.mjs both evaluate: with
// normal the ids whose tokenizer.ggml.token_type is 1 (normal: not control, unknown, byte, unused or
// user-defined) in increasing order, every id when the file has no token types (llama.cpp then reads all
// tokens as normal), prompt[i] = normal[(11 + 7919·i) mod len(normal)].
func benchPrompt(f *gguf.File, n int) ([]int32, error) {
	var normal []int32
	if types, ok := f.Ints(vocab.KeyTokenType); ok {
		for id, t := range types {
			if t == int64(abi.TokenNormal) {
				normal = append(normal, int32(id))
			}
		}
	} else if tokens, ok := f.Strings(vocab.KeyTokens); ok {
		for id := range tokens {
			normal = append(normal, int32(id))
		}
	}
	if len(normal) == 0 {
		return nil, fmt.Errorf("%s: no normal tokens (%s = 1) to build the prompt from", f.Path, vocab.KeyTokenType)
	}
	prompt := make([]int32, n)
	for i := range prompt {
		prompt[i] = normal[(benchStart+benchStride*i)%len(normal)]
	}
	return prompt, nil
}
