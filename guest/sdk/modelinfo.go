package sdk

import (
	"encoding/binary"
	"fmt"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// ModelInfo is the model_info record (abi.ModelInfoSize bytes, layout in guest/abi/v1.go).
type ModelInfo struct {
	ABIVersion int // abi.Version of the host
	NLogits    int // logits per step; a mask covers this many tokens
	NTokens    int // tokens in the tokenizer (≤ NLogits); ids past it are never allowed
	NCtx       int // tokens of context per sequence

	// Special ids, -1 when absent.
	BOS, EOS, EOT, ThinkOpen, ThinkClose int32

	MaxForks  int // sequences a request may have at once
	MaxSplice int // tokens one splice may add
	MaxBias   int // bias pairs one step may give
}

// MaskWords is the length in uint32 words of a mask over n tokens: ceil(n/32).
func MaskWords(n int) int { return (n + 31) / 32 }

// ParseModelInfo decodes a model_info record. It checks the length, that the counts are non-negative and
// fit together, and that each special id is -1 or below NTokens.
func ParseModelInfo(b []byte) (ModelInfo, error) {
	if len(b) < abi.ModelInfoSize {
		return ModelInfo{}, fmt.Errorf("sdk: model_info: %d bytes, want %d", len(b), abi.ModelInfoSize)
	}
	var f [12]int32
	for i := range f {
		f[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	m := ModelInfo{
		ABIVersion: int(f[0]), NLogits: int(f[1]), NTokens: int(f[2]), NCtx: int(f[3]),
		BOS: f[4], EOS: f[5], EOT: f[6], ThinkOpen: f[7], ThinkClose: f[8],
		MaxForks: int(f[9]), MaxSplice: int(f[10]), MaxBias: int(f[11]),
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"n_logits", m.NLogits}, {"n_tokens", m.NTokens}, {"n_ctx", m.NCtx}, {"max_forks", m.MaxForks},
		{"max_splice", m.MaxSplice}, {"max_bias", m.MaxBias}} {
		if c.v < 0 {
			return ModelInfo{}, fmt.Errorf("sdk: model_info: %s = %d", c.name, c.v)
		}
	}
	if m.NTokens > m.NLogits {
		return ModelInfo{}, fmt.Errorf("sdk: model_info: %d tokens for %d logits", m.NTokens, m.NLogits)
	}
	for _, id := range []int32{m.BOS, m.EOS, m.EOT, m.ThinkOpen, m.ThinkClose} {
		if id < -1 || int(id) >= m.NTokens {
			return ModelInfo{}, fmt.Errorf("sdk: model_info: special id %d out of range (%d tokens)", id, m.NTokens)
		}
	}
	return m, nil
}
