package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// SamplerParams is what smp_config receives: how to pick each token of one request. The zero value is
// greedy decoding with nothing else.
type SamplerParams struct {
	Temperature      float32           // <= 0: greedy
	TopK             int32             // <= 0: off
	TopP             float32           // outside (0, 1): off
	MinP             float32           // <= 0: off; above 1 keeps only the best tokens
	RepeatPenalty    float32           // 1, or <= 0: off
	RepeatLastN      int32             // history window of the three penalties; <= 0 means 64
	PresencePenalty  float32           // 0: off
	FrequencyPenalty float32           // 0: off
	LogitBias        map[int32]float32 // added to the logits first; -Inf bans a token, +Inf forces it
	Seed             uint64            // the PRNG seed: same seed, same tokens
}

// Layout of the SamplerParams blob, little-endian:
//
//	magic   [4]byte "WSMP"
//	version uint32  1
//	temperature, top_p, min_p, repeat_penalty, presence_penalty, frequency_penalty  6×float32
//	top_k, repeat_last_n                                                          2×int32
//	seed    uint64
//	n_bias  uint32, then n_bias × (id int32, bias float32), ids strictly ascending
const (
	samplerMagic   = "WSMP"
	samplerVersion = 1
	samplerFixed   = 4 + 4 + 6*4 + 2*4 + 8 + 4
	// MaxLogitBias bounds the logit_bias entries of one request.
	MaxLogitBias = 1 << 16
)

// Validate reports parameters no sampler accepts: NaN or infinite values (except ±Inf biases), or too
// many biases.
func (p *SamplerParams) Validate() error {
	for _, v := range p.floats() {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return errors.New("abi: sampler params hold a NaN or infinite value")
		}
	}
	if len(p.LogitBias) > MaxLogitBias {
		return fmt.Errorf("abi: %d logit_bias entries, at most %d", len(p.LogitBias), MaxLogitBias)
	}
	for id, bias := range p.LogitBias {
		if math.IsNaN(float64(bias)) {
			return fmt.Errorf("abi: logit_bias of token %d is NaN", id)
		}
	}
	return nil
}

// floats are the float fields in blob order.
func (p *SamplerParams) floats() [6]float32 {
	return [6]float32{p.Temperature, p.TopP, p.MinP, p.RepeatPenalty, p.PresencePenalty, p.FrequencyPenalty}
}

// MarshalBinary encodes p, which must be valid.
func (p *SamplerParams) MarshalBinary() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, samplerFixed+8*len(p.LogitBias))
	le := binary.LittleEndian
	b = append(b, samplerMagic...)
	b = le.AppendUint32(b, samplerVersion)
	for _, f := range p.floats() {
		b = le.AppendUint32(b, math.Float32bits(f))
	}
	b = le.AppendUint32(b, uint32(p.TopK))
	b = le.AppendUint32(b, uint32(p.RepeatLastN))
	b = le.AppendUint64(b, p.Seed)
	ids := make([]int32, 0, len(p.LogitBias))
	for id := range p.LogitBias {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b = le.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = le.AppendUint32(b, uint32(id))
		b = le.AppendUint32(b, math.Float32bits(p.LogitBias[id]))
	}
	return b, nil
}

// UnmarshalBinary decodes a blob from MarshalBinary and validates it; it never panics on bad bytes.
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
	for i := range n {
		id := int32(le.Uint32(rest[8*i:]))
		if i > 0 && id <= int32(le.Uint32(rest[8*(i-1):])) {
			return errors.New("abi: sampler params: logit_bias ids are not strictly ascending")
		}
		p.LogitBias[id] = math.Float32frombits(le.Uint32(rest[8*i+4:]))
	}
	return p.Validate()
}
