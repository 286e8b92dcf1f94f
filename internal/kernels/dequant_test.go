package kernels

import (
	"math"
	"testing"
)

func TestSupported(t *testing.T) {
	for _, ty := range []DType{F32, F16, BF16, Q8_0} {
		if !Supported(ty) {
			t.Errorf("%v not supported", ty)
		}
	}
	for _, ty := range []DType{IQ2_XXS, IQ1_S, TQ1_0, MXFP4, I8, Q8_K, Q8_1, DType(99)} {
		if Supported(ty) {
			t.Errorf("%v supported", ty)
		}
	}
}

func TestDequantizeRowKnown(t *testing.T) {
	f32 := make([]byte, 8)
	copy(f32, []byte{0, 0, 0xc0, 0x3f, 0, 0, 0x20, 0xc1}) // 1.5, -10
	q8 := make([]byte, q8BlockSize)
	q8[0], q8[1] = 0x00, 0x38 // d = 0.5
	q8[2], q8[3], q8[4] = 0x80, 0x7f, 0xff
	cases := []struct {
		t    DType
		src  []byte
		want []float32
	}{
		{F32, f32, []float32{1.5, -10}},
		{F16, []byte{0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b}, []float32{1, -2, 65504}},
		{BF16, []byte{0x80, 0x3f, 0x49, 0x40}, []float32{1, 3.140625}},
		{Q8_0, q8, append([]float32{-64, 63.5, -0.5}, make([]float32, 29)...)},
	}
	for _, c := range cases {
		eachISA(t, func(t *testing.T) {
			got := make([]float32, len(c.want))
			if err := DequantizeRow(c.t, got, c.src); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("%v element %d = %v, want %v", c.t, i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestDequantizeRowErrors(t *testing.T) {
	for _, c := range []struct {
		t DType
		n int
	}{{F32, 5}, {F16, 7}, {BF16, 3}, {Q8_0, 64}} {
		need, _ := c.t.RowBytes(c.n)
		for l := 0; l < need; l++ {
			dst := make([]float32, c.n)
			if err := DequantizeRow(c.t, dst, make([]byte, l)); err == nil {
				t.Fatalf("%v: %d elements from %d bytes gave no error", c.t, c.n, l)
			}
		}
		if err := DequantizeRow(c.t, make([]float32, c.n), make([]byte, need)); err != nil {
			t.Fatalf("%v: %d elements from %d bytes: %v", c.t, c.n, need, err)
		}
	}
	if err := DequantizeRow(Q8_0, make([]float32, 33), make([]byte, 1000)); err == nil {
		t.Error("Q8_0 row of 33 elements gave no error")
	}
	for _, ty := range []DType{IQ2_XXS, TQ2_0, DType(77)} {
		if err := DequantizeRow(ty, make([]float32, 256), make([]byte, 1000)); err == nil {
			t.Errorf("%v gave no error", ty)
		}
	}
}

func TestDequantizeRowMatchesConversions(t *testing.T) {
	r := newRand(11)
	x := randVec(r, 96, 5)
	x[3] = float32(math.Inf(-1))
	for _, ty := range []DType{F32, F16, BF16} {
		src := encode(ty, x)
		eachISA(t, func(t *testing.T) {
			got := make([]float32, len(x))
			if err := DequantizeRow(ty, got, src); err != nil {
				t.Fatal(err)
			}
			for i, v := range x {
				want := v
				switch ty {
				case F16:
					want = F16ToF32(F32ToF16(v))
				case BF16:
					want = BF16ToF32(F32ToBF16(v))
				}
				if !sameBits(got[i], want) {
					t.Fatalf("%v element %d = %v, want %v", ty, i, got[i], want)
				}
			}
		})
	}
}
