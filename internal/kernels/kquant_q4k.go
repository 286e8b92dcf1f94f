package kernels

// Q4_K block layout (144 bytes per 256 elements): fp16 d, fp16 dmin, 12 bytes holding eight 6-bit scales
// and eight 6-bit mins (getScaleMinK4), then 128 bytes of 4-bit quants. Sub-block j (32 elements) of each
// 64 takes the low nibbles (j even) or high nibbles (j odd) of the same 32 bytes; element value is
// d·sc_j·q - dmin·m_j.
const q4KBlockSize = 144

// dequantQ4_K expands the Q4_K blocks in src into dst (a multiple of 256 values), bit-identical to ggml's
// dequantize_row_q4_K: per sub-block d1 = d·sc and m1 = dmin·m, then each value d1·q - m1 (two roundings).
func dequantQ4_K(dst []float32, src []byte) {
	checkKQuant("dequantQ4_K", len(dst), len(src), q4KBlockSize)
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*q4KBlockSize : (b+1)*q4KBlockSize]
		y := dst[b*qkK : (b+1)*qkK]
		d, dmin := fp16(blk[0:]), fp16(blk[2:])
		scales, q := blk[4:16], blk[16:144]
		for j := 0; j < 4; j++ {
			sc, m := getScaleMinK4(2*j, scales)
			d1, m1 := float32(d*float32(sc)), float32(dmin*float32(m))
			sc, m = getScaleMinK4(2*j+1, scales)
			d2, m2 := float32(d*float32(sc)), float32(dmin*float32(m))
			qs := q[32*j : 32*j+32]
			for l, v := range qs {
				y[64*j+l] = float32(d1*float32(v&0xF)) - m1
				y[64*j+32+l] = float32(d2*float32(v>>4)) - m2
			}
		}
	}
}

// quantizeQ4_K quantizes src (a multiple of 256 values) into Q4_K blocks in dst exactly as ggml's
// quantize_row_q4_K_ref, which llama-quantize uses without an importance matrix: per 32-element sub-block
// make_qkx2_quants (nmax 15, weights rms+|x|, 21 trial scales), the scales and mins quantized to 6 bits
// against their maxima, then every element requantized against the stored scale and min.
func quantizeQ4_K(dst []byte, src []float32) {
	checkKQuant("quantizeQ4_K", len(src), len(dst), q4KBlockSize)
	var L [qkK]uint8
	for b := 0; b < len(src)/qkK; b++ {
		blk := dst[b*q4KBlockSize : (b+1)*q4KBlockSize]
		quantizeScalesMinsK4(blk, src[b*qkK:(b+1)*qkK], L[:], 15, -1, 20)
		q := blk[16:144]
		for j := 0; j < 4; j++ {
			for l := 0; l < 32; l++ {
				q[32*j+l] = L[64*j+l] | L[64*j+32+l]<<4
			}
		}
	}
}

// quantizeScalesMinsK4 is the part quantize_row_q4_K_ref and quantize_row_q5_K_ref share for one
// 256-value super-block x: per 32-element sub-block make_qkx2_quants (levels 0..nmax, weights rms+|x|,
// nstep+1 trial scales from rmin in steps of 0.1), the scales and mins packed into blk, then every
// element requantized into L against the stored scale and min.
func quantizeScalesMinsK4(blk []byte, x []float32, L []uint8, nmax int, rmin float32, nstep int) {
	var (
		laux             [32]uint8
		weights          [32]float32
		mins, scales     [8]float32
		maxScale, maxMin float32
	)
	for j := 0; j < 8; j++ {
		xj := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xj {
			sumX2 += float32(v * v)
		}
		avX := sqrt32(sumX2 / 32)
		for l, v := range xj {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(nmax, xj, weights[:], L[32*j:32*j+32], laux[:], rmin, 0.1, nstep, false)
		maxScale = max32(maxScale, scales[j])
		maxMin = max32(maxMin, mins[j])
	}
	packScalesMinsK4(blk, scales[:], mins[:], maxScale, maxMin)
	requantizeK4(L, x, blk, nmax)
}

// max32 is b when b > a, else a: the `if (v > m) m = v` of ggml's loops.
func max32(a, b float32) float32 {
	if b > a {
		return b
	}
	return a
}

// packScalesMinsK4 stores d, dmin and the 6-bit scales and mins of a Q4_K or Q5_K block (shared code of
// quantize_row_q4_K_ref and quantize_row_q5_K_ref): each scale and min rounded against 63/max, truncated to
// a byte and clamped to 63, d = maxScale/63 and dmin = maxMin/63 in fp16.
func packScalesMinsK4(blk []byte, scales, mins []float32, maxScale, maxMin float32) {
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	s := blk[4:16]
	for j := 0; j < 8; j++ {
		ls := min(63, uint8(nearestInt(float32(invScale*scales[j]))))
		lm := min(63, uint8(nearestInt(float32(invMin*mins[j]))))
		if j < 4 {
			s[j] = ls
			s[j+4] = lm
		} else {
			s[j+4] = ls&0xF | (lm&0xF)<<4
			s[j-4] |= (ls >> 4) << 6
			s[j] |= (lm >> 4) << 6
		}
	}
	putFP16(blk[0:], maxScale/63)
	putFP16(blk[2:], maxMin/63)
}

// requantizeK4 sets the levels L (0..nmax) of a Q4_K or Q5_K block from x against its stored scales and
// mins: nearest_int((x + dmin·m)/(d·sc)) clamped, for each sub-block whose d·sc is not zero (the others keep
// the levels make_qkx2_quants chose).
func requantizeK4(L []uint8, x []float32, blk []byte, nmax int) {
	d0, dmin0 := fp16(blk[0:]), fp16(blk[2:])
	for j := 0; j < 8; j++ {
		sc, m := getScaleMinK4(j, blk[4:16])
		d := float32(d0 * float32(sc))
		if d == 0 {
			continue
		}
		dm := float32(dmin0 * float32(m))
		for i := 32 * j; i < 32*j+32; i++ {
			l := nearestInt((x[i] + dm) / d)
			L[i] = uint8(max(0, min(nmax, l)))
		}
	}
}
