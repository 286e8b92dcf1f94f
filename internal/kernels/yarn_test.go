package kernels

import (
	"math"
	"testing"
)

// deepseekYaRN is DeepSeek-V3's rope (spec §2.4): 64 dims, base 10000, factor 40, original context 4096,
// β 32/1, with the magnitude cancelled the way llama.cpp does for deepseek2.
func deepseekYaRN() YaRN {
	low, high := YaRNCorrDims(64, 4096, 10000, 32, 1)
	return YaRN{Dims: 64, Base: 10000, FreqScale: 1.0 / 40, ExtFactor: 1, AttnFactor: 1 / (1 + 0.1*log32(40)),
		Low: low, High: high}
}

func TestYaRNCorrDims(t *testing.T) {
	// Spec §2.4 / §10: corr(32) = 10.472 → 10, corr(1) = 22.513 → 23.
	if low, high := YaRNCorrDims(64, 4096, 10000, 32, 1); low != 10 || high != 23 {
		t.Errorf("corr dims %v, %v; want 10, 23", low, high)
	}
	// ggml clamps low from below and high from above only.
	if low, high := YaRNCorrDims(8, 1<<30, 10, 32, 1); low != 26 || high != 7 {
		t.Errorf("corr dims %v, %v; want 26, 7 (high clamped to dims−1)", low, high)
	}
	if low, _ := YaRNCorrDims(64, 16, 10000, 32, 1); low != 0 {
		t.Errorf("low corr dim %v; want 0 (clamped)", low)
	}
}

// TestYaRNFrequencies checks the blended frequencies against the values spec §2.4 computed from its
// formulas, and the magnitude against 1.
func TestYaRNFrequencies(t *testing.T) {
	y := deepseekYaRN()
	cos, sin := make([]float32, 32), make([]float32, 32)
	y.CosSin(cos, sin, 1) // at position 1 the angle is the frequency
	for p, want := range map[int]float64{0: 1.0, 10: 0.0562341, 11: 0.0390069, 23: 3.3338e-5, 31: 3.3338e-6} {
		got := math.Atan2(float64(sin[p]), float64(cos[p]))
		if math.Abs(got-want) > 2e-6*want {
			t.Errorf("pair %d: frequency %.7g, want %.7g", p, got, want)
		}
	}
	for p := range cos {
		if m := math.Hypot(float64(cos[p]), float64(sin[p])); math.Abs(m-1) > 1e-6 {
			t.Errorf("pair %d: magnitude %v, want 1", p, m)
		}
	}
}

// TestYaRNMatchesFloat64 compares the float32 recurrence with the spec's formulas in float64.
func TestYaRNMatchesFloat64(t *testing.T) {
	y := deepseekYaRN()
	cos, sin := make([]float32, 32), make([]float32, 32)
	for _, pos := range []int{0, 1, 7, 100} {
		y.CosSin(cos, sin, pos)
		for p := range cos {
			w := math.Pow(10000, -2*float64(p)/64)
			r := math.Min(1, math.Max(0, (float64(p)-10)/(23-10)))
			w = w*(1-r) + w/40*r // extrapolation weight 1−r keeps ω, the rest is ω/40
			a := float64(pos) * w
			if math.Abs(float64(cos[p])-math.Cos(a)) > 1e-5 || math.Abs(float64(sin[p])-math.Sin(a)) > 1e-5 {
				t.Fatalf("pos %d pair %d: cos, sin %v, %v; want %v, %v", pos, p, cos[p], sin[p], math.Cos(a), math.Sin(a))
			}
		}
	}
}

// TestYaRNOffIsRoPEAngles checks that with ExtFactor 0 and AttnFactor 1 the cosines are those of
// RoPEAngles' angles, so linear scaling through YaRN rotates exactly as RoPEWithAngles does.
func TestYaRNOffIsRoPEAngles(t *testing.T) {
	y := YaRN{Dims: 16, Base: 500000, FreqScale: 0.25, AttnFactor: 1}
	cos, sin, theta := make([]float32, 8), make([]float32, 8), make([]float32, 8)
	x := make([]float32, 3*16)
	for i := range x {
		x[i] = float32(i%7) - 2.5
	}
	for _, neox := range []bool{false, true} {
		for _, pos := range []int{0, 3, 1000} {
			y.CosSin(cos, sin, pos)
			RoPEAngles(theta, pos, y.Base, y.FreqScale, nil)
			a, b := append([]float32(nil), x...), append([]float32(nil), x...)
			RoPECosSin(a, 3, 16, cos, sin, neox)
			RoPEWithAngles(b, 3, 16, theta, neox)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("neox %v pos %d: value %d is %v, RoPEWithAngles gives %v", neox, pos, i, a[i], b[i])
				}
			}
		}
	}
}

// TestRoPECosSinStride rotates only the rope slice of each head when the heads are wider (MLA's
// [nope | rope] query layout, passed with an offset).
func TestRoPECosSinStride(t *testing.T) {
	const heads, stride, nope = 2, 12, 8
	x := make([]float32, heads*stride)
	for i := range x {
		x[i] = float32(i + 1)
	}
	cos, sin := []float32{0, 1}, []float32{1, 0} // pair 0 turns by 90°, pair 1 not at all
	RoPECosSin(x[nope:], heads, stride, cos, sin, false)
	want := []float32{1, 2, 3, 4, 5, 6, 7, 8, -10, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, -22, 21, 23, 24}
	for i := range x {
		if x[i] != want[i] {
			t.Fatalf("got %v, want %v", x, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("short input accepted")
		}
	}()
	RoPECosSin(x[nope+1:], heads, stride, cos, sin, false)
}
