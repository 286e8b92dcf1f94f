package abi

import (
	"reflect"
	"testing"
)

func TestSamplerParamsRoundTrip(t *testing.T) {
	p := SamplerParams{Temperature: 0.7, TopK: 40, TopP: 0.9, MinP: 0.05, RepeatPenalty: 1.1, RepeatLastN: 32,
		PresencePenalty: 0.5, FrequencyPenalty: -0.25, LogitBias: map[int32]float32{7: -100, 3: 2.5}, Seed: 1<<63 + 5}
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
	for n := 0; n < len(b); n++ {
		if err := q.UnmarshalBinary(b[:n]); err == nil {
			t.Fatalf("prefix of %d bytes accepted", n)
		}
	}
}

func FuzzSamplerParams(f *testing.F) {
	p := SamplerParams{Temperature: 1, LogitBias: map[int32]float32{1: 1}}
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
		var r SamplerParams
		if err := r.UnmarshalBinary(again); err != nil || !reflect.DeepEqual(q, r) {
			t.Fatalf("decoded params do not round-trip: %v", err)
		}
	})
}
