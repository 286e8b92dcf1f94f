package kernels

import (
	"math"
	"testing"
)

// ropeAt rotates x for position pos with the pair frequencies invFreq: angle float32(pos)·invFreq[p].
func ropeAt(x []float32, nHeads, headDim, pos int, invFreq []float32, neox bool) {
	theta := make([]float32, len(invFreq))
	for p, f := range invFreq {
		theta[p] = float32(pos) * f
	}
	RoPEWithAngles(x, nHeads, headDim, theta, neox)
}

func TestRoPEPairs(t *testing.T) {
	// Two heads of 6 dims, 2 rotated pairs; pair 0 turns by 90°, pair 1 by 0°.
	inv := []float32{math.Pi / 2, 0}
	for _, neox := range []bool{false, true} {
		x := []float32{1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60}
		ropeAt(x, 2, 6, 1, inv, neox)
		var want []float32
		if neox { // pairs (0,2) and (1,3): (1,3) → (-3,1)
			want = []float32{-3, 2, 1, 4, 5, 6, -30, 20, 10, 40, 50, 60}
		} else { // pairs (0,1) and (2,3): (1,2) → (-2,1)
			want = []float32{-2, 1, 3, 4, 5, 6, -20, 10, 30, 40, 50, 60}
		}
		for i := range want {
			if math.Abs(float64(x[i]-want[i])) > 1e-5 {
				t.Fatalf("neox=%v: %v, want %v", neox, x, want)
			}
		}
	}
}

func TestRoPEAgainstFloat64(t *testing.T) {
	r := newRand(40)
	const heads, hd = 3, 64
	inv := make([]float32, 24) // 48 of 64 dims rotated
	for p := range inv {
		inv[p] = float32(math.Pow(10000, -2*float64(p)/48))
	}
	for _, neox := range []bool{false, true} {
		for _, pos := range []int{0, 1, 17, 300} {
			x := randVec(r, heads*hd, 1)
			orig := append([]float32(nil), x...)
			ropeAt(x, heads, hd, pos, inv, neox)
			for h := range heads {
				for p := range inv {
					i0, i1 := h*hd+2*p, h*hd+2*p+1
					if neox {
						i0, i1 = h*hd+p, h*hd+p+24
					}
					th := float64(float32(pos) * inv[p])
					c, s := math.Cos(th), math.Sin(th)
					w0 := float64(orig[i0])*c - float64(orig[i1])*s
					w1 := float64(orig[i0])*s + float64(orig[i1])*c
					if math.Abs(float64(x[i0])-w0) > 1e-6 || math.Abs(float64(x[i1])-w1) > 1e-6 {
						t.Fatalf("neox=%v pos=%d head %d pair %d: (%v,%v), want (%v,%v)", neox, pos, h, p, x[i0], x[i1], w0, w1)
					}
				}
				for i := h*hd + 48; i < (h+1)*hd; i++ {
					if x[i] != orig[i] {
						t.Fatalf("dim %d beyond the rotated ones changed", i)
					}
				}
			}
		}
	}
}

func TestRoPEAngles(t *testing.T) {
	th := make([]float32, 2)
	RoPEAngles(th, 7, 10000, 1, nil) // d = 4: s = 10000^(-1/2) = 0.01
	if th[0] != 7 || th[1] != 7*float32(0.01) {
		t.Fatalf("angles %v, want [7 0.07]", th)
	}
	// ggml's iteration, written out: t_{p+1} = t_p·s in float32, then scale and factors.
	th = make([]float32, 64)
	ff := make([]float32, 64)
	for p := range ff {
		ff[p] = 1 + float32(p%3)
	}
	RoPEAngles(th, 4000, 1e6, 0.5, ff)
	s := float32(math.Pow(1e6, float64(float32(-2)/128)))
	cur := float32(4000)
	for p := range th {
		if want := 0.5 * (cur / ff[p]); th[p] != want {
			t.Fatalf("angle %d = %v, want %v", p, th[p], want)
		}
		if exact := 0.5 * 4000 * math.Pow(1e6, -2*float64(p)/128) / float64(ff[p]); !near(float64(th[p]), exact, 1e-5) {
			t.Fatalf("angle %d = %v, far from %v", p, th[p], exact)
		}
		cur *= s
	}
}

func TestRoPEPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("RoPE with more pairs than the head holds did not panic")
		}
	}()
	RoPEWithAngles(make([]float32, 8), 2, 4, make([]float32, 3), false)
}
