package kernels

import "math"

// laneAcc is the float32x8 accumulator of ggml-cpu's x86 legacy dots with Q8_1 activations
// (ggml_vec_dot_q4_1_q8_1 and ggml_vec_dot_q5_1_q8_1, the AVX2 code that its AVX-512 builds run too): lane
// k gathers, block after block, the products of values 4k..4k+3 (what VPMADDUBSW and VPMADDWD, or VPDPBUSD,
// leave in lane k), scaled and added by one fused multiply-add per block.
type laneAcc [8]float32

// add does, for every lane k, acc[k] = fma(d, float32(Σ_{j<4} q[4k+j]·x[4k+j]), acc[k]): one block of
// levels q and int8 quants x (32 bytes), scaled by d.
func (a *laneAcc) add(d float32, q *[32]int32, x []byte) {
	x = x[:32]
	for k := range a {
		var s int32
		for j := 4 * k; j < 4*k+4; j++ {
			s += q[j] * int32(int8(x[j]))
		}
		a[k] = fma32(d, float32(s), a[k])
	}
}

// sum adds the lanes as ggml's hsum_float_8: upper half plus lower half, then (r0 + r2) + (r1 + r3).
func (a *laneAcc) sum() float32 {
	r0, r1, r2, r3 := a[4]+a[0], a[5]+a[1], a[6]+a[2], a[7]+a[3]
	return (r0 + r2) + (r1 + r3)
}

// fma32 is float32's fused multiply-add a·b + c with one rounding (VFMADD...PS/SS). The product of two
// float32 values is exact in float64; the sum is rounded to float64 with round-to-odd (the rounding error,
// found by TwoSum, decides), so the final rounding to float32 is correct.
func fma32(a, b, c float32) float32 {
	p, z := float64(a)*float64(b), float64(c)
	s := p + z
	bv := s - p
	e := (p - (s - bv)) + (z - bv)
	if e != 0 && math.Float64bits(s)&1 == 0 {
		s = math.Nextafter(s, math.Copysign(math.Inf(1), e))
	}
	return float32(s)
}
