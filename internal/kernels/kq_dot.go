package kernels

import (
	"encoding/binary"
	"math"
)

// Dot products of K-quant weight rows (Q4_K, Q6_K: the two types of a Q4_K_M file) with one activation row
// quantized to Q8_K. Block layouts (ggml-common.h), 256 elements per superblock:
//
//   - block_q4_K, 144 bytes: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins for the eight groups of
//     32 (get_scale_min_k4), 128 bytes of nibbles; byte 32c+l holds element 64c+l in its low nibble and
//     element 64c+32+l in its high nibble. Element value: d·sc_j·q − dmin·m_j.
//   - block_q6_K, 210 bytes: ql[128], qh[64], int8 scales[16] (one per 16 elements), fp16 d. Element value:
//     d·scales[i/16]·(q−32) with q the 6-bit value of dequantize_row_q6_K.
//   - block_q8_K, 292 bytes: float32 d, int8 qs[256], int16 bsums[16] (bsums[i] = Σ qs[16i..16i+15]).
//
// Per superblock every integer sum is exact in int32 (bounds in the function comments), so SIMD kernels
// may form it in any order; the float part is the fixed expression each function documents, one product
// or difference rounded to float32 at a time (never fused), added to a single float32 accumulator in
// block order. ggml's AVX2 kernels keep 8 float lanes with FMA and agree with these to rounding only.
const (
	kqSuper   = 256 // elements per K-quant superblock
	kqQ4Bytes = 144 // bytes per block_q4_K
	kqQ6Bytes = 210 // bytes per block_q6_K
	kqQ8Bytes = 292 // bytes per block_q8_K
)

// dotQ4_KRef is the reference dot product of n elements (a multiple of 256) of Q4_K weights w with the
// Q8_K activation row x (ggml_vec_dot_q4_K_q8_K). Per superblock, with sc_j, m_j (0..63) the group scales
// and mins and x.qs, x.bsums the activation block:
//
//	sumi := Σ_j sc_j·Σ_{l<32} q4[32j+l]·qs[32j+l]          (int32)
//	summ := Σ_j m_j·(bsums[2j] + bsums[2j+1])               (int32)
//	d    := x.d · fp16(w.d)                                 (float32)
//	dm   := x.d · fp16(w.dmin)
//	acc  += float32(d·float32(sumi)) − float32(dm·float32(summ))
//
// The sums are exact: |sumi| ≤ 8·63·32·15·128 < 2^25 and |summ| ≤ 8·63·32·128 < 2^21.
func dotQ4_KRef(w, x []byte, n int) float32 {
	var acc float32
	for b := 0; b < n/kqSuper; b++ {
		wb := w[b*kqQ4Bytes : (b+1)*kqQ4Bytes]
		xb := x[b*kqQ8Bytes : (b+1)*kqQ8Bytes]
		sc, mn := q4KScaleMins(wb[4:16])
		qs := wb[16:144]
		var sumi, summ int32
		for j := range 8 {
			var s int32
			for l := range 32 {
				q := qs[32*(j/2)+l]
				if j%2 == 0 {
					q &= 15
				} else {
					q >>= 4
				}
				s += int32(q) * int32(int8(xb[4+32*j+l]))
			}
			sumi += int32(sc[j]) * s
			summ += int32(mn[j]) * (kqBsum(xb, 2*j) + kqBsum(xb, 2*j+1))
		}
		xd := math.Float32frombits(binary.LittleEndian.Uint32(xb))
		d := xd * F16ToF32(binary.LittleEndian.Uint16(wb))
		dm := xd * F16ToF32(binary.LittleEndian.Uint16(wb[2:]))
		acc += float32(float32(d*float32(sumi)) - float32(dm*float32(summ)))
	}
	return acc
}

// dotQ6_KRef is the reference dot product of n elements (a multiple of 256) of Q6_K weights w with the
// Q8_K activation row x, in the order of ggml_vec_dot_q6_K_q8_K's AVX2 code, which llama.cpp's AVX-512
// build runs too (Q6_K has no repacked form on x86): eight int32 lanes per superblock (q6KLanes), each
// scaled into its own float32 lane by a fused multiply-add, acc[k] = fma(d, float32(lane[k]), acc[k]) with
// d = x.d · fp16(w.d), and the lanes added at the end as hsum_float_8 (laneAcc.sum).
func dotQ6_KRef(w, x []byte, n int) float32 {
	var acc laneAcc
	for b := 0; b < n/kqSuper; b++ {
		wb := w[b*kqQ6Bytes : (b+1)*kqQ6Bytes]
		xb := x[b*kqQ8Bytes : (b+1)*kqQ8Bytes]
		var q [kqSuper]int32
		var sc [16]int32
		q6KUnpack(&q, wb)
		for i := range sc {
			sc[i] = int32(int8(wb[192+i]))
		}
		xd := math.Float32frombits(binary.LittleEndian.Uint32(xb))
		acc.addLanes(xd*F16ToF32(binary.LittleEndian.Uint16(wb[208:])), q6KLanes(&q, &sc, xb))
	}
	return acc.sum()
}

// q6KLanes returns the eight int32 lanes of ggml's AVX2 Q6_K dot for one superblock with unsigned quants q
// (0..63), scales sc and the Q8_K block xb: lane k gathers, in each 32 elements, the products of elements
// 4k..4k+3 with their scale (what VPMADDUBSW then VPMADDWD leave in lane k), less 32·(bsums[2k]·sc[2k] +
// bsums[2k+1]·sc[2k+1]) (the −32 offset taken from the bsums). The sums are exact in int32.
func q6KLanes(q *[kqSuper]int32, sc *[16]int32, xb []byte) (l [8]int32) {
	for e, v := range q {
		l[e%32/4] += sc[e/16] * v * int32(int8(xb[4+e]))
	}
	for k := range l {
		l[k] -= 32 * (kqBsum(xb, 2*k)*sc[2*k] + kqBsum(xb, 2*k+1)*sc[2*k+1])
	}
	return l
}

// q4KScaleMins unpacks the 12 packed bytes of a block_q4_K into its eight 6-bit scales and mins
// (ggml's get_scale_min_k4).
func q4KScaleMins(p []byte) (sc, mn [8]uint8) {
	for j := range 4 {
		sc[j] = p[j] & 63
		mn[j] = p[j+4] & 63
		sc[j+4] = p[j+8]&15 | (p[j]>>6)<<4
		mn[j+4] = p[j+8]>>4 | (p[j+4]>>6)<<4
	}
	return sc, mn
}

// q6KUnpack writes the 256 unsigned 6-bit quants (0..63, before the −32) of the block_q6_K wb into q, in
// element order (dequantize_row_q6_K).
func q6KUnpack(q *[kqSuper]int32, wb []byte) {
	for h := range 2 {
		ql, qh := wb[64*h:64*h+64], wb[128+32*h:128+32*h+32]
		o := q[128*h:]
		for l := range 32 {
			o[l] = int32(ql[l]&15 | (qh[l]&3)<<4)
			o[l+32] = int32(ql[l+32]&15 | (qh[l]>>2&3)<<4)
			o[l+64] = int32(ql[l]>>4 | (qh[l]>>4&3)<<4)
			o[l+96] = int32(ql[l+32]>>4 | (qh[l]>>6)<<4)
		}
	}
}

// kqBsum returns bsums[i] of the block_q8_K xb.
func kqBsum(xb []byte, i int) int32 {
	return int32(int16(binary.LittleEndian.Uint16(xb[260+2*i:])))
}
