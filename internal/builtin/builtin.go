// Package builtin embeds the built-in guests, built from guest/tokenizer, guest/sampler and guest/policy
// by build.sh (`make guests`); `make test` checks these files match their source byte for byte.
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

// Policy is the policy guest (ABI v1): JSON schema and regex constraints, stop strings, banned words and
// a thinking budget, configured per request by a JSON object (guest/internal/policies documents the options).
//
//go:embed policy.wasm
var Policy []byte
