//go:build amd64

package amd64

// q6KGroupBytes is the size of one superblock of an interleaved group of 8 Q6_K rows.
const q6KGroupBytes = 1680

// DotQ6KI8VNNI computes one interleaved group of 8 Q6_K rows (nb superblocks in kernels.interleaveQ6K's
// layout) against the Q8_K activation row x into out[0..7] (AVX-512 VNNI), each bit for bit the scalar
// reference's.
func DotQ6KI8VNNI(out []float32, w, x []byte, nb int) {
	if nb <= 0 {
		clear(out[:8])
		return
	}
	_, _, _ = w[nb*q6KGroupBytes-1], x[nb*kqQ8Bytes-1], out[7]
	dotQ6KI8VNNI(out, w, x, nb)
}

// DotQ6KI8x4VNNI is DotQ6KI8VNNI for the four activation rows x[j·xStride:], into out[j·stride + r].
func DotQ6KI8x4VNNI(out []float32, stride int, w, x []byte, xStride, nb int) {
	if nb <= 0 {
		for j := range 4 {
			clear(out[j*stride : j*stride+8])
		}
		return
	}
	_, _, _ = w[nb*q6KGroupBytes-1], x[3*xStride+nb*kqQ8Bytes-1], out[3*stride+7]
	if xStride < nb*kqQ8Bytes || stride < 8 {
		panic("amd64: DotQ6KI8x4VNNI: overlapping rows")
	}
	dotQ6KI8x4VNNI(out, stride, w, x, xStride, nb)
}

//go:noescape
func dotQ6KI8x4VNNI(out []float32, stride int, w, x []byte, xStride, nb int)

//go:noescape
func dotQ6KI8VNNI(out []float32, w, x []byte, nb int)
