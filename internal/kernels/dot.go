package kernels

import "encoding/binary"

// The scalar reference kernels. Every SIMD kernel must return bit for bit what these return, so the float
// accumulation order is part of their definition:
//
//   - The F32 dot is ggml_vec_dot_f32 as llama.cpp's AVX-512 (zen4) build runs it, which is the dot of
//     its F32 matmuls and of attention's scores and weighted sums: element i of each whole 64 goes by a
//     fused multiply-add into lane i%64 of 64 float32 partial sums, the lanes fold as fold64, then the
//     n%64 tail: whole 16s and then a whole 8 as rounded products added one by one, the last n%8 by fused
//     multiply-adds (the loop gcc makes of `sumf += x[i]*y[i]`).
//   - F16 and BF16 dots accumulate element i into lane i%32 of 32 float32 partial sums (with a separate
//     multiply and add, never a fused multiply-add), fold the lanes pairwise (k += k+16, then k+8, k+4, k+2,
//     k+1), then add the n%32 tail products one by one. F16 and BF16 weights meet activations already
//     rounded to the same type (held as float32), so every product is exact and only the order matters. ggml also keeps 32 float lanes on AVX2 (4×8, FMA) but folds them differently
//     and adds the tail in another order; the results agree to float32 rounding.
//   - Q8_0 dots form each block's integer sum exactly and add float32(sumi)·(dw·dx) to one float32
//     accumulator block by block, as ggml's generic ggml_vec_dot_q8_0_q8_0 (its AVX2 path keeps 8 lanes).

// dotF32Ref is the reference F32 dot product of a and b[:len(a)] (ggml_vec_dot_f32's order, see above).
func dotF32Ref(a, b []float32) float32 {
	b = b[:len(a)]
	var acc [64]float32
	np := len(a) &^ 63
	for i := 0; i < np; i += 64 {
		a, b := a[i:i+64], b[i:i+64]
		for k := range acc {
			acc[k] = fma32(a[k], b[k], acc[k])
		}
	}
	s := foldLanes(acc[:])
	i := np
	for ; len(a)-i >= 16; i += 16 {
		s = addProducts(s, a[i:i+16], b[i:i+16])
	}
	if len(a)-i >= 8 {
		s = addProducts(s, a[i:i+8], b[i:i+8])
		i += 8
	}
	for ; i < len(a); i++ {
		s = fma32(a[i], b[i], s)
	}
	return s
}

// addProducts returns s plus each rounded product a[i]·b[i], added one by one.
func addProducts(s float32, a, b []float32) float32 {
	b = b[:len(a)]
	for i := range a {
		s += float32(a[i] * b[i])
	}
	return s
}

// foldLanes sums 16, 32 or 64 float32 lanes as ggml's AVX-512 reductions do (GGML_F32_VEC_REDUCE, which ends
// in _mm512_reduce_add_ps): lanes 32-63 onto 0-31, then 16-31 onto 0-15, then 8-15 onto 0-7, 4-7 onto 0-3,
// 2-3 onto 0-1 and lane 1 onto lane 0. Equivalently the sum splits on bit 0 of the lane index at the root,
// then on bit 1, and so on (lanesTree).
func foldLanes(acc []float32) float32 {
	var t [64]float32
	w := copy(t[:], acc)
	for w > 1 {
		w /= 2
		for k := 0; k < w; k++ {
			t[k] += t[k+w]
		}
	}
	return t[0]
}

// dotF16Ref is the reference dot product of fp16 weights w and activations x[:len(w)] (float32 values that
// MatMul has already rounded to fp16, so every product is exact).
func dotF16Ref(w []uint16, x []float32) float32 {
	x = x[:len(w)]
	var acc [32]float32
	np := len(w) &^ 31
	for i := 0; i < np; i += 32 {
		w, x := w[i:i+32], x[i:i+32]
		for k := range acc {
			acc[k] += float32(F16ToF32(w[k]) * x[k])
		}
	}
	s := fold32(&acc)
	for i := np; i < len(w); i++ {
		s += float32(F16ToF32(w[i]) * x[i])
	}
	return s
}

// dotBF16Ref is the reference dot product of bf16 weights w and activations x[:len(w)] (float32 values
// already rounded to bf16).
func dotBF16Ref(w []uint16, x []float32) float32 {
	x = x[:len(w)]
	var acc [32]float32
	np := len(w) &^ 31
	for i := 0; i < np; i += 32 {
		w, x := w[i:i+32], x[i:i+32]
		for k := range acc {
			acc[k] += float32(BF16ToF32(w[k]) * x[k])
		}
	}
	s := fold32(&acc)
	for i := np; i < len(w); i++ {
		s += float32(BF16ToF32(w[i]) * x[i])
	}
	return s
}

// fold32 sums the 32 lanes pairwise: lane k += lane k+16, then k+8, k+4, k+2, k+1.
func fold32(acc *[32]float32) float32 {
	for w := 16; w >= 1; w /= 2 {
		for k := 0; k < w; k++ {
			acc[k] += acc[k+w]
		}
	}
	return acc[0]
}

// dotQ8Ref is the reference dot product of len(xd) Q8_0 weight blocks w with activation quants xq and
// their block scales xd.
func dotQ8Ref(w []byte, xq []int8, xd []float32) float32 {
	var acc float32
	for b, dx := range xd {
		blk := w[b*q8BlockSize : (b+1)*q8BlockSize]
		q := xq[b*qk8 : (b+1)*qk8]
		var sumi int32
		for j, v := range blk[2:] {
			sumi += int32(int8(v)) * int32(q[j])
		}
		d := F16ToF32(binary.LittleEndian.Uint16(blk)) * dx
		acc += float32(float32(sumi) * d)
	}
	return acc
}

// dotQ8x2Ref returns the reference dot products of the rows w and w[stride:] with one vector.
func dotQ8x2Ref(w []byte, stride int, xq []int8, xd []float32) (float32, float32) {
	return dotQ8Ref(w, xq, xd), dotQ8Ref(w[stride:], xq, xd)
}

// dotQ8x8Ref computes out[j·stride] = dotQ8Ref(w, vector j) for 8 activation vectors at once: vector j's
// quants are xq[j·nb·32 : (j+1)·nb·32] and its block scales xdT[b·8+j] (nb = len(xdT)/8).
func dotQ8x8Ref(out []float32, stride int, w []byte, xq []int8, xdT []float32) {
	nb := len(xdT) / 8
	for j := range 8 {
		var acc float32
		for b := 0; b < nb; b++ {
			blk := w[b*q8BlockSize : (b+1)*q8BlockSize]
			q := xq[(j*nb+b)*qk8 : (j*nb+b+1)*qk8]
			var sumi int32
			for i, v := range blk[2:] {
				sumi += int32(int8(v)) * int32(q[i])
			}
			d := F16ToF32(binary.LittleEndian.Uint16(blk)) * xdT[b*8+j]
			acc += float32(float32(sumi) * d)
		}
		out[j*stride] = acc
	}
}

// axpyFMARef sets dst[i] = fma(a, x[i], dst[i]): a·x[i] + dst[i] rounded once.
func axpyFMARef(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] = fma32(a, x[i], dst[i])
	}
}

// axpyFMA4Ref is axpyFMARef with a0 and x0, then a1 and x1, a2 and x2, a3 and x3.
func axpyFMA4Ref(dst []float32, a0, a1, a2, a3 float32, x0, x1, x2, x3 []float32) {
	axpyFMARef(dst, a0, x0)
	axpyFMARef(dst, a1, x1)
	axpyFMARef(dst, a2, x2)
	axpyFMARef(dst, a3, x3)
}

// addRef adds x[i] to dst[i].
func addRef(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}

// axpyRef adds a·x[i] to dst[i] (a separate multiply and add).
func axpyRef(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += float32(a * x[i])
	}
}
