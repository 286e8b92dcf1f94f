package kernels

import (
	"encoding/binary"
	"math"
)

// Q8_K block layout (292 bytes per 256 elements), the activation type every K-quant dot takes: float32 d,
// 256 int8 quants, then 16 int16 bsums, the sums of each 16 quants (the K-quant dots use them for the min
// terms). Value j is d·qs[j].
const q8KBlockSize = 292

// quantizeActQ8_K quantizes src (a multiple of 256 values) into Q8_K blocks in dst exactly as ggml's
// quantize_row_q8_K_ref (which ggml-cpu's x86 quantize_row_q8_K calls): per block, with max the element of
// largest magnitude, iscale = -127/max, qs[j] = min(127, nearest_int(iscale·x[j])), d = 1/iscale, and bsums
// the sixteen sums of 16 quants. An all-zero block stores d 0 and zero quants; ggml leaves its bsums as they
// were, this clears them (a dot product multiplies them by d = 0 either way).
func quantizeActQ8_K(dst []byte, src []float32) {
	checkKQuant("quantizeActQ8_K", len(src), len(dst), q8KBlockSize)
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		blk := dst[b*q8KBlockSize : (b+1)*q8KBlockSize]
		var mx, amax float32
		for _, v := range x {
			if ax := abs32(v); ax > amax {
				amax, mx = ax, v
			}
		}
		if amax == 0 {
			clear(blk)
			continue
		}
		iscale := -127 / mx
		qs := blk[4 : 4+qkK]
		for j, v := range x {
			qs[j] = byte(int8(min(127, nearestInt(float32(iscale*v)))))
		}
		for j := 0; j < 16; j++ {
			var sum int16
			for _, q := range qs[16*j : 16*j+16] {
				sum += int16(int8(q))
			}
			binary.LittleEndian.PutUint16(blk[4+qkK+2*j:], uint16(sum))
		}
		binary.LittleEndian.PutUint32(blk, math.Float32bits(1/iscale))
	}
}
