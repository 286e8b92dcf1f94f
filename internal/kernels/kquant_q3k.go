package kernels

import (
	"encoding/binary"
	"math"
)

// Q3_K block layout (110 bytes per 256 elements): 32 bytes hmask (high bits), 64 bytes qs (low 2 bits),
// 12 bytes of sixteen 6-bit scales (q3KScale), fp16 d. Element e = 128·h + 32·j + i (h 0..1, j 0..3,
// i 0..31) takes bits 2j..2j+1 of qs[32·h + i] and bit 4h+j of hmask[i]; with the high bit clear the level
// is 4 lower. Its value is d·(scale_{e/16} - 32)·(q - 4·[bit clear]), q - 4 in [-4, 3].
const q3KBlockSize = 110

// q3KScale is the unsigned 6-bit scale k (0..15) of a Q3_K block's 12 scale bytes s: the low nibble of
// s[k] (k < 8) or high nibble of s[k-8], and bits 2(k/4)..2(k/4)+1 of s[8 + k%4] above it.
func q3KScale(s []byte, k int) int32 {
	lo := s[k%8] >> (4 * (k / 8)) & 0xF
	hi := s[8+k%4] >> (2 * (k / 4)) & 3
	return int32(lo | hi<<4)
}

// q3KLevel is the signed level (-4..3) of element e of a Q3_K block's qs and hmask.
func q3KLevel(qs, hmask []byte, e int) int32 {
	h, j, i := e/128, e/32%4, e%32
	q := int32(qs[32*h+i] >> (2 * j) & 3)
	if hmask[i]>>(4*h+j)&1 == 0 {
		q -= 4
	}
	return q
}

// dequantQ3_K expands the Q3_K blocks in src into dst (a multiple of 256 values), bit-identical to ggml's
// dequantize_row_q3_K: per 16 elements dl = d·(scale - 32), then each value dl·q.
func dequantQ3_K(dst []float32, src []byte) {
	checkKQuant("dequantQ3_K", len(dst), len(src), q3KBlockSize)
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*q3KBlockSize : (b+1)*q3KBlockSize]
		hmask, qs, scales := blk[0:32], blk[32:96], blk[96:108]
		d := fp16(blk[108:])
		y := dst[b*qkK : (b+1)*qkK]
		for k := 0; k < 16; k++ {
			dl := float32(d * float32(q3KScale(scales, k)-32))
			for e := 16 * k; e < 16*k+16; e++ {
				y[e] = dl * float32(q3KLevel(qs, hmask, e))
			}
		}
	}
}

// quantizeQ3_K quantizes src (a multiple of 256 values) into Q3_K blocks in dst exactly as ggml's
// quantize_row_q3_K_ref (llama-quantize without an importance matrix): per 16 elements make_q3_quants
// (nmax 4, refined), the scales quantized to 6 bits against -32/max, then every element requantized against
// d·(scale-32).
func quantizeQ3_K(dst []byte, src []float32) {
	checkKQuant("quantizeQ3_K", len(src), len(dst), q3KBlockSize)
	var (
		L      [qkK]int8
		scales [16]float32
	)
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*q3KBlockSize : (b+1)*q3KBlockSize]
		hmask, qs, sc := blk[0:32], blk[32:96], blk[96:108]
		var maxScale, amax float32
		for j := 0; j < 16; j++ {
			scales[j] = makeQ3Quants(4, x[16*j:16*j+16], L[16*j:16*j+16])
			if s := abs32(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}
		clear(sc)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < 16; j++ {
				l := int8(nearestInt(float32(iscale * scales[j])))
				l = int8(max(-32, min(31, int(l))) + 32)
				if j < 8 {
					sc[j] = byte(l) & 0xF
				} else {
					sc[j-8] |= (byte(l) & 0xF) << 4
				}
				l >>= 4
				sc[j%4+8] |= byte(l) << (2 * (j / 4))
			}
			putFP16(blk[108:], 1/iscale)
		} else {
			putFP16(blk[108:], 0)
		}
		d0 := fp16(blk[108:])
		for j := 0; j < 16; j++ {
			d := float32(d0 * float32(q3KScale(sc, j)-32))
			if d == 0 {
				continue
			}
			for i := 16 * j; i < 16*j+16; i++ {
				l := nearestInt(x[i] / d)
				L[i] = int8(max(-4, min(3, l)) + 4)
			}
		}
		clear(hmask)
		m, hm := 0, byte(1)
		for j := 0; j < qkK; j++ {
			if L[j] > 3 {
				hmask[m] |= hm
				L[j] -= 4
			}
			if m++; m == qkK/8 {
				m, hm = 0, hm<<1
			}
		}
		for h := 0; h < 2; h++ {
			for l := 0; l < 32; l++ {
				e := 128*h + l
				qs[32*h+l] = byte(L[e]) | byte(L[e+32])<<2 | byte(L[e+64])<<4 | byte(L[e+96])<<6
			}
		}
	}
}

// dotQ3_KRef is the reference dot product of a row of n Q3_K weights w (n a multiple of 256) with n
// activations x in Q8_K blocks, in the float order of ggml-cpu's x86 ggml_vec_dot_q3_K_q8_K (the AVX2
// code its AVX-512 builds run too). Per super-block, with d = float32(x.d·fp16(w.d)), lane k (0..7) holds
// the exact int32 sum over the elements e with e%32 in 4k..4k+3 (what VPMADDUBSW and VPMADDWD leave there)
//
//	isum_k = Σ_e (scale_{e/16} - 32) · q3_e · q8_e   (q3 in [-4, 3])
//
// and gets acc_k = fma(d, float32(isum_k), acc_k); the lanes are added as hsum_float_8 (laneAcc.sum).
func dotQ3_KRef(w, x []byte, n int) float32 {
	var acc laneAcc
	for b := 0; b < n/qkK; b++ {
		blk := w[b*q3KBlockSize : (b+1)*q3KBlockSize]
		xb := x[b*q8KBlockSize : (b+1)*q8KBlockSize]
		hmask, qs, scales, q8 := blk[0:32], blk[32:96], blk[96:108], xb[4:4+qkK]
		d := float32(math.Float32frombits(binary.LittleEndian.Uint32(xb)) * fp16(blk[108:]))
		var isum [8]int32
		for k := 0; k < 16; k++ { // group k: elements 16k.., e%32 = 16·(k%2) + 0..15, lanes 4·(k%2)..
			sc := q3KScale(scales, k) - 32
			h, j, i0 := k/8, k/2%4, 16*(k%2)
			ql, hm, x8 := qs[32*h+i0:32*h+i0+16], hmask[i0:i0+16], q8[16*k:16*k+16]
			for t := 0; t < 4; t++ {
				var s int32
				for i := 4 * t; i < 4*t+4; i++ {
					q := int32(ql[i] >> (2 * j) & 3)
					if hm[i]>>(4*h+j)&1 == 0 {
						q -= 4
					}
					s += q * int32(int8(x8[i]))
				}
				isum[4*(k%2)+t] += sc * s
			}
		}
		for k, s := range isum {
			acc[k] = fma32(d, float32(s), acc[k])
		}
	}
	return acc.sum()
}
