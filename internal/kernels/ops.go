package kernels

import (
	"fmt"
	"math"
)

// The per-token element-wise operations, in float32 with ggml's CPU arithmetic where it is defined. ggml
// evaluates exp with its own SIMD polynomial on the bulk of a row; here exp is math.Exp rounded to float32
// (within about 1 ulp of each other).

// RMSNorm sets out[i] = x[i]·scale·w[i] with scale = 1/sqrt(mean(x²) + eps), as ggml's rms_norm followed by
// the weight multiply: the squares (float32) are summed in float64, the mean is rounded to float32, and
// x[i]·scale is rounded before the weight multiplies it. out may be x. It panics if out or w is shorter
// than x.
func RMSNorm(out, x, w []float32, eps float32) {
	if len(out) < len(x) || len(w) < len(x) {
		panic(fmt.Sprintf("kernels: RMSNorm of %d values into %d with %d weights", len(x), len(out), len(w)))
	}
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		out[i] = float32(v*scale) * w[i]
	}
}

// Softmax replaces x by softmax(x) as ggml's soft_max does in llama.cpp's AVX-512 build
// (ggml_compute_forward_soft_max_f32 over ggml_vec_soft_max_f32): subtract the maximum; exponentiate each
// whole 16 with ggml_v_expf (expGGML), fold the 16 in float32 (foldLanes) and add the fold to a float64 sum;
// the last len(x)%16 with expf, each added to the sum; then multiply every value by float32(1/sum).
func Softmax(x []float32) { softmax(x, len(x)&^15, nil) }

// softmax is Softmax whose 16-wide part covers the first n16 values, n16 a multiple of 16 that may exceed
// len(x): the values past len(x) count as −Inf (exponential 0), as llama.cpp's masked cache rows past the
// sequence do (its attention rows are padded to 256 positions). The padded 16 is worked in stage (16
// values; nil when n16 ≤ len(x)).
func softmax(x []float32, n16 int, stage []float32) {
	if len(x) == 0 {
		return
	}
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	k := active.Load()
	whole := min(n16, len(x)&^15)
	sum := k.expSum(x[:whole], m)
	if whole < n16 { // the last 16, padded
		e := stage[:16]
		c := copy(e, x[whole:])
		for i := c; i < len(e); i++ {
			e[i] = float32(math.Inf(-1))
		}
		sum += k.expSum(e, m)
		copy(x[whole:], e[:c])
	}
	for i := n16; i < len(x); i++ {
		e := exp32(x[i] - m)
		sum += float64(e)
		x[i] = e
	}
	s := float32(1 / sum)
	for i := range x {
		x[i] *= s
	}
}

// expSumRef sets x[i] = expGGML(x[i] − m) and returns the float64 sum of the foldLanes of each 16, added in
// order; len(x) is a multiple of 16.
func expSumRef(x []float32, m float32) float64 {
	var sum float64
	for c := 0; c < len(x); c += 16 {
		e := x[c : c+16]
		for i, v := range e {
			e[i] = expGGML(v - m)
		}
		sum += float64(foldLanes(e))
	}
	return sum
}

// SiLUMul sets gate[i] = silu(gate[i])·up[i] with silu(g) = g/(1+exp(-g)) (ggml's swiglu), e^x computed
// as ggml-cpu's AVX-512 path does (see silu.go). It panics if up is shorter than gate.
func SiLUMul(gate, up []float32) {
	up = up[:len(gate)]
	i := 0
	if f := active.Load().siluMul; f != nil {
		i = f(gate, up)
	}
	siluMulRef(gate[i:], up[i:])
}

// Add adds src[i] to dst[i]. It panics if src is shorter than dst.
func Add(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// exp32 is e^v rounded to float32.
func exp32(v float32) float32 { return float32(math.Exp(float64(v))) }
