package kernels

import (
	"fmt"
	"math"
	"math/big"
	"testing"
)

// fma32 must round a·b + c exactly once, as the hardware's fused multiply-add: checked against math/big's
// exact sum rounded to float32, on random operands and on the cases where a second rounding would show
// (an addend far below the product's last bit, sums at a float32 halfway point, cancellation).
func TestFMA32(t *testing.T) {
	r := newRand(7)
	type tc struct{ a, b, c float32 }
	cases := []tc{{1, 1 + 0x1p-23, 0x1p-60}, {1 + 0x1p-23, 1 + 0x1p-23, -1}, {3, 1.0 / 3, -1},
		{1, 1, 0x1p-24}, {1, 1, 0x1p-24 + 0x1p-70}, {1, 1, -0x1p-25 - 0x1p-80}, {0x1p100, 0x1p-120, 1e-30},
		{-1.5, 2, 3}, {0, 5, -0}}
	for range 20000 {
		a, b := float32(r.NormFloat64()), float32(r.NormFloat64())
		c := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(80)-60)))
		if r.IntN(4) == 0 { // the sum cancels most of the product
			c = -float32(float64(a) * float64(b))
			c = math.Float32frombits(math.Float32bits(c) ^ uint32(r.IntN(4)))
		}
		cases = append(cases, tc{a, b, c})
	}
	for _, c := range cases {
		exact := new(big.Float).SetPrec(200).SetFloat64(float64(c.a))
		exact.Mul(exact, new(big.Float).SetFloat64(float64(c.b)))
		exact.Add(exact, new(big.Float).SetFloat64(float64(c.c)))
		want, _ := exact.Float32()
		if got := fma32(c.a, c.b, c.c); !sameBits(got, want) && !(got == 0 && want == 0) {
			t.Fatalf("fma32(%v, %v, %v) = %v, exact sum rounded %v", c.a, c.b, c.c, got, want)
		}
	}
	// Infinities and NaNs, which big.Float does not hold: IEEE 754's fusedMultiplyAdd.
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, c := range []struct{ a, b, c, want float32 }{{inf, 2, 1, inf}, {-inf, 2, 1, -inf}, {2, 3, -inf, -inf},
		{inf, 1, -inf, nan}, {inf, 0, 1, nan}, {nan, 1, 1, nan}, {1, 1, nan, nan}} {
		if got := fma32(c.a, c.b, c.c); !sameBits(got, c.want) && !(got != got && c.want != c.want) {
			t.Errorf("fma32(%v, %v, %v) = %v, want %v", c.a, c.b, c.c, got, c.want)
		}
	}
}

// expGGML is an approximation of e^x: within 3 ulp of math.Exp over the float32 range that neither
// overflows nor underflows, exactly 1 at 0, and 0 and +Inf beyond ggml's ±192·ln 2 cut-off.
func TestExpGGML(t *testing.T) {
	for x := float32(-87); x < 88; x += 0.0037 {
		got, want := float64(expGGML(x)), math.Exp(float64(x))
		if ulp := float64(math.Nextafter32(float32(want), float32(math.Inf(1))) - float32(want)); math.Abs(got-want) > 3*ulp {
			t.Fatalf("expGGML(%v) = %v, e^x = %v (%.1f ulp)", x, got, want, math.Abs(got-want)/ulp)
		}
	}
	if e := expGGML(0); e != 1 {
		t.Errorf("expGGML(0) = %v", e)
	}
	if e := expGGML(-200); e != 0 {
		t.Errorf("expGGML(-200) = %v", e)
	}
	if e := expGGML(200); !math.IsInf(float64(e), 1) {
		t.Errorf("expGGML(200) = %v", e)
	}
}

// SiLUMul gives siluMulRef's bits on every kernel set, whatever the length and the start of the slice
// (a MoE row range starts anywhere), including values past the cut-offs and signed zeros.
func TestSiLUMulKernelSets(t *testing.T) {
	r := newRand(3)
	g, u := randVec(r, 1000, 4), randVec(r, 1000, 1)
	for i, v := range []float32{0, float32(math.Copysign(0, -1)), 100, -100, 150, -150, 1e-40, 89, -89, 3e6, -3e6} {
		g[7*i+3] = v
	}
	for _, k := range available() {
		for _, span := range [][2]int{{0, 1000}, {5, 1000}, {3, 19}, {0, 16}, {1, 2}, {16, 48}, {37, 911}} {
			want := append([]float32(nil), g[span[0]:span[1]]...)
			siluMulRef(want, u[span[0]:span[1]])
			got := append([]float32(nil), g[span[0]:span[1]]...)
			withSet(t, k, func() { SiLUMul(got, u[span[0]:span[1]]) })
			for i := range want {
				if !sameBits(got[i], want[i]) {
					t.Fatalf("%s, values %v: [%d] = %v, reference %v (gate %v)", k.name, span, i, got[i], want[i],
						g[span[0]+i])
				}
			}
		}
	}
}

// BenchmarkSiLUMul is one MoE expert's gate row of V2-Lite (1408 values) per kernel set.
func BenchmarkSiLUMul(b *testing.B) {
	r := newRand(1)
	g, u := randVec(r, 1408, 2), randVec(r, 1408, 1)
	for _, k := range available() {
		b.Run(fmt.Sprint(k.name), func(b *testing.B) {
			prev := active.Load()
			active.Store(k)
			defer active.Store(prev)
			x := make([]float32, len(g))
			for b.Loop() {
				copy(x, g)
				SiLUMul(x, u)
			}
		})
	}
}
