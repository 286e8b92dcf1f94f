//go:build amd64

package amd64

// Sizes of the interleaved Q5_0 kernels' operands: one block of a group of 8 rows (kernels.interleaveQ5_0)
// and one block of an activation row with its lane terms (kernels.actQ8Sums: a Q8_0 block, and eight int32
// after the row's blocks).
const (
	q50I8GroupBytes = 8 * 22
	q50SumRowBytes  = q8BlockSize + 32
)

// DotQ5_0I8VNNI computes one interleaved group of 8 Q5_0 rows (nb blocks in kernels.interleaveQ5_0's
// layout) against the activation row x (nb Q8_0 blocks, then each block's eight int32 lane terms) into
// out[0..7] (AVX-512 VNNI), each bit for bit the scalar reference's.
func DotQ5_0I8VNNI(out []float32, w, x []byte, nb int) {
	if nb <= 0 {
		clear(out[:8])
		return
	}
	_, _, _ = w[nb*q50I8GroupBytes-1], x[nb*q50SumRowBytes-1], out[7]
	dotQ50I8VNNI(out, w, x, nb)
}

// DotQ5_0I8x4VNNI is DotQ5_0I8VNNI for the four activation rows x[j·xStride:], into out[j·stride + r]:
// each group block is expanded once for the four.
func DotQ5_0I8x4VNNI(out []float32, stride int, w, x []byte, xStride, nb int) {
	if nb <= 0 {
		for j := range 4 {
			clear(out[j*stride : j*stride+8])
		}
		return
	}
	_, _, _ = w[nb*q50I8GroupBytes-1], x[3*xStride+nb*q50SumRowBytes-1], out[3*stride+7]
	if xStride < nb*q50SumRowBytes || stride < 8 {
		panic("amd64: interleaved Q5_0 kernel: overlapping rows")
	}
	dotQ50I8x4VNNI(out, stride, w, x, xStride, nb)
}

//go:noescape
func dotQ50I8VNNI(out []float32, w, x []byte, nb int)

//go:noescape
func dotQ50I8x4VNNI(out []float32, stride int, w, x []byte, xStride, nb int)
