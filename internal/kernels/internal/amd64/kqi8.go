//go:build amd64

package amd64

// Bytes of one superblock of an interleaved group of 8 rows (kernels.interleaveQ4K).
const q4KGroupBytes = 1184

// DotQ4KI8VNNI computes one interleaved group of 8 Q4_K rows (nb superblocks in kernels.interleaveQ4K's
// layout) against the Q8_K activation row x into out[0..7] (AVX-512 VNNI), each bit for bit the scalar
// reference's.
func DotQ4KI8VNNI(out []float32, w, x []byte, nb int) {
	if kqI8Check(out, w, x, nb, q4KGroupBytes) {
		dotQ4KI8VNNI(out, w, x, nb)
	}
}

// DotQ4KI8x4VNNI is DotQ4KI8VNNI for the four activation rows x[j·xStride:], into out[j·stride + r].
func DotQ4KI8x4VNNI(out []float32, stride int, w, x []byte, xStride, nb int) {
	if kqI8x4Check(out, stride, w, x, xStride, nb, q4KGroupBytes) {
		dotQ4KI8x4VNNI(out, stride, w, x, xStride, nb)
	}
}

// kqI8Check bounds-checks a one-vector interleaved K-quant call (groupBytes per superblock) and reports
// whether the kernel must run: with no superblocks it zeroes out[0..7] instead.
func kqI8Check(out []float32, w, x []byte, nb, groupBytes int) bool {
	if nb <= 0 {
		clear(out[:8])
		return false
	}
	_, _, _ = w[nb*groupBytes-1], x[nb*kqQ8Bytes-1], out[7]
	return true
}

// kqI8x4Check is kqI8Check for four vectors x[j·xStride:] into out[j·stride + r]; rows that overlap panic.
func kqI8x4Check(out []float32, stride int, w, x []byte, xStride, nb, groupBytes int) bool {
	if nb <= 0 {
		for j := range 4 {
			clear(out[j*stride : j*stride+8])
		}
		return false
	}
	_, _, _ = w[nb*groupBytes-1], x[3*xStride+nb*kqQ8Bytes-1], out[3*stride+7]
	if xStride < nb*kqQ8Bytes || stride < 8 {
		panic("amd64: interleaved K-quant kernel: overlapping rows")
	}
	return true
}

//go:noescape
func dotQ4KI8VNNI(out []float32, w, x []byte, nb int)

//go:noescape
func dotQ4KI8x4VNNI(out []float32, stride int, w, x []byte, xStride, nb int)
