package kernels

import (
	"encoding/binary"
	"math"
)

// IQ4_XS block layout (136 bytes per 256 elements): fp16 d, uint16 scales_h (2 high bits per sub-block),
// 4 bytes scales_l (4 low bits per sub-block), 128 bytes of 4-bit indices into kvaluesIQ4NL. Sub-block ib
// (32 elements) takes the low nibbles of qs[16·ib:][:16] for its first 16 elements and the high nibbles for
// the next 16; its value is d·(ls_ib - 32)·kvaluesIQ4NL[index], ls_ib the 6-bit scale.
const iq4XSBlockSize = 136

// kvaluesIQ4NL is ggml's kvalues_iq4nl, the sixteen non-linear levels of IQ4_NL and IQ4_XS.
var kvaluesIQ4NL = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// iq4XSScale is the unsigned 6-bit scale of sub-block ib of the IQ4_XS block blk.
func iq4XSScale(blk []byte, ib int) int32 {
	h := binary.LittleEndian.Uint16(blk[2:])
	return int32(blk[4+ib/2]>>(4*(ib%2))&0xF) | int32(h>>(2*ib)&3)<<4
}

// dequantIQ4_XS expands the IQ4_XS blocks in src into dst (a multiple of 256 values), bit-identical to
// ggml's dequantize_row_iq4_xs: per sub-block dl = d·(ls - 32), then each value dl·level.
func dequantIQ4_XS(dst []float32, src []byte) {
	checkKQuant("dequantIQ4_XS", len(dst), len(src), iq4XSBlockSize)
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*iq4XSBlockSize : (b+1)*iq4XSBlockSize]
		d := fp16(blk)
		for ib := 0; ib < 8; ib++ {
			dl := float32(d * float32(iq4XSScale(blk, ib)-32))
			qs := blk[8+16*ib : 8+16*ib+16]
			y := dst[b*qkK+32*ib : b*qkK+32*ib+32]
			for j, q := range qs {
				y[j] = dl * float32(kvaluesIQ4NL[q&0xF])
				y[j+16] = dl * float32(kvaluesIQ4NL[q>>4])
			}
		}
	}
}

// bestIndexInt8 is ggml's best_index_int8: the index of the value in the ascending table val nearest to x
// (the upper one on a tie).
func bestIndexInt8(val []int8, x float32) uint8 {
	n := len(val)
	if x <= float32(val[0]) {
		return 0
	}
	if x >= float32(val[n-1]) {
		return uint8(n - 1)
	}
	ml, mu := 0, n-1
	for mu-ml > 1 {
		mav := (ml + mu) / 2
		if x < float32(val[mav]) {
			mu = mav
		} else {
			ml = mav
		}
	}
	if x-float32(val[mu-1]) < float32(val[mu])-x {
		return uint8(mu - 1)
	}
	return uint8(mu)
}

// quantizeIQ4_XS quantizes src (a multiple of 256 values) into IQ4_XS blocks in dst exactly as ggml's
// quantize_iq4_xs with no importance matrix (quantize_row_iq4_nl_impl with weights x², ntry 7): per 32
// elements the x²-weighted best scale over 16 trials, the scales quantized to 6 bits against -max/32, then
// every element re-indexed against its stored sub-block scale.
func quantizeIQ4_XS(dst []byte, src []float32) {
	checkKQuant("quantizeIQ4_XS", len(src), len(dst), iq4XSBlockSize)
	const ntry = 7
	values := kvaluesIQ4NL[:]
	var (
		L      [qkK]uint8
		weight [32]float32
		scales [8]float32
	)
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*iq4XSBlockSize : (b+1)*iq4XSBlockSize]
		clear(blk[8:])
		putFP16(blk, 0)
		var maxScale, amaxScale float32
		for ib := 0; ib < 8; ib++ {
			xb, Lb := x[32*ib:32*ib+32], L[32*ib:32*ib+32]
			var amax, mx float32
			for j, v := range xb {
				weight[j] = float32(v * v)
				if ax := abs32(v); ax > amax {
					amax, mx = ax, v
				}
			}
			if amax < groupMaxEps {
				scales[ib] = 0
				continue
			}
			d := -mx / float32(values[0])
			id := 1 / d
			var sumqx, sumq2 float32
			for j, v := range xb {
				l := bestIndexInt8(values, float32(id*v))
				Lb[j] = l
				q := float32(values[l])
				wq := float32(weight[j] * q)
				sumqx += float32(wq * v)
				sumq2 += float32(wq * q)
			}
			d = 0
			if sumq2 > 0 {
				d = sumqx / sumq2
			}
			best := float32(d * sumqx)
			for itry := -ntry; itry <= ntry; itry++ {
				id = float32(itry+int(values[0])) / mx
				sumqx, sumq2 = 0, 0
				for j, v := range xb {
					q := float32(values[bestIndexInt8(values, float32(id*v))])
					wq := float32(weight[j] * q)
					sumqx += float32(wq * v)
					sumq2 += float32(wq * q)
				}
				if sumq2 > 0 && float32(sumqx*sumqx) > float32(best*sumq2) {
					d = sumqx / sumq2
					best = float32(d * sumqx)
				}
			}
			scales[ib] = d
			if ad := abs32(d); ad > amaxScale {
				amaxScale, maxScale = ad, d
			}
		}
		d := -maxScale / 32
		putFP16(blk, d)
		var id float32
		if d != 0 {
			id = 1 / d
		}
		var scalesH uint16
		for ib := 0; ib < 8; ib++ {
			l := nearestInt(float32(id * scales[ib]))
			l = max(-32, min(31, l))
			dl := float32(d * float32(l))
			var idl float32
			if dl != 0 {
				idl = 1 / dl
			}
			xb, Lb := x[32*ib:32*ib+32], L[32*ib:32*ib+32]
			for j, v := range xb {
				Lb[j] = bestIndexInt8(values, float32(idl*v))
			}
			l += 32
			if ib%2 == 0 {
				blk[4+ib/2] = byte(l & 0xF)
			} else {
				blk[4+ib/2] |= byte(l&0xF) << 4
			}
			scalesH |= uint16(l>>4) << (2 * ib)
		}
		binary.LittleEndian.PutUint16(blk[2:], scalesH)
		qs := blk[8:]
		for i := 0; i < 8; i++ {
			for j := 0; j < 16; j++ {
				qs[16*i+j] = L[32*i+j] | L[32*i+16+j]<<4
			}
		}
	}
}

// dotIQ4_XSRef is the reference dot product of a row of n IQ4_XS weights w (n a multiple of 256) with n
// activations x in Q8_K blocks. Per super-block, with d = float32(fp16(w.d)·x.d), the exact int32 sum
//
//	isum = Σ_ib (ls_ib - 32) · Σ_{l in sub-block ib} kvaluesIQ4NL[q_l]·q8_l   (ib = 0..7, 32 elements each)
//
// gives acc += float32(d·float32(isum)), added to one float32 accumulator in block order (no fused
// multiply-add). ggml's vec_dot_iq4_xs_q8_K forms the same integer sums per sub-block and differs only in
// float rounding.
func dotIQ4_XSRef(w, x []byte, n int) float32 {
	var acc float32
	for b := 0; b < n/qkK; b++ {
		blk := w[b*iq4XSBlockSize : (b+1)*iq4XSBlockSize]
		xb := x[b*q8KBlockSize : (b+1)*q8KBlockSize]
		d := float32(fp16(blk) * math.Float32frombits(binary.LittleEndian.Uint32(xb)))
		var isum int32
		for ib := 0; ib < 8; ib++ {
			qs, q8 := blk[8+16*ib:8+16*ib+16], xb[4+32*ib:4+32*ib+32]
			var s int32
			for j, q := range qs {
				s += int32(kvaluesIQ4NL[q&0xF])*int32(int8(q8[j])) + int32(kvaluesIQ4NL[q>>4])*int32(int8(q8[j+16]))
			}
			isum += (iq4XSScale(blk, ib) - 32) * s
		}
		acc += float32(d * float32(isum))
	}
	return acc
}
