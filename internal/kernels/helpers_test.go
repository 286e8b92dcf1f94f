package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// eachISA runs f once for every kernel set this CPU has, with that set active.
func eachISA(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	prev := ISA()
	defer func() {
		if err := SetISA(prev); err != nil {
			t.Fatal(err)
		}
	}()
	for _, name := range ISAs() {
		if err := SetISA(name); err != nil {
			t.Fatal(err)
		}
		t.Run(name, f)
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// randVec returns n values, normally distributed with standard deviation sd.
func randVec(r *rand.Rand, n int, sd float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * sd)
	}
	return v
}

// encode stores x as n elements of type t (Q8_0 through the reference quantizer).
func encode(t DType, x []float32) []byte {
	switch t {
	case F32:
		b := make([]byte, 4*len(x))
		for i, v := range x {
			u := math.Float32bits(v)
			b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		}
		return b
	case F16, BF16:
		b := make([]byte, 2*len(x))
		for i, v := range x {
			h := F32ToF16(v)
			if t == BF16 {
				h = F32ToBF16(v)
			}
			b[2*i], b[2*i+1] = byte(h), byte(h>>8)
		}
		return b
	}
	n, err := t.RowBytes(len(x))
	if err != nil {
		panic(err)
	}
	b := make([]byte, n)
	if err := QuantizeRow(t, b, x); err != nil {
		panic(err)
	}
	return b
}

// sameBits reports whether a and b are the same float32 bit patterns.
func sameBits(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }
