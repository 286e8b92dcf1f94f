package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
)

// SamplerParams is what smp_config receives: how to pick each token of one request.
type SamplerParams struct {
	Temperature      float32           // <= 0: greedy
	TopK             int32             // <= 0: off
	TopP             float32           // >= 1: off
	MinP             float32           // <= 0: off
	RepeatPenalty    float32           // 1 (or 0): off
	RepeatLastN      int32             // history window of the penalties; <= 0 means 64
	PresencePenalty  float32           // 0: off
	FrequencyPenalty float32           // 0: off
	LogitBias        map[int32]float32 // added to the logits first
	Seed             uint64            // the PRNG seed
}

// Layout of the SamplerParams blob, little-endian:
//
//	magic   [4]byte "WSMP"
//	version uint32  1
//	temperature, top_p, min_p, repeat_penalty, presence_penalty, frequency_penalty  6×float32
//	top_k, repeat_last_n                                                          2×int32
//	seed    uint64
//	n_bias  uint32, then n_bias × (id int32, bias float32), ids ascending
const (
	samplerMagic   = "WSMP"
	samplerVersion = 1
	samplerFixed   = 4 + 4 + 6*4 + 2*4 + 8 + 4
	// MaxLogitBias bounds the logit_bias entries of one request.
	MaxLogitBias = 1 << 16
)

// MarshalBinary encodes p.
func (p *SamplerParams) MarshalBinary() ([]byte, error) {
	if len(p.LogitBias) > MaxLogitBias {
		return nil, fmt.Errorf("abi: %d logit_bias entries, at most %d", len(p.LogitBias), MaxLogitBias)
	}
	b := make([]byte, 0, samplerFixed+8*len(p.LogitBias))
	le := binary.LittleEndian
	b = append(b, samplerMagic...)
	b = le.AppendUint32(b, samplerVersion)
	for _, f := range []float32{p.Temperature, p.TopP, p.MinP, p.RepeatPenalty, p.PresencePenalty, p.FrequencyPenalty} {
		b = le.AppendUint32(b, math.Float32bits(f))
	}
	b = le.AppendUint32(b, uint32(p.TopK))
	b = le.AppendUint32(b, uint32(p.RepeatLastN))
	b = le.AppendUint64(b, p.Seed)
	ids := make([]int32, 0, len(p.LogitBias))
	for id := range p.LogitBias {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	b = le.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = le.AppendUint32(b, uint32(id))
		b = le.AppendUint32(b, math.Float32bits(p.LogitBias[id]))
	}
	return b, nil
}

// UnmarshalBinary decodes a blob from MarshalBinary; it never panics on bad bytes.
func (p *SamplerParams) UnmarshalBinary(b []byte) error {
	if len(b) < samplerFixed || string(b[:4]) != samplerMagic {
		return errors.New("abi: not a sampler params blob")
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[4:]); v != samplerVersion {
		return fmt.Errorf("abi: sampler params version %d, want %d", v, samplerVersion)
	}
	f := func(i int) float32 { return math.Float32frombits(le.Uint32(b[8+4*i:])) }
	*p = SamplerParams{Temperature: f(0), TopP: f(1), MinP: f(2), RepeatPenalty: f(3), PresencePenalty: f(4), FrequencyPenalty: f(5)}
	p.TopK = int32(le.Uint32(b[32:]))
	p.RepeatLastN = int32(le.Uint32(b[36:]))
	p.Seed = le.Uint64(b[40:])
	n := le.Uint32(b[48:])
	rest := b[samplerFixed:]
	if n > MaxLogitBias || uint64(len(rest)) != 8*uint64(n) {
		return fmt.Errorf("abi: sampler params: %d logit_bias entries in %d bytes", n, len(rest))
	}
	if n > 0 {
		p.LogitBias = make(map[int32]float32, n)
	}
	for i := uint32(0); i < n; i++ {
		id := int32(le.Uint32(rest[8*i:]))
		bias := math.Float32frombits(le.Uint32(rest[8*i+4:]))
		if math.IsNaN(float64(bias)) {
			return fmt.Errorf("abi: sampler params: logit_bias of token %d is NaN", id)
		}
		p.LogitBias[id] = bias
	}
	for _, v := range []float32{p.Temperature, p.TopP, p.MinP, p.RepeatPenalty, p.PresencePenalty, p.FrequencyPenalty} {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return errors.New("abi: sampler params hold a NaN or infinite value")
		}
	}
	return nil
}
