package kernels

// laneAcc is the float32x8 accumulator of ggml-cpu's x86 legacy dots with Q8_1 activations
// (ggml_vec_dot_q4_1_q8_1 and ggml_vec_dot_q5_1_q8_1, the AVX2 code that its AVX-512 builds run too): lane
// k gathers, block after block, the products of values 4k..4k+3 (what VPMADDUBSW and VPMADDWD, or VPDPBUSD,
// leave in lane k), scaled and added by one fused multiply-add per block. ggml_vec_dot_q8_0_q8_0 (dotQ8VecRef)
// and ggml_vec_dot_q6_K_q8_K (dotQ6_KRef, lanes from q6KLanes, via addLanes) add in the same eight lanes.
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

// addLanes does acc[k] = fma(d, float32(l[k]), acc[k]) for every lane k.
func (a *laneAcc) addLanes(d float32, l [8]int32) {
	for k := range a {
		a[k] = fma32(d, float32(l[k]), a[k])
	}
}

// sum adds the lanes as ggml's hsum_float_8: upper half plus lower half, then (r0 + r2) + (r1 + r3).
func (a *laneAcc) sum() float32 {
	r0, r1, r2, r3 := a[4]+a[0], a[5]+a[1], a[6]+a[2], a[7]+a[3]
	return (r0 + r2) + (r1 + r3)
}
