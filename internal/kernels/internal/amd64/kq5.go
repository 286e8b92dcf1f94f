//go:build amd64

package amd64

// K-quant super-blocks: 256 elements; Q5_K blocks are 176 bytes, Q8_K activation blocks 292.
const (
	qkK          = 256
	q5KBlockSize = 176
	q8KBlockSize = 292
)

// DotQ5_K returns the dot product of a row of n Q5_K weights w with n activations x in Q8_K blocks
// (n a multiple of 256; AVX2 + F16C), bit for bit kernels.dotQ5_KRef (ggml-cpu's x86 float order): per
// super-block the exact int32 lane sums of the scaled sub-blocks, each scaled into its float32 lane by a
// fused multiply-add, and the exact msum (bsums times mins) into fma(-dmin, msum, summs); then
// hsum_float_8 of the lanes plus summs.
func DotQ5_K(w, x []byte, n int) float32 {
	nb := n / qkK
	if nb <= 0 {
		return 0
	}
	_, _ = w[nb*q5KBlockSize-1], x[nb*q8KBlockSize-1]
	return dotQ5_KAVX2(w, x, nb)
}

// QuantizeQ8_K quantizes src (a multiple of 256 values) into Q8_K blocks in dst (AVX2), bit for bit
// kernels.quantizeActQ8_K (ggml's quantize_row_q8_K_ref, with an all-zero block's bsums cleared).
func QuantizeQ8_K(dst []byte, src []float32) {
	nb := len(src) / qkK
	if nb == 0 {
		return
	}
	_ = dst[nb*q8KBlockSize-1]
	quantizeQ8_KAVX2(dst, src, nb)
}

//go:noescape
func dotQ5_KAVX2(w, x []byte, nb int) float32

//go:noescape
func quantizeQ8_KAVX2(dst []byte, src []float32, nb int)
