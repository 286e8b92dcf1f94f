//go:build amd64

package amd64

// q8I8GroupBytes is the size of one block of a packed group of 8 Q8_0 rows: 8 fp16 scales and 8·32 quants.
const q8I8GroupBytes = 8 * q8BlockSize

// DotQ8I8x4VNNI computes the dot products of one packed group of 8 Q8_0 weight rows (nb blocks in
// kernels.PackQ8I8's layout) with 4 activation vectors into out[j·stride + r], r = 0..7, j = 0..3 (stride
// ≥ 8): vector j's quants are xq[j·32·nb:], its block scales xd[j·nb:] and its block sums times 128
// xs[j·nb:]. Each result is bit for bit the one-row reference's (AVX-512 VNNI).
func DotQ8I8x4VNNI(out []float32, stride int, w []byte, xq []int8, xd []float32, xs []int32, nb int) {
	if nb <= 0 {
		for j := range 4 {
			clear(out[j*stride : j*stride+8])
		}
		return
	}
	_, _, _ = w[nb*q8I8GroupBytes-1], xq[4*nb*qk8-1], out[3*stride+7]
	_, _ = xd[4*nb-1], xs[4*nb-1]
	dotQ8I8x4VNNI(out, stride, w, xq, xd, xs, nb)
}

// DotQ8I8VNNI is DotQ8I8x4VNNI for one vector, into out[0..7].
func DotQ8I8VNNI(out []float32, w []byte, xq []int8, xd []float32, xs []int32, nb int) {
	if nb <= 0 {
		clear(out[:8])
		return
	}
	_, _, _ = w[nb*q8I8GroupBytes-1], xq[nb*qk8-1], out[7]
	_, _ = xd[nb-1], xs[nb-1]
	dotQ8I8VNNI(out, w, xq, xd, xs, nb)
}

//go:noescape
func dotQ8I8x4VNNI(out []float32, stride int, w []byte, xq []int8, xd []float32, xs []int32, nb int)

//go:noescape
func dotQ8I8VNNI(out []float32, w []byte, xq []int8, xd []float32, xs []int32, nb int)
