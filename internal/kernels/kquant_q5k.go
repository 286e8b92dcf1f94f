package kernels

import (
	"encoding/binary"
	"math"
)

// Q5_K block layout (176 bytes per 256 elements): fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins
// (as Q4_K), 32 bytes qh, 128 bytes of low nibbles. Sub-block j (32 elements) takes the low (j even) or high
// (j odd) nibbles of qs[32·(j/2):][:32] and bit j of qh[0:32] as its fifth bit; value is d·sc_j·q - dmin·m_j.
const q5KBlockSize = 176

// dequantQ5_K expands the Q5_K blocks in src into dst (a multiple of 256 values), bit-identical to ggml's
// dequantize_row_q5_K: per sub-block d1 = d·sc and m1 = dmin·m, then each value d1·q - m1.
func dequantQ5_K(dst []float32, src []byte) {
	checkKQuant("dequantQ5_K", len(dst), len(src), q5KBlockSize)
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*q5KBlockSize : (b+1)*q5KBlockSize]
		y := dst[b*qkK : (b+1)*qkK]
		d, dmin := fp16(blk[0:]), fp16(blk[2:])
		scales, qh, ql := blk[4:16], blk[16:48], blk[48:176]
		for j := 0; j < 4; j++ {
			sc, m := getScaleMinK4(2*j, scales)
			d1, m1 := float32(d*float32(sc)), float32(dmin*float32(m))
			sc, m = getScaleMinK4(2*j+1, scales)
			d2, m2 := float32(d*float32(sc)), float32(dmin*float32(m))
			u1, u2 := uint8(1)<<(2*j), uint8(2)<<(2*j)
			for l := 0; l < 32; l++ {
				q1, q2 := ql[32*j+l]&0xF, ql[32*j+l]>>4
				if qh[l]&u1 != 0 {
					q1 += 16
				}
				if qh[l]&u2 != 0 {
					q2 += 16
				}
				y[64*j+l] = float32(d1*float32(q1)) - m1
				y[64*j+32+l] = float32(d2*float32(q2)) - m2
			}
		}
	}
}

// quantizeQ5_K quantizes src (a multiple of 256 values) into Q5_K blocks in dst exactly as ggml's
// quantize_row_q5_K_ref (llama-quantize without an importance matrix): as quantizeQ4_K with nmax 31 and
// make_qkx2_quants trying 16 scales from rmin -0.5.
func quantizeQ5_K(dst []byte, src []float32) {
	checkKQuant("quantizeQ5_K", len(src), len(dst), q5KBlockSize)
	var L [qkK]uint8
	for b := 0; b < len(src)/qkK; b++ {
		blk := dst[b*q5KBlockSize : (b+1)*q5KBlockSize]
		quantizeScalesMinsK4(blk, src[b*qkK:(b+1)*qkK], L[:], 31, -0.5, 15)
		qh, ql := blk[16:48], blk[48:176]
		clear(qh)
		for j := 0; j < 4; j++ {
			m1, m2 := uint8(1)<<(2*j), uint8(2)<<(2*j)
			for l := 0; l < 32; l++ {
				l1, l2 := L[64*j+l], L[64*j+32+l]
				if l1 > 15 {
					l1 -= 16
					qh[l] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[l] |= m2
				}
				ql[32*j+l] = l1 | l2<<4
			}
		}
	}
}

// dotQ5_KRef is the reference dot product of a row of n Q5_K weights w (n a multiple of 256) with n
// activations x in Q8_K blocks, in the float order of ggml-cpu's x86 ggml_vec_dot_q5_K_q8_K (the AVX2
// code its AVX-512 builds run too). Per super-block, with d = float32(x.d·fp16(w.d)) and
// dmin = float32(x.d·fp16(w.dmin)), lane k (0..7) holds the exact int32 sum over the elements l of each
// 32-element sub-block j with l%32 in 4k..4k+3 (what VPMADDUBSW and VPMADDWD leave there)
//
//	isum_k = Σ_j sc_j · Σ_l q5_l·q8_l
//
// and gets acc_k = fma(d, float32(isum_k), acc_k), while the exact msum = Σ_k bsums_k · m_{k/2} (k = 0..15)
// goes into summs = fma(-dmin, float32(msum), summs). The result is hsum_float_8 of the lanes
// (laneAcc.sum) plus summs.
func dotQ5_KRef(w, x []byte, n int) float32 {
	var acc laneAcc
	var summs float32
	for b := 0; b < n/qkK; b++ {
		blk := w[b*q5KBlockSize : (b+1)*q5KBlockSize]
		xb := x[b*q8KBlockSize : (b+1)*q8KBlockSize]
		dx := math.Float32frombits(binary.LittleEndian.Uint32(xb))
		d, dmin := float32(dx*fp16(blk[0:])), float32(dx*fp16(blk[2:]))
		scales, qh, ql, q8 := blk[4:16], blk[16:48], blk[48:176], xb[4:4+qkK]
		var isum [8]int32
		var msum int32
		for j := 0; j < 8; j++ {
			sc, m := getScaleMinK4(j, scales)
			shift, u := uint(4*(j&1)), uint8(1)<<j
			for l := 0; l < 32; l++ {
				q := int32(ql[32*(j/2)+l]>>shift&0xF) + int32(qh[l]&u>>j)<<4
				isum[l/4] += int32(sc) * q * int32(int8(q8[32*j+l]))
			}
			msum += int32(m) * (bsum(xb, 2*j) + bsum(xb, 2*j+1))
		}
		for k, s := range isum {
			acc[k] = fma32(d, float32(s), acc[k])
		}
		summs = fma32(-dmin, float32(msum), summs)
	}
	return acc.sum() + summs
}

// bsum is the k-th bsums entry (sum of 16 quants) of the Q8_K block xb.
func bsum(xb []byte, k int) int32 {
	return int32(int16(binary.LittleEndian.Uint16(xb[4+qkK+2*k:])))
}
