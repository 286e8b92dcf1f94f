package kernels

import (
	"encoding/binary"
	"math"
)

// Q2_K block layout (84 bytes per 256 elements): 16 scale bytes (low nibble the scale, high nibble the min
// of each 16 elements), 64 bytes of 2-bit quants, fp16 d, fp16 dmin. Element e = 128·h + 32·j + i (h 0..1,
// j 0..3, i 0..31) takes bits 2j..2j+1 of qs[32·h + i]; its value is d·sc_{e/16}·q - dmin·m_{e/16}.
const q2KBlockSize = 84

// q2KLevel is the level (0..3) of element e of a Q2_K block's 64 quant bytes qs.
func q2KLevel(qs []byte, e int) uint8 { return qs[32*(e/128)+e%32] >> (2 * (e / 32 % 4)) & 3 }

// dequantQ2_K expands the Q2_K blocks in src into dst (a multiple of 256 values), bit-identical to ggml's
// dequantize_row_q2_K: per 16 elements dl = d·sc and ml = dmin·m, then each value dl·q - ml.
func dequantQ2_K(dst []float32, src []byte) {
	checkKQuant("dequantQ2_K", len(dst), len(src), q2KBlockSize)
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*q2KBlockSize : (b+1)*q2KBlockSize]
		scales, qs := blk[0:16], blk[16:80]
		d, dmin := fp16(blk[80:]), fp16(blk[82:])
		y := dst[b*qkK : (b+1)*qkK]
		for k, sc := range scales {
			dl, ml := float32(d*float32(sc&0xF)), float32(dmin*float32(sc>>4))
			for e := 16 * k; e < 16*k+16; e++ {
				y[e] = float32(dl*float32(q2KLevel(qs, e))) - ml
			}
		}
	}
}

// quantizeQ2_K quantizes src (a multiple of 256 values) into Q2_K blocks in dst exactly as ggml's
// quantize_row_q2_K_ref (llama-quantize without an importance matrix): per 16 elements make_qkx2_quants
// (nmax 3, weights |x|, absolute error, 16 trial scales), scales and mins quantized to 4 bits against
// their maxima, then every element requantized against the stored scale and min.
func quantizeQ2_K(dst []byte, src []float32) {
	checkKQuant("quantizeQ2_K", len(src), len(dst), q2KBlockSize)
	var (
		L       [qkK]uint8
		laux    [16]uint8
		weights [16]float32
		mins    [16]float32
		scales  [16]float32
	)
	const q4scale = 15
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*q2KBlockSize : (b+1)*q2KBlockSize]
		sc, qs := blk[0:16], blk[16:80]
		var maxScale, maxMin float32
		for j := 0; j < 16; j++ {
			xj := x[16*j : 16*j+16]
			for l, v := range xj {
				weights[l] = abs32(v)
			}
			scales[j], mins[j] = makeQKX2Quants(3, xj, weights[:], L[16*j:16*j+16], laux[:], -0.5, 0.1, 15, true)
			maxScale = max32(maxScale, scales[j])
			maxMin = max32(maxMin, mins[j])
		}
		if maxScale > 0 {
			iscale := q4scale / maxScale
			for j := range sc {
				sc[j] = byte(nearestInt(float32(iscale * scales[j])))
			}
			putFP16(blk[80:], maxScale/q4scale)
		} else {
			clear(sc)
			putFP16(blk[80:], 0)
		}
		if maxMin > 0 {
			iscale := q4scale / maxMin
			for j := range sc {
				sc[j] |= byte(nearestInt(float32(iscale*mins[j])) << 4)
			}
			putFP16(blk[82:], maxMin/q4scale)
		} else {
			putFP16(blk[82:], 0)
		}
		d0, dmin0 := fp16(blk[80:]), fp16(blk[82:])
		for j := 0; j < 16; j++ {
			d := float32(d0 * float32(sc[j]&0xF))
			if d == 0 {
				continue
			}
			dm := float32(dmin0 * float32(sc[j]>>4))
			for i := 16 * j; i < 16*j+16; i++ {
				l := nearestInt((x[i] + dm) / d)
				L[i] = uint8(max(0, min(3, l)))
			}
		}
		for h := 0; h < 2; h++ {
			for l := 0; l < 32; l++ {
				e := 128*h + l
				qs[32*h+l] = L[e] | L[e+32]<<2 | L[e+64]<<4 | L[e+96]<<6
			}
		}
	}
}

// dotQ2_KRef is the reference dot product of a row of n Q2_K weights w (n a multiple of 256) with n
// activations x in Q8_K blocks. Per super-block, with dall = float32(fp16(w.d)·x.d) and
// dmin = float32(fp16(w.dmin)·x.d), two exact int32 sums are formed:
//
//	isum = Σ_k sc_k · Σ_{l in group k} q2_l·q8_l   (k = 0..15, 16 elements each, sc_k the low nibble)
//	msum = Σ_k bsums_k · m_k                        (m_k the high nibble of scale byte k)
//
// and acc += float32(dall·float32(isum)) - float32(dmin·float32(msum)) is added to one float32 accumulator
// in block order (no fused multiply-add). ggml's vec_dot_q2_K_q8_K forms the same integer sums and differs
// only in float rounding.
func dotQ2_KRef(w, x []byte, n int) float32 {
	var acc float32
	for b := 0; b < n/qkK; b++ {
		blk := w[b*q2KBlockSize : (b+1)*q2KBlockSize]
		xb := x[b*q8KBlockSize : (b+1)*q8KBlockSize]
		scales, qs, q8 := blk[0:16], blk[16:80], xb[4:4+qkK]
		dx := math.Float32frombits(binary.LittleEndian.Uint32(xb))
		dall, dmin := float32(fp16(blk[80:])*dx), float32(fp16(blk[82:])*dx)
		var isum, msum int32
		for k, sc := range scales {
			var s int32
			for e := 16 * k; e < 16*k+16; e++ {
				s += int32(q2KLevel(qs, e)) * int32(int8(q8[e]))
			}
			isum += int32(sc&0xF) * s
			msum += int32(sc>>4) * bsum(xb, k)
		}
		acc += float32(dall*float32(isum)) - float32(dmin*float32(msum))
	}
	return acc
}
