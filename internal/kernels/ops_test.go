package kernels

import (
	"math"
	"testing"
)

func near(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b)) }

func TestRMSNorm(t *testing.T) {
	x := []float32{1, 2, 3, 4}
	out := make([]float32, 4)
	RMSNorm(out, x, []float32{1, 1, 1, 2}, 0)
	// mean(x²) = 7.5, scale = 1/sqrt(7.5) = 0.36514837.
	want := []float64{0.36514837, 0.73029674, 1.09544512, 2 * 1.46059349}
	for i := range want {
		if !near(float64(out[i]), want[i], 1e-7) {
			t.Errorf("out[%d] = %v, want %v", i, out[i], want[i])
		}
	}
	// Against float64, with eps, in place.
	r := newRand(30)
	x = randVec(r, 1536, 2)
	w := randVec(r, 1536, 1)
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	scale := 1 / math.Sqrt(ss/1536+1e-6)
	exact := make([]float64, len(x))
	for i, v := range x {
		exact[i] = float64(v) * scale * float64(w[i])
	}
	RMSNorm(x, x, w, 1e-6)
	for i := range x {
		if math.Abs(float64(x[i])-exact[i]) > 1e-6*math.Abs(exact[i])+1e-12 {
			t.Fatalf("element %d: %v, float64 %v", i, x[i], exact[i])
		}
	}
}

func TestSoftmax(t *testing.T) {
	x := []float32{1, 2, 3}
	Softmax(x)
	want := []float64{0.09003057317038046, 0.24472847105479764, 0.6652409557748219}
	for i := range want {
		if !near(float64(x[i]), want[i], 2e-7) {
			t.Errorf("softmax[%d] = %v, want %v", i, x[i], want[i])
		}
	}
	big := []float32{1000, 1000, -1000}
	Softmax(big)
	if big[0] != 0.5 || big[1] != 0.5 || big[2] != 0 {
		t.Errorf("softmax of large values = %v", big)
	}
	// Invariant to a shift; sums to 1.
	r := newRand(31)
	a := randVec(r, 777, 3)
	b := make([]float32, len(a))
	for i, v := range a {
		b[i] = v + 8 // exact for these magnitudes? close enough: compare loosely
	}
	Softmax(a)
	Softmax(b)
	var sum float64
	for i := range a {
		sum += float64(a[i])
		if !near(float64(a[i]), float64(b[i]), 1e-5) {
			t.Fatalf("shifted softmax differs at %d: %v vs %v", i, a[i], b[i])
		}
	}
	if math.Abs(sum-1) > 1e-5 {
		t.Errorf("softmax sums to %v", sum)
	}
	Softmax(nil)
}

func TestSiLUMulAndAdd(t *testing.T) {
	g := []float32{1, -1, 0, 20, -20}
	u := []float32{1, 2, 3, 0.5, 1}
	SiLUMul(g, u)
	want := []float64{0.7310585786300049, -2 * 0.2689414213699951, 0, 0.5 * 19.99999995877, -20 * 2.0611536181902037e-09}
	for i := range want {
		if !near(float64(g[i]), want[i], 2e-7) {
			t.Errorf("SiLUMul[%d] = %v, want %v", i, g[i], want[i])
		}
	}
	d := []float32{1, 2, 3}
	Add(d, []float32{0.5, -2, 1, 99})
	if d[0] != 1.5 || d[1] != 0 || d[2] != 4 {
		t.Errorf("Add = %v", d)
	}
}

// The softmax exponentials of every kernel set are expSumRef's bits: the values and the float64 sum,
// including the −Inf of masked positions and values past ggml_v_expf's cut-offs.
func TestExpSumMatchesReference(t *testing.T) {
	r := newRand(32)
	x := randVec(r, 160, 30)
	x[3], x[17], x[40], x[41] = float32(math.Inf(-1)), -200, 150, 0
	eachISA(t, func(t *testing.T) {
		for _, n := range []int{0, 16, 32, 160} {
			want, got := append([]float32(nil), x[:n]...), append([]float32(nil), x[:n]...)
			ws, gs := expSumRef(want, 2.5), active.Load().expSum(got, 2.5)
			if ws != gs {
				t.Fatalf("n=%d: sum %v, reference %v", n, gs, ws)
			}
			for i := range want {
				if !sameBits(got[i], want[i]) {
					t.Fatalf("n=%d: x[%d] = %v, reference %v", n, i, got[i], want[i])
				}
			}
		}
	})
}
