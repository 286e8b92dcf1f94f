package kernels

import (
	"encoding/binary"
	"math"
	"testing"
)

func TestQuantizeRowQ8_0Known(t *testing.T) {
	// amax 127 gives d = 1 and id = 1, so the quants are the inputs rounded half away from zero.
	x := make([]float32, 64)
	for j := range 32 {
		x[j] = float32(j) - 16
	}
	x[0], x[1], x[2], x[3] = 127, 2.5, -2.5, 0.5
	// Second block all zero: d = 0, every quant 0.
	b := make([]byte, 2*q8BlockSize)
	QuantizeRowQ8_0(b, x)
	if d := binary.LittleEndian.Uint16(b); d != 0x3c00 {
		t.Fatalf("block 0 scale %#04x, want 0x3c00", d)
	}
	want := []int8{127, 3, -3, 1}
	for j := 4; j < 32; j++ {
		want = append(want, int8(j-16))
	}
	for j, w := range want {
		if got := int8(b[2+j]); got != w {
			t.Errorf("block 0 quant %d = %d, want %d", j, got, w)
		}
	}
	for _, v := range b[q8BlockSize:] {
		if v != 0 {
			t.Fatalf("zero block encodes as % x", b[q8BlockSize:])
		}
	}
}

func TestQuantizeRowQ8_0Scale(t *testing.T) {
	// amax 1: d = 1/127 (stored as fp16 0x2008 = 0.0078887939), id = 1/d taken from the float32 d.
	x := make([]float32, 32)
	x[0], x[1], x[2] = -1, 0.5, 0.25
	b := make([]byte, q8BlockSize)
	QuantizeRowQ8_0(b, x)
	if d := binary.LittleEndian.Uint16(b); d != F32ToF16(float32(1)/127) || d != 0x2008 {
		t.Fatalf("scale %#04x, want 0x2008", d)
	}
	id := 1 / (float32(1) / 127)
	for j, v := range x[:3] {
		if got, want := int8(b[2+j]), int8(math.Round(float64(v*id))); got != want {
			t.Errorf("quant %d = %d, want %d", j, got, want)
		}
	}
	if int8(b[2]) != -127 || int8(b[3]) != 64 || int8(b[4]) != 32 {
		t.Errorf("quants %d %d %d, want -127 64 32", int8(b[2]), int8(b[3]), int8(b[4]))
	}
}

func TestQuantizeRowQ8_0RoundTrip(t *testing.T) {
	r := newRand(9)
	x := randVec(r, 32*50, 3)
	b := make([]byte, 50*q8BlockSize)
	QuantizeRowQ8_0(b, x)
	y := make([]float32, len(x))
	if err := DequantizeRow(Q8_0, y, b); err != nil {
		t.Fatal(err)
	}
	for blk := 0; blk < 50; blk++ {
		d := F16ToF32(binary.LittleEndian.Uint16(b[blk*q8BlockSize:]))
		for j := blk * 32; j < (blk+1)*32; j++ {
			if math.Abs(float64(x[j]-y[j])) > 0.5*float64(d)*1.01+1e-3*math.Abs(float64(x[j])) {
				t.Fatalf("element %d: %v came back as %v (d=%v)", j, x[j], y[j], d)
			}
		}
	}
}

func TestQuantizeRowQ8_0Panics(t *testing.T) {
	for _, c := range []struct{ dst, src int }{{34, 31}, {33, 32}, {0, 32}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("QuantizeRowQ8_0 into %d bytes from %d values did not panic", c.dst, c.src)
				}
			}()
			QuantizeRowQ8_0(make([]byte, c.dst), make([]float32, c.src))
		}()
	}
}

// The activation quantizer is ggml-cpu's x86 one: id = 127/amax and ties to even, unlike the reference.
func TestQuantizeActQ8_0(t *testing.T) {
	r := newRand(10)
	eachISA(t, func(t *testing.T) {
		k := active.Load()
		x := make([]float32, 64)
		x[0], x[1], x[2], x[3], x[4], x[5] = 127, 2.5, -2.5, 3.5, -0.5, -0.3
		qs, d := make([]int8, 64), make([]float32, 2)
		k.quantQ8(qs, d, x)
		if d[0] != 1 || d[1] != 0 {
			t.Fatalf("scales %v, want [1 0]", d)
		}
		if got := qs[:6]; got[0] != 127 || got[1] != 2 || got[2] != -2 || got[3] != 4 || got[4] != 0 || got[5] != 0 {
			t.Fatalf("quants %v, want [127 2 -2 4 0 0]", got)
		}
		// Below amax 127/FLT_MAX ggml's id = 127/amax overflows: every quant is −128 (the x86 conversion of
		// ±Inf, saturated) and the scale rounds to 0.
		tiny := make([]float32, 32)
		tiny[3], tiny[9] = 1e-38, -2e-38
		qs, d = make([]int8, 32), make([]float32, 1)
		k.quantQ8(qs, d, tiny)
		rq, rd := make([]int8, 32), make([]float32, 1)
		quantizeActQ8_0Ref(rq, rd, tiny)
		for j := range qs {
			if qs[j] != -128 || rq[j] != -128 || d[0] != 0 || rd[0] != 0 {
				t.Fatalf("tiny block: quant %d %d (reference %d), scale %v (reference %v), want −128 and 0", j, qs[j], rq[j], d[0], rd[0])
			}
		}
		for _, sd := range []float64{1e-30, 1e-3, 2, 1e30} {
			x = randVec(r, 32*100, sd)
			x[5] = -x[7] * 5 // a block whose extreme is negative
			qs, d = make([]int8, len(x)), make([]float32, 100)
			k.quantQ8(qs, d, x)
			rq, rd := make([]int8, len(x)), make([]float32, 100)
			quantizeActQ8_0Ref(rq, rd, x)
			for b := range d {
				var amax float32
				for _, v := range x[b*32 : (b+1)*32] {
					amax = max(amax, abs32(v))
				}
				if d[b] != F16ToF32(F32ToF16(amax/127)) || !sameBits(d[b], rd[b]) {
					t.Fatalf("block %d scale %v (reference %v), amax %v", b, d[b], rd[b], amax)
				}
				id := 127 / amax
				for j := b * 32; j < (b+1)*32; j++ {
					want := math.RoundToEven(float64(x[j] * id))
					if float64(qs[j]) != want || qs[j] != rq[j] || qs[j] < -127 {
						t.Fatalf("sd %g element %d: quant %d (reference %d), want %v", sd, j, qs[j], rq[j], want)
					}
				}
			}
		}
	})
}
