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

// Softmax replaces x by softmax(x) as ggml's soft_max does: subtract the maximum, exponentiate in float32,
// sum the exponentials in float64, multiply each by float32(1/sum).
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var sum float64
	for i, v := range x {
		e := exp32(v - m)
		sum += float64(e)
		x[i] = e
	}
	s := float32(1 / sum)
	for i := range x {
		x[i] *= s
	}
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
