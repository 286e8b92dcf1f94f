package kernels

import (
	"math"
	"testing"
)

// TestKQuantRoundTripError checks that dequant(quantize(x)) of Gaussian data (sd 1) has the relative RMS
// error each type's bit width gives (about 0.30, 0.15, 0.072, 0.036, 0.017 for Q2_K..Q6_K: each bit halves
// it; 0.077 for IQ4_XS). Shifted by 1.5, the data keep that error in the types with per-sub-block mins
// (Q2_K, Q4_K, Q5_K) and lose about half again in the symmetric ones, whose levels must now span the
// larger magnitudes. Scaling x by 1024 must scale the result exactly (the fp16 scales just move their
// exponents), so the error is relative to the data.
func TestKQuantRoundTripError(t *testing.T) {
	type band struct {
		lo, hi  float64 // relative RMS error of centred data
		hasMins bool
	}
	bands := map[DType]band{
		Q2_K: {0.27, 0.32, true}, Q3_K: {0.135, 0.165, false}, Q4_K: {0.065, 0.078, true},
		Q5_K: {0.032, 0.039, true}, Q6_K: {0.0155, 0.019, false}, IQ4_XS: {0.068, 0.083, false},
	}
	r := newRand(7)
	for _, offset := range []float32{0, 1.5} {
		x := randVec(r, 8*qkK, 1)
		big := make([]float32, len(x))
		for i := range x {
			x[i] += offset
			big[i] = x[i] * 1024
		}
		for _, f := range kqTypes {
			q := make([]byte, len(x)/qkK*f.t.TypeSize())
			y, ybig := make([]float32, len(x)), make([]float32, len(x))
			f.quantize(q, x)
			f.dequant(y, q)
			f.quantize(q, big)
			f.dequant(ybig, q)
			var e, n float64
			for i := range x {
				d := float64(y[i]) - float64(x[i])
				e += d * d
				n += float64(x[i]-offset) * float64(x[i]-offset)
				if ybig[i] != y[i]*1024 {
					t.Fatalf("%v offset %g: element %d of 1024·x comes back %g, 1024·%g expected", f.t, offset, i, ybig[i], y[i])
				}
			}
			rel := math.Sqrt(e / n)
			b := bands[f.t]
			lo, hi := b.lo, b.hi
			if offset != 0 && !b.hasMins {
				lo, hi = 1.3*lo, 1.75*hi
			}
			if rel < lo || rel > hi {
				t.Errorf("%v offset %g: relative RMS error %.4f, want within [%.4g, %.4g]", f.t, offset, rel, lo, hi)
			}
		}
	}
}

// TestKQuantPanics checks that the K-quant functions refuse a length that is not a whole number of
// super-blocks or a destination too short.
func TestKQuantPanics(t *testing.T) {
	for _, f := range kqTypes {
		mustPanic(t, f.t.String()+" quantize 100", func() { f.quantize(make([]byte, 1000), make([]float32, 100)) })
		mustPanic(t, f.t.String()+" quantize short", func() { f.quantize(make([]byte, 10), make([]float32, qkK)) })
		mustPanic(t, f.t.String()+" dequant short", func() { f.dequant(make([]float32, qkK), make([]byte, 10)) })
	}
	mustPanic(t, "Q8_K short", func() { quantizeActQ8_K(make([]byte, q8KBlockSize-1), make([]float32, qkK)) })
}

// mustPanic fails t unless f panics.
func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	f()
}
