package kernels

// Q6_K block layout (210 bytes per 256 elements): 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits),
// 16 int8 scales (one per 16 elements), fp16 d. In each 128-element half, element l (0..31) of the four
// 32-element quarters takes ql[l] low, ql[l+32] low, ql[l] high, ql[l+32] high nibble and bits 0-1, 2-3, 4-5,
// 6-7 of qh[l]; value is d·scale·(q - 32).
const q6KBlockSize = 210

// dequantQ6_K expands the Q6_K blocks in src into dst (a multiple of 256 values), bit-identical to ggml's
// dequantize_row_q6_K: each value is (d·scale)·(q-32), rounded after each product.
func dequantQ6_K(dst []float32, src []byte) {
	checkKQuant("dequantQ6_K", len(dst), len(src), q6KBlockSize)
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*q6KBlockSize : (b+1)*q6KBlockSize]
		d := fp16(blk[208:])
		for h := 0; h < 2; h++ {
			ql, qh, sc := blk[64*h:64*h+64], blk[128+32*h:128+32*h+32], blk[192+8*h:192+8*h+8]
			y := dst[b*qkK+128*h : b*qkK+128*h+128]
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int8(ql[l]&0xF|(qh[l]>>0&3)<<4) - 32
				q2 := int8(ql[l+32]&0xF|(qh[l]>>2&3)<<4) - 32
				q3 := int8(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int8(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				y[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
				y[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
				y[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
				y[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
			}
		}
	}
}

// quantizeQ6_K quantizes src (a multiple of 256 values) into Q6_K blocks in dst exactly as ggml's
// quantize_row_q6_K_ref (llama-quantize without an importance matrix): per 16 elements make_qx_quants
// (nmax 32, x²-weighted), the sixteen scales quantized to int8 against -128/max, then every element
// requantized against d·scale. A block whose scales are all below GROUP_MAX_EPS is stored as zeros.
func quantizeQ6_K(dst []byte, src []float32) {
	checkKQuant("quantizeQ6_K", len(src), len(dst), q6KBlockSize)
	var (
		L      [qkK]int8
		scales [16]float32
	)
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*q6KBlockSize : (b+1)*q6KBlockSize]
		var maxScale, maxAbsScale float32
		for ib := 0; ib < 16; ib++ {
			s := makeQXQuants(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
			scales[ib] = s
			if as := abs32(s); as > maxAbsScale {
				maxAbsScale, maxScale = as, s
			}
		}
		if maxAbsScale < groupMaxEps {
			clear(blk)
			continue
		}
		iscale := -128 / maxScale
		putFP16(blk[208:], 1/iscale)
		sc := blk[192:208]
		for ib := range sc {
			sc[ib] = byte(int8(min(127, nearestInt(float32(iscale*scales[ib])))))
		}
		d0 := fp16(blk[208:])
		for j := 0; j < 16; j++ {
			d := float32(d0 * float32(int8(sc[j])))
			if d == 0 {
				continue
			}
			for i := 16 * j; i < 16*j+16; i++ {
				l := nearestInt(x[i] / d)
				L[i] = int8(max(-32, min(31, l)) + 32)
			}
		}
		for h := 0; h < 2; h++ {
			ql, qh := blk[64*h:64*h+64], blk[128+32*h:128+32*h+32]
			Lh := L[128*h : 128*h+128]
			for l := 0; l < 32; l++ {
				q1, q2, q3, q4 := uint8(Lh[l]), uint8(Lh[l+32]), uint8(Lh[l+64]), uint8(Lh[l+96])
				ql[l] = q1&0xF | (q3&0xF)<<4
				ql[l+32] = q2&0xF | (q4&0xF)<<4
				qh[l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
			}
		}
	}
}
