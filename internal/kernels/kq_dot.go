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
// may form it in any order; the float part is the fixed expression each function documents, in block
// order, so that SIMD kernels reproduce it bit for bit.
const (
	kqSuper   = 256 // elements per K-quant superblock
	kqQ4Bytes = 144 // bytes per block_q4_K
	kqQ6Bytes = 210 // bytes per block_q6_K
	kqQ8Bytes = 292 // bytes per block_q8_K
)

// dotQ4_KRef is the reference dot product of n elements (a multiple of 256) of Q4_K weights w with the
// Q8_K activation row x, in the float order of ggml-cpu's repacked x86 gemv (ggml_gemv_q4_K_8x8_q8_K, the
// kernel llama.cpp runs for every Q4_K weight it repacks: 2D weights and experts with rows a multiple of
// 8). Per superblock, with sc_j, m_j (0..63) the group scales and mins and x.qs, x.bsums the activation
// block:
//
//	sumi := Σ_j sc_j·Σ_{l<32} q4[32j+l]·qs[32j+l]          (int32)
//	summ := Σ_j m_j·(bsums[2j] + bsums[2j+1])               (int32)
//	d    := fp16(w.d) · x.d                                 (float32)
//	dm   := fp16(w.dmin) · x.d
//	acc  = fma(float32(sumi), d, acc);  accm = fma(float32(summ), dm, accm)
//
// and the result is acc − accm: the scale part and the min part are accumulated apart and subtracted once.
// The sums are exact: |sumi| ≤ 8·63·32·15·128 < 2^25 and |summ| ≤ 8·63·32·128 < 2^21.
func dotQ4_KRef(w, x []byte, n int) float32 {
	var acc, accm float32
	for b := 0; b < n/kqSuper; b++ {
		wb := w[b*kqQ4Bytes : (b+1)*kqQ4Bytes]
		xb := x[b*kqQ8Bytes : (b+1)*kqQ8Bytes]
		sumi, summ := q4KSums(wb, xb)
		xd := math.Float32frombits(binary.LittleEndian.Uint32(xb))
		acc = fma32(float32(sumi), F16ToF32(binary.LittleEndian.Uint16(wb))*xd, acc)
		accm = fma32(float32(summ), F16ToF32(binary.LittleEndian.Uint16(wb[2:]))*xd, accm)
	}
	return acc - accm
}

// q4KSums returns the exact integer sums sumi and summ of dotQ4_KRef for the block_q4_K wb and the
// block_q8_K xb.
func q4KSums(wb, xb []byte) (sumi, summ int32) {
	sc, mn := q4KScaleMins(wb[4:16])
	qs := wb[16:144]
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
	return sumi, summ
}

// dotQ4_KVecRef is dotQ4_KRef in the float order of ggml-cpu's x86 ggml_vec_dot_q4_K_q8_K (the AVX2
// code its AVX-512 builds run too), which llama.cpp uses for the Q4_K weights it does not repack
// (Matrix.VecDot, and rows not a multiple of 8). Per superblock, lane k (0..7) of a laneAcc takes
// fma(d, float32(Σ_j sc_j·Σ_{l<4} q4[32j+4k+l]·qs[32j+4k+l]), lane) with d = x.d·fp16(w.d); lane i (0..3)
// of a second accumulator takes fma(−dm, float32(m_{2i}·(bsums[4i]+bsums[4i+1]) + m_{2i+1}·(bsums[4i+2]
// +bsums[4i+3])), lane) with dm = x.d·fp16(w.dmin). The result is the laneAcc's hsum_float_8 plus
// (m0 + m2) + (m1 + m3).
func dotQ4_KVecRef(w, x []byte, n int) float32 {
	var acc laneAcc
	var accm [4]float32
	for b := 0; b < n/kqSuper; b++ {
		wb := w[b*kqQ4Bytes : (b+1)*kqQ4Bytes]
		xb := x[b*kqQ8Bytes : (b+1)*kqQ8Bytes]
		sc, mn := q4KScaleMins(wb[4:16])
		qs := wb[16:144]
		var lanes [8]int32
		for j := range 8 {
			for l := range 32 {
				q := qs[32*(j/2)+l]
				if j%2 == 0 {
					q &= 15
				} else {
					q >>= 4
				}
				lanes[l/4] += int32(sc[j]) * int32(q) * int32(int8(xb[4+32*j+l]))
			}
		}
		xd := math.Float32frombits(binary.LittleEndian.Uint32(xb))
		d := xd * F16ToF32(binary.LittleEndian.Uint16(wb))
		dm := xd * F16ToF32(binary.LittleEndian.Uint16(wb[2:]))
		for k := range acc {
			acc[k] = fma32(d, float32(lanes[k]), acc[k])
		}
		for i := range accm {
			p := int32(mn[2*i])*(kqBsum(xb, 4*i)+kqBsum(xb, 4*i+1)) + int32(mn[2*i+1])*(kqBsum(xb, 4*i+2)+kqBsum(xb, 4*i+3))
			accm[i] = fma32(-dm, float32(p), accm[i])
		}
	}
	return acc.sum() + ((accm[0] + accm[2]) + (accm[1] + accm[3]))
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
