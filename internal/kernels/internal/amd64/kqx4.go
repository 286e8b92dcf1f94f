//go:build amd64

package amd64

// kqx4Check checks the operands of a four-row K-quant dot (a multiple of 256 elements, wBytes bytes per
// weight superblock) and returns the number of superblocks.
func kqx4Check(out []float32, stride int, w, x []byte, xStride, n, wBytes int) int {
	nb := kqBlocks(n)
	if nb == 0 {
		return 0
	}
	if stride < 0 || xStride < 0 {
		panic("amd64: negative stride in a four-row K-quant dot")
	}
	_, _ = out[3*stride], w[nb*wBytes-1]
	_ = x[3*xStride+nb*kqQ8Bytes-1]
	return nb
}

// kqx4Store writes the four sums to out[j·stride].
func kqx4Store(out []float32, stride int, s *[4]float32) {
	out[0], out[stride], out[2*stride], out[3*stride] = s[0], s[1], s[2], s[3]
}

// kqx4Zero writes zeros to out[j·stride] (the dot of zero elements).
func kqx4Zero(out []float32, stride int) {
	kqx4Store(out, stride, &[4]float32{})
}

// DotQ4_Kx4 writes to out[j·stride], j = 0..3, the dot product of n elements (a multiple of 256) of the
// Q4_K weight row w with the Q8_K activation row x[j·xStride:], each bit for bit DotQ4_K(w, x[j·xStride:], n):
// every weight superblock is unpacked once for the four rows (AVX2).
func DotQ4_Kx4(out []float32, stride int, w, x []byte, xStride, n int) {
	nb := kqx4Check(out, stride, w, x, xStride, n, kqQ4Bytes)
	if nb == 0 {
		kqx4Zero(out, stride)
		return
	}
	var s [4]float32
	dotQ4Kx4AVX2(&s, w, x, xStride, nb)
	kqx4Store(out, stride, &s)
}

// DotQ6_Kx4 is DotQ4_Kx4 for Q6_K weights: each out[j·stride] is bit for bit DotQ6_K(w, x[j·xStride:], n).
func DotQ6_Kx4(out []float32, stride int, w, x []byte, xStride, n int) {
	nb := kqx4Check(out, stride, w, x, xStride, n, kqQ6Bytes)
	if nb == 0 {
		kqx4Zero(out, stride)
		return
	}
	var s [4]float32
	dotQ6Kx4AVX2(&s, w, x, xStride, nb)
	kqx4Store(out, stride, &s)
}

//go:noescape
func dotQ4Kx4AVX2(out *[4]float32, w, x []byte, xStride, nb int)

//go:noescape
func dotQ6Kx4AVX2(out *[4]float32, w, x []byte, xStride, nb int)

// DotQ4_Kx4VNNI is DotQ4_Kx4 on AVX-512 (BW, VL, VNNI; 512-bit registers): each out[j·stride] is bit for
// bit DotQ4_KVNNI(w, x[j·xStride:], n) (which equals DotQ4_K).
func DotQ4_Kx4VNNI(out []float32, stride int, w, x []byte, xStride, n int) {
	nb := kqx4Check(out, stride, w, x, xStride, n, kqQ4Bytes)
	if nb == 0 {
		kqx4Zero(out, stride)
		return
	}
	var s [4]float32
	dotQ4Kx4VNNI(&s, w, x, xStride, nb)
	kqx4Store(out, stride, &s)
}

// DotQ6_Kx4VNNI is DotQ6_Kx4 on AVX-512 (BW, VL, VNNI; 512-bit registers): each out[j·stride] is bit for
// bit DotQ6_KVNNI(w, x[j·xStride:], n) (which equals DotQ6_K).
func DotQ6_Kx4VNNI(out []float32, stride int, w, x []byte, xStride, n int) {
	nb := kqx4Check(out, stride, w, x, xStride, n, kqQ6Bytes)
	if nb == 0 {
		kqx4Zero(out, stride)
		return
	}
	var s [4]float32
	dotQ6Kx4VNNI(&s, w, x, xStride, nb)
	kqx4Store(out, stride, &s)
}

//go:noescape
func dotQ4Kx4VNNI(out *[4]float32, w, x []byte, xStride, nb int)

//go:noescape
func dotQ6Kx4VNNI(out *[4]float32, w, x []byte, xStride, nb int)
