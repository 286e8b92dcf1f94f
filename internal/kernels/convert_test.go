package kernels

import (
	"math"
	"testing"
)

// f16Value decodes a half by its definition, in float64 (an independent truth for F16ToF32).
func f16Value(h uint16) float64 {
	s := 1.0
	if h&0x8000 != 0 {
		s = -1
	}
	e, m := int(h>>10&0x1f), float64(h&0x3ff)
	switch {
	case e == 0x1f && m == 0:
		return math.Inf(int(s))
	case e == 0x1f:
		return math.NaN()
	case e == 0:
		return s * math.Ldexp(m, -24)
	}
	return s * math.Ldexp(1+m/1024, e-15)
}

func TestF16ToF32AllValues(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got, want := F16ToF32(h), f16Value(h)
		if math.IsNaN(want) {
			// NaN: sign and payload kept, quiet bit set.
			wantBits := uint32(h&0x8000)<<16 | 0x7fc00000 | uint32(h&0x3ff)<<13
			if math.Float32bits(got) != wantBits {
				t.Fatalf("%#04x: got bits %#08x, want %#08x", h, math.Float32bits(got), wantBits)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != (h&0x8000 != 0) {
			t.Fatalf("%#04x: got %v, want %v", h, got, want)
		}
	}
}

func TestF16RoundTrip(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		want := h
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			want |= 0x200 // NaNs come back quiet
		}
		if got := F32ToF16(F16ToF32(h)); got != want {
			t.Fatalf("%#04x -> %v -> %#04x", h, F16ToF32(h), got)
		}
	}
}

// Every point halfway between two adjacent halves must round to the even one, and the floats just
// either side of it to the nearer one.
func TestF32ToF16RoundsToNearestEven(t *testing.T) {
	for i := 0; i < 0x7c00; i++ {
		lo, hi := uint16(i), uint16(i+1) // hi may be 0x7c00 = +Inf, the rounding target above 65504
		a := f16Value(lo)
		b := 65536.0
		if hi < 0x7c00 {
			b = f16Value(hi)
		}
		mid := float32((a + b) / 2) // exact: a half has 11 significant bits
		even := lo
		if lo&1 == 1 {
			even = hi
		}
		for _, sign := range []uint16{0, 0x8000} {
			m := mid
			if sign != 0 {
				m = -mid
			}
			if got := F32ToF16(m); got != even|sign {
				t.Fatalf("tie %v: got %#04x, want %#04x", m, got, even|sign)
			}
			below := math.Nextafter32(mid, 0)
			above := math.Nextafter32(mid, float32(math.Inf(1)))
			if sign != 0 {
				below, above = -below, -above
			}
			if got := F32ToF16(below); got != lo|sign {
				t.Fatalf("%v: got %#04x, want %#04x", below, got, lo|sign)
			}
			if got := F32ToF16(above); got != hi|sign {
				t.Fatalf("%v: got %#04x, want %#04x", above, got, hi|sign)
			}
		}
	}
}

func TestF32ToF16Special(t *testing.T) {
	cases := []struct {
		f    float32
		want uint16
	}{
		{0, 0}, {float32(math.Copysign(0, -1)), 0x8000}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff},
		{1e6, 0x7c00}, {-1e6, 0xfc00}, {float32(math.Inf(1)), 0x7c00}, {float32(math.Inf(-1)), 0xfc00},
		{0x1p-24, 0x0001}, {0x1p-14, 0x0400}, {0x1p-26, 0}, {math.SmallestNonzeroFloat32, 0},
		{math.Float32frombits(0x7fc00000), 0x7e00}, {math.Float32frombits(0x7f800001), 0x7e00},
		{math.Float32frombits(0xffa02000), 0xff01},
	}
	for _, c := range cases {
		if got := F32ToF16(c.f); got != c.want {
			t.Errorf("F32ToF16(%v [%#08x]) = %#04x, want %#04x", c.f, math.Float32bits(c.f), got, c.want)
		}
	}
}

// The SIMD conversions (F16C on amd64) must agree with the scalar ones bit for bit, NaNs included.
func TestHalfConversionKernels(t *testing.T) {
	r := newRand(7)
	src := make([]float32, 1<<16+1000)
	for i := range src {
		switch {
		case i < 1<<16:
			src[i] = F16ToF32(uint16(i))
		case i%2 == 0:
			src[i] = math.Float32frombits(r.Uint32())
		default:
			src[i] = float32(r.NormFloat64() * 100)
		}
	}
	raw := make([]byte, 2*(1<<16))
	for i := 0; i < 1<<16; i++ {
		raw[2*i], raw[2*i+1] = byte(i), byte(i>>8)
	}
	eachISA(t, func(t *testing.T) {
		k := active.Load()
		for _, n := range []int{0, 1, 7, 8, 9, len(src)} {
			h := make([]float32, n)
			k.roundF16(h, src)
			for i, v := range h {
				if want := F16ToF32(F32ToF16(src[i])); !sameBits(v, want) {
					t.Fatalf("roundF16(%#08x) = %#08x, want %#08x", math.Float32bits(src[i]), math.Float32bits(v), math.Float32bits(want))
				}
			}
		}
		for _, n := range []int{0, 1, 7, 8, 9, 1 << 16} {
			f := make([]float32, n)
			k.f16ToF32(f, raw)
			for i, v := range f {
				if want := F16ToF32(uint16(i)); !sameBits(v, want) {
					t.Fatalf("f16ToF32(%#04x) = %#08x, want %#08x", i, math.Float32bits(v), math.Float32bits(want))
				}
			}
		}
	})
}

func TestBF16(t *testing.T) {
	cases := []struct {
		bits uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, even below
		{0x3f818000, 0x3f82}, // tie, even above
		{0x3f808001, 0x3f81}, // just above the tie
		{0x3f807fff, 0x3f80}, // just below the tie
		{0xbf808001, 0xbf81}, // negative
		{0x7f7fffff, 0x7f80}, // largest float rounds to +Inf
		{0x7f800000, 0x7f80}, // +Inf
		{0x7f800001, 0x7fc0}, // signalling NaN made quiet
		{0xffc12345, 0xffc1}, // quiet NaN keeps its top bits
		{0x00000001, 0x0000}, // subnormals round, not flush
		{0x00018000, 0x0002}, // subnormal tie to even
		{0x80000000, 0x8000}, // -0
	}
	for _, c := range cases {
		if got := F32ToBF16(math.Float32frombits(c.bits)); got != c.want {
			t.Errorf("F32ToBF16(%#08x) = %#04x, want %#04x", c.bits, got, c.want)
		}
	}
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		if got := math.Float32bits(BF16ToF32(h)); got != uint32(h)<<16 {
			t.Fatalf("BF16ToF32(%#04x) = %#08x", h, got)
		}
		if h&0x7f80 == 0x7f80 && h&0x7f != 0 {
			continue
		}
		if got := F32ToBF16(BF16ToF32(h)); got != h {
			t.Fatalf("round trip of %#04x gave %#04x", h, got)
		}
	}
	// Independent truth for finite values: the nearer of the two neighbouring bf16 values, ties to even.
	r := newRand(8)
	for range 1 << 16 {
		u := r.Uint32()
		f := math.Float32frombits(u)
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			continue
		}
		lo := uint16(u >> 16)
		dLo := math.Abs(float64(f) - float64(BF16ToF32(lo)))
		hi := float64(BF16ToF32(lo + 1))
		if math.IsInf(hi, 0) {
			hi = math.Copysign(0x1p128, hi) // rounding treats the step past the largest value as 2^128
		}
		dHi := math.Abs(hi - float64(f))
		want := lo
		if dHi < dLo || dHi == dLo && lo&1 == 1 {
			want = lo + 1
		}
		if got := F32ToBF16(f); got != want {
			t.Fatalf("F32ToBF16(%#08x) = %#04x, want %#04x", u, got, want)
		}
	}
}
