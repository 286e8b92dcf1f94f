package kernels

import "encoding/binary"

// dotQ8VecRef is dotQ8Ref in the float order of ggml-cpu's x86 ggml_vec_dot_q8_0_q8_0 (the AVX2 code its
// AVX-512 builds run too), which llama.cpp uses for the Q8_0 weights it multiplies with vec_dot rather
// than its repacked or tiled paths (Matrix.VecDot): block after block, lane k of a laneAcc takes
// fma(dw·dx, Σ w_j·x_j, lane) over j = 4k..4k+3, and the lanes are added as hsum_float_8.
func dotQ8VecRef(w []byte, xq []int8, xd []float32) float32 {
	var acc laneAcc
	for b, dx := range xd {
		blk := w[b*q8BlockSize : (b+1)*q8BlockSize]
		q := xq[b*qk8 : (b+1)*qk8]
		var l [8]int32
		for j, v := range blk[2:] {
			l[j/4] += int32(int8(v)) * int32(q[j])
		}
		acc.addLanes(F16ToF32(binary.LittleEndian.Uint16(blk))*dx, l)
	}
	return acc.sum()
}
