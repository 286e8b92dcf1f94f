package kernels

import (
	"fmt"
	"math"
)

// YaRN is ggml's rotary embedding with YaRN scaling (ggml_rope_ext), the rotation DeepSeek models use on
// their decoupled rope dimensions (spec §2.4). With ExtFactor 0 it is plain linear scaling: every pair
// turns by FreqScale times its base angle. CosSin reproduces ggml-cpu's ggml_rope_cache_init and
// rope_yarn in float32, step by step.
type YaRN struct {
	Dims       int     // rotated dimensions n_dims (even): Dims/2 pairs
	Base       float32 // freq_base
	FreqScale  float32 // 1/factor: the interpolated angle is FreqScale times the base angle
	ExtFactor  float32 // weight of the extrapolation ramp (1 for YaRN); 0 turns YaRN off
	AttnFactor float32 // magnitude multiplier of cos and sin
	Low, High  float32 // correction dims (YaRNCorrDims): pairs up to Low extrapolate, from High interpolate
}

// YaRNCorrDims returns ggml_rope_yarn_corr_dims: the pair range over which YaRN blends from the base
// frequency (below low) to the interpolated one (above high). With d = dims and L = origCtx,
// corr(β) = d·ln(L/(2π·β)) / (2·ln base), low = max(0, ⌊corr(betaFast)⌋), high = min(d−1, ⌈corr(betaSlow)⌉),
// all in float32 as ggml computes them.
func YaRNCorrDims(dims, origCtx int, base, betaFast, betaSlow float32) (low, high float32) {
	corr := func(beta float32) float32 {
		return float32(dims) * log32(float32(origCtx)/(beta*2*float32(math.Pi))) / (2 * log32(base))
	}
	low = max(0, float32(math.Floor(float64(corr(betaFast)))))
	high = min(float32(dims-1), float32(math.Ceil(float64(corr(betaSlow)))))
	return low, high
}

// CosSin fills cos and sin (Dims/2 values each) for position pos. Pair p has the base angle
// t_p = pos·s^p by ggml's float32 recurrence (s = powf(Base, −2/Dims)), the interpolated angle
// FreqScale·t_p, and with ExtFactor ≠ 0 the blend interp·(1−r) + t_p·r with the ramp
// r = ExtFactor·(1 − clamp((p − Low)/max(0.001, High − Low), 0, 1)); then
// cos = cosf(angle)·m and sin = sinf(angle)·m with m = AttnFactor, times 1 + 0.1·ln(1/FreqScale) when
// ExtFactor ≠ 0. The blend and the 1 + 0.1·ln factor are fused multiply-adds, as gcc compiles ggml's rope_yarn
// (fma(interp, 1−r, t_p·r) and fma(ln, 0.1, 1)); every other product is rounded to float32. It panics if cos or sin
// does not hold Dims/2 values.
func (y *YaRN) CosSin(cos, sin []float32, pos int) {
	half := y.Dims / 2
	if len(cos) != half || len(sin) != half {
		panic(fmt.Sprintf("kernels: YaRN of %d dims into %d cosines and %d sines", y.Dims, len(cos), len(sin)))
	}
	s := float32(math.Pow(float64(y.Base), float64(float32(-2)/float32(y.Dims))))
	mscale := y.AttnFactor
	if y.ExtFactor != 0 {
		mscale *= fma32(log32(1/y.FreqScale), 0.1, 1) // gcc fuses ggml's 1.0f + 0.1f·logf(…)
	}
	t := float32(pos)
	for p := range half {
		angle := y.FreqScale * t
		if y.ExtFactor != 0 {
			r := (float32(p) - y.Low) / max(0.001, y.High-y.Low)
			mix := (1 - min(1, max(0, r))) * y.ExtFactor
			angle = fma32(angle, 1-mix, float32(t*mix)) // as gcc fuses ggml's rope_yarn
		}
		cos[p] = float32(math.Cos(float64(angle))) * mscale
		sin[p] = float32(math.Sin(float64(angle))) * mscale
		t *= s
	}
}

// RoPECosSin rotates, in place, nHeads heads of x (head h starts at x[h·stride]) by the given cosines and
// sines: pair p is (2p, 2p+1) with neox false (ggml's NORM mode) or (p, p+len(cos)) with neox true, and
// turns to x0·cos − x1·sin, x0·sin + x1·cos with ggml-cpu's fused multiply-adds (rotatePair). Only the first 2·len(cos) values
// of each head change. It panics if x is too short or sin differs in length from cos.
func RoPECosSin(x []float32, nHeads, stride int, cos, sin []float32, neox bool) {
	half := len(cos)
	if len(sin) != half || (nHeads > 0 && (2*half > stride || len(x) < (nHeads-1)*stride+2*half)) {
		panic(fmt.Sprintf("kernels: RoPECosSin of %d pairs over %d heads at stride %d in %d values", half, nHeads, stride, len(x)))
	}
	for h := range nHeads {
		v := x[h*stride : h*stride+2*half]
		for p := range half {
			i0, i1 := 2*p, 2*p+1
			if neox {
				i0, i1 = p, p+half
			}
			v[i0], v[i1] = rotatePair(v[i0], v[i1], cos[p], sin[p])
		}
	}
}

// log32 is the natural logarithm rounded to float32 (C's logf).
func log32(v float32) float32 { return float32(math.Log(float64(v))) }
