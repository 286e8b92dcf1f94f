//go:build amd64

package amd64

// Q8_0 blocks are 34 bytes: an fp16 scale and 32 int8 quants.
const (
	qk8         = 32
	q8BlockSize = 34
)

// DotF32 returns the dot product of a and b[:len(a)] in ggml_vec_dot_f32's order (AVX2 and FMA).
func DotF32(a, b []float32) float32 {
	b = b[:len(a)]
	return dotF32AVX2(a, b)
}

// DotF16 returns the dot product of fp16 weights w and float32 activations x[:len(w)] (AVX2 + F16C).
func DotF16(w []uint16, x []float32) float32 {
	x = x[:len(w)]
	return dotF16AVX2(w, x)
}

// DotBF16 returns the dot product of bf16 weights w and float32 activations x[:len(w)] (AVX2).
func DotBF16(w []uint16, x []float32) float32 {
	x = x[:len(w)]
	return dotBF16AVX2(w, x)
}

// DotQ8 returns the dot product of len(xd) Q8_0 weight blocks w with activation quants xq (32 per block,
// each in [-127, 127]) and block scales xd (AVX2).
func DotQ8(w []byte, xq []int8, xd []float32) float32 {
	if len(xd) == 0 {
		return 0
	}
	_, _ = w[len(xd)*q8BlockSize-1], xq[len(xd)*qk8-1]
	return dotQ8AVX2(w, xq, xd)
}

// DotQ8VNNI is DotQ8 with AVX-512 VNNI (VPDPBUSD on 256-bit registers; needs AVX512VL).
func DotQ8VNNI(w []byte, xq []int8, xd []float32) float32 {
	if len(xd) == 0 {
		return 0
	}
	_, _ = w[len(xd)*q8BlockSize-1], xq[len(xd)*qk8-1]
	return dotQ8VNNI(w, xq, xd)
}

// DotQ8x2 returns DotQ8(w, xq, xd) and DotQ8(w[stride:], xq, xd): two rows against one vector (AVX2).
func DotQ8x2(w []byte, stride int, xq []int8, xd []float32) (float32, float32) {
	if len(xd) == 0 {
		return 0, 0
	}
	_, _ = w[stride+len(xd)*q8BlockSize-1], xq[len(xd)*qk8-1]
	_ = w[len(xd)*q8BlockSize-1]
	return dotQ8x2AVX2(w, stride, xq, xd)
}

// DotQ8x2VNNI is DotQ8x2 with AVX-512 VNNI.
func DotQ8x2VNNI(w []byte, stride int, xq []int8, xd []float32) (float32, float32) {
	if len(xd) == 0 {
		return 0, 0
	}
	_, _ = w[stride+len(xd)*q8BlockSize-1], xq[len(xd)*qk8-1]
	_ = w[len(xd)*q8BlockSize-1]
	return dotQ8x2VNNI(w, stride, xq, xd)
}

// DotQ8x8 computes the dot products of the Q8_0 weight row w with 8 activation vectors into
// out[j·stride], j = 0..7 (stride ≥ 1): vector j's quants are xq[j·nb·32 : (j+1)·nb·32] and its block
// scales xdT[b·8+j], nb = len(xdT)/8 (AVX2).
func DotQ8x8(out []float32, stride int, w []byte, xq []int8, xdT []float32) {
	nb := len(xdT) / 8
	_ = out[7*stride]
	if nb == 0 {
		for j := range 8 {
			out[j*stride] = 0
		}
		return
	}
	_, _ = w[nb*q8BlockSize-1], xq[8*nb*qk8-1]
	dotQ8x8AVX2(out, stride, w, xq, xdT[:8*nb])
}

// DotQ8x8VNNI is DotQ8x8 with AVX-512 VNNI.
func DotQ8x8VNNI(out []float32, stride int, w []byte, xq []int8, xdT []float32) {
	nb := len(xdT) / 8
	_ = out[7*stride]
	if nb == 0 {
		for j := range 8 {
			out[j*stride] = 0
		}
		return
	}
	_, _ = w[nb*q8BlockSize-1], xq[8*nb*qk8-1]
	dotQ8x8VNNI(out, stride, w, xq, xdT[:8*nb])
}

// QuantizeQ8 quantizes len(d) blocks of 32 values of x into quants qs and widened fp16 block scales d,
// exactly as ggml-cpu's x86 quantize_row_q8_0 (AVX2): amax by VMAXPS, d = fp16(amax/127),
// id = 127/amax (0 for amax 0), quants = VROUNDPS to nearest even of x·id, packed with saturation.
func QuantizeQ8(qs []int8, d, x []float32) {
	if len(d) == 0 {
		return
	}
	_, _ = qs[len(d)*qk8-1], x[len(d)*qk8-1]
	quantizeQ8AVX2(qs, d, x)
}

// Axpy adds a·x[i] to dst[i] for every i < len(dst) (AVX2; a multiply then an add).
func Axpy(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	axpyAVX2(dst, a, x)
}

// AxpyFMA sets dst[i] = fma(a, x[i], dst[i]) for every i < len(dst) (AVX2 and FMA).
func AxpyFMA(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	axpyFMAAVX2(dst, a, x)
}

// AxpyFMA4 sets dst[i] = fma(a3, x3[i], fma(a2, x2[i], fma(a1, x1[i], fma(a0, x0[i], dst[i])))) for every
// i < len(dst): four AxpyFMA in a row with one pass over dst (AVX2 and FMA).
func AxpyFMA4(dst []float32, a0, a1, a2, a3 float32, x0, x1, x2, x3 []float32) {
	if len(dst) == 0 {
		return
	}
	_, _, _, _ = x0[len(dst)-1], x1[len(dst)-1], x2[len(dst)-1], x3[len(dst)-1]
	axpyFMA4AVX2(dst, a0, a1, a2, a3, &x0[0], &x1[0], &x2[0], &x3[0])
}

// Add adds x[i] to dst[i] for every i < len(dst) (AVX2).
func Add(dst, x []float32) {
	x = x[:len(dst)]
	addAVX2(dst, x)
}

// F16ToF32 widens the little-endian fp16 values in src into dst (F16C).
func F16ToF32(dst []float32, src []byte) {
	src = src[:2*len(dst)]
	f16ToF32F16C(dst, src)
}

// RoundF16 sets dst[i] to src[i] rounded to the nearest fp16 value, ties to even (F16C).
func RoundF16(dst, src []float32) {
	src = src[:len(dst)]
	roundF16F16C(dst, src)
}

//go:noescape
func dotF32AVX2(a, b []float32) float32

//go:noescape
func axpyFMAAVX2(dst []float32, a float32, x []float32)

//go:noescape
func axpyFMA4AVX2(dst []float32, a0, a1, a2, a3 float32, x0, x1, x2, x3 *float32)

//go:noescape
func addAVX2(dst, x []float32)

//go:noescape
func dotF16AVX2(w []uint16, x []float32) float32

//go:noescape
func dotBF16AVX2(w []uint16, x []float32) float32

//go:noescape
func dotQ8AVX2(w []byte, xq []int8, xd []float32) float32

//go:noescape
func dotQ8VNNI(w []byte, xq []int8, xd []float32) float32

//go:noescape
func dotQ8x2AVX2(w []byte, stride int, xq []int8, xd []float32) (a, b float32)

//go:noescape
func dotQ8x2VNNI(w []byte, stride int, xq []int8, xd []float32) (a, b float32)

//go:noescape
func dotQ8x8AVX2(out []float32, stride int, w []byte, xq []int8, xdT []float32)

//go:noescape
func dotQ8x8VNNI(out []float32, stride int, w []byte, xq []int8, xdT []float32)

//go:noescape
func quantizeQ8AVX2(qs []int8, d, x []float32)

//go:noescape
func axpyAVX2(dst []float32, a float32, x []float32)

//go:noescape
func f16ToF32F16C(dst []float32, src []byte)

//go:noescape
func roundF16F16C(dst, src []float32)
