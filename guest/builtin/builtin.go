// Package builtin embeds the built-in guests, built from guest/tokenizer and guest/sampler by build.sh
// (`make guests`); `make test` checks these files match their source byte for byte.
package builtin

import _ "embed"

// Tokenizer is the tokenizer guest (byte-level BPE with llama.cpp's pre-tokenizers).
//
//go:embed tokenizer.wasm
var Tokenizer []byte

// Sampler is the sampler guest (llama.cpp's sampling chain).
//
//go:embed sampler.wasm
var Sampler []byte
