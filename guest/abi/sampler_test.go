package abi

import (
	"encoding/hex"
	"math"
	"reflect"
	"testing"
)

func TestSamplerParamsRoundTrip(t *testing.T) {
	p := SamplerParams{Temperature: 0.7, TopK: 40, TopP: 0.9, MinP: 0.05, RepeatPenalty: 1.1, RepeatLastN: 32,
		PresencePenalty: 0.5, FrequencyPenalty: -0.25, LogitBias: map[int32]float32{7: float32(math.Inf(-1)), 3: 2.5},
		Seed: 1<<63 + 5}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var q SamplerParams
	if err := q.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip:\n%+v\n%+v", p, q)
	}
	for n := range len(b) {
		if err := q.UnmarshalBinary(b[:n]); err == nil {
			t.Fatalf("prefix of %d bytes accepted", n)
		}
	}
}

// TestSamplerParamsLayout pins the blob's bytes: guests in any language decode this layout (guest/ABI.md).
func TestSamplerParamsLayout(t *testing.T) {
	p := SamplerParams{Temperature: 1, TopK: 2, TopP: 0.5, MinP: 0.25, RepeatPenalty: 2, RepeatLastN: 3,
		PresencePenalty: -1, FrequencyPenalty: 4, LogitBias: map[int32]float32{9: -2, 1: 1}, Seed: 0x0102030405060708}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := "57534d50" + "01000000" + // magic, version
		"0000803f" + "0000003f" + "0000803e" + "00000040" + "000080bf" + "00008040" + // 6 floats
		"02000000" + "03000000" + // top_k, repeat_last_n
		"0807060504030201" + // seed
		"02000000" + "01000000" + "0000803f" + "09000000" + "000000c0" // 2 biases, ascending
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("blob\n got %s\nwant %s", got, want)
	}
}

func TestSamplerParamsInvalid(t *testing.T) {
	nan := float32(math.NaN())
	for _, p := range []SamplerParams{
		{Temperature: nan},
		{TopP: float32(math.Inf(1))},
		{LogitBias: map[int32]float32{1: nan}},
	} {
		if _, err := p.MarshalBinary(); err == nil {
			t.Errorf("%+v encoded", p)
		}
	}
	// Descending or repeated bias ids are not a blob MarshalBinary writes.
	b, _ := (&SamplerParams{LogitBias: map[int32]float32{1: 1, 2: 2}}).MarshalBinary()
	copy(b[samplerFixed+8:], b[samplerFixed:samplerFixed+4]) // second id := first id
	var q SamplerParams
	if err := q.UnmarshalBinary(b); err == nil {
		t.Error("repeated logit_bias id accepted")
	}
}

func FuzzSamplerParams(f *testing.F) {
	p := SamplerParams{Temperature: 1, LogitBias: map[int32]float32{1: 1, 5: -3}}
	b, _ := p.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var q SamplerParams
		if q.UnmarshalBinary(data) != nil {
			return
		}
		again, err := q.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(data) {
			t.Fatalf("decoded params do not re-encode to the same bytes")
		}
	})
}
