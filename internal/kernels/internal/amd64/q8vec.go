//go:build amd64

package amd64

// DotQ8Vec returns the dot product of len(xd) Q8_0 weight blocks w with activation quants xq (32 per
// block) and block scales xd in the float order of ggml-cpu's x86 ggml_vec_dot_q8_0_q8_0 (AVX2; eight
// int32 lanes of four products per block, one fused multiply-add per lane, hsum_float_8 at the end), bit
// for bit kernels.dotQ8VecRef.
func DotQ8Vec(w []byte, xq []int8, xd []float32) float32 {
	if len(xd) == 0 {
		return 0
	}
	_, _ = w[len(xd)*q8BlockSize-1], xq[len(xd)*qk8-1]
	return dotQ8VecAVX2(w, xq, xd)
}

//go:noescape
func dotQ8VecAVX2(w []byte, xq []int8, xd []float32) float32
