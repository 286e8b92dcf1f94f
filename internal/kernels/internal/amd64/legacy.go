//go:build amd64

package amd64

// Legacy block dot products: a row of n values of a legacy weight type (n/32 blocks) with one activation
// row packed in ggml's vec_dot_type, Q8_0 (34-byte blocks: fp16 d, 32 int8) or Q8_1 (36-byte blocks:
// fp16 d, fp16 s, 32 int8). Each returns bit for bit what package kernels' dotXRef returns: per block an
// exact integer sum for any int8 activations, then for Q4_0, Q5_0 and IQ4_NL acc += float32(sumi)·float32(dw·dx)
// in block order, and for Q4_1 and Q5_1 ggml-cpu's x86 order (eight lane sums fused into eight float32
// lanes, the offsets' mw·sx fused into one sum, ggml's hsum_float_8 of the lanes plus that sum). The AVX2
// kernels need AVX2, FMA and F16C; the VNNI ones also AVX512VL and AVX512VNNI.

// legacyRow checks that w holds n/32 blocks of wbs bytes and x n/32 blocks of xbs bytes, and returns the
// block count.
func legacyRow(w, x []byte, n, wbs, xbs int) int {
	nb := n / 32
	if nb <= 0 {
		return 0
	}
	_, _ = w[nb*wbs-1], x[nb*xbs-1]
	return nb
}

// DotQ4_0 is the dot product of n values of Q4_0 weights w with Q8_0 activations x (AVX2).
func DotQ4_0(w, x []byte, n int) float32 { return dotQ40AVX2(w, x, legacyRow(w, x, n, 18, 34)) }

// DotQ4_0VNNI is DotQ4_0 with AVX-512 VNNI.
func DotQ4_0VNNI(w, x []byte, n int) float32 { return dotQ40VNNI(w, x, legacyRow(w, x, n, 18, 34)) }

// DotQ4_0Vec is DotQ4_0 in the float order of ggml-cpu's x86 vec_dot (kernels.dotQ4_0VecRef; AVX2).
func DotQ4_0Vec(w, x []byte, n int) float32 { return dotQ40VecAVX2(w, x, legacyRow(w, x, n, 18, 34)) }

// DotQ4_0VecVNNI is DotQ4_0Vec with AVX-512 VNNI.
func DotQ4_0VecVNNI(w, x []byte, n int) float32 {
	return dotQ40VecVNNI(w, x, legacyRow(w, x, n, 18, 34))
}

// DotQ4_1 is the dot product of n values of Q4_1 weights w with Q8_1 activations x (AVX2).
func DotQ4_1(w, x []byte, n int) float32 { return dotQ41AVX2(w, x, legacyRow(w, x, n, 20, 36)) }

// DotQ4_1VNNI is DotQ4_1 with AVX-512 VNNI.
func DotQ4_1VNNI(w, x []byte, n int) float32 { return dotQ41VNNI(w, x, legacyRow(w, x, n, 20, 36)) }

// DotQ5_0 is the dot product of n values of Q5_0 weights w with Q8_0 activations x (AVX2).
func DotQ5_0(w, x []byte, n int) float32 { return dotQ50AVX2(w, x, legacyRow(w, x, n, 22, 34)) }

// DotQ5_0VNNI is DotQ5_0 with AVX-512 VNNI.
func DotQ5_0VNNI(w, x []byte, n int) float32 { return dotQ50VNNI(w, x, legacyRow(w, x, n, 22, 34)) }

// DotQ5_1 is the dot product of n values of Q5_1 weights w with Q8_1 activations x (AVX2).
func DotQ5_1(w, x []byte, n int) float32 { return dotQ51AVX2(w, x, legacyRow(w, x, n, 24, 36)) }

// DotQ5_1VNNI is DotQ5_1 with AVX-512 VNNI.
func DotQ5_1VNNI(w, x []byte, n int) float32 { return dotQ51VNNI(w, x, legacyRow(w, x, n, 24, 36)) }

// DotIQ4_NL is the dot product of n values of IQ4_NL weights w with Q8_0 activations x (AVX2).
func DotIQ4_NL(w, x []byte, n int) float32 { return dotIQ4NLAVX2(w, x, legacyRow(w, x, n, 18, 34)) }

// DotIQ4_NLVNNI is DotIQ4_NL with AVX-512 VNNI.
func DotIQ4_NLVNNI(w, x []byte, n int) float32 {
	return dotIQ4NLVNNI(w, x, legacyRow(w, x, n, 18, 34))
}

//go:noescape
func dotQ40AVX2(w, x []byte, nb int) float32

//go:noescape
func dotQ40VNNI(w, x []byte, nb int) float32

//go:noescape
func dotQ40VecAVX2(w, x []byte, nb int) float32

//go:noescape
func dotQ40VecVNNI(w, x []byte, nb int) float32

//go:noescape
func dotQ41AVX2(w, x []byte, nb int) float32

//go:noescape
func dotQ41VNNI(w, x []byte, nb int) float32

//go:noescape
func dotQ50AVX2(w, x []byte, nb int) float32

//go:noescape
func dotQ50VNNI(w, x []byte, nb int) float32

//go:noescape
func dotQ51AVX2(w, x []byte, nb int) float32

//go:noescape
func dotQ51VNNI(w, x []byte, nb int) float32

//go:noescape
func dotIQ4NLAVX2(w, x []byte, nb int) float32

//go:noescape
func dotIQ4NLVNNI(w, x []byte, nb int) float32
