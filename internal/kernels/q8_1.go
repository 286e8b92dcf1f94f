package kernels

import (
	"encoding/binary"
	"math"
)

// Packed activation blocks, ggml's layouts for a vec_dot_type (ggml-common.h):
//
//	block_q8_0, 34 bytes: fp16 d, 32 int8 qs.
//	block_q8_1, 36 bytes: fp16 d, fp16 s = d·Σqs (as the quantizer rounds it), 32 int8 qs.
//
// The legacy weight types dot with these: Q4_0, Q5_0 and IQ4_NL with Q8_0; Q4_1 and Q5_1 with Q8_1.
const q8_1BlockSize = 36

// quantizeActQ8_0 quantizes one activation row src (a multiple of 32 values) into packed Q8_0 blocks in
// dst, exactly as ggml-cpu's x86 quantize_row_q8_0 (AVX2 path): see quantizeActBlockX86. For blocks whose
// 127/amax is finite this is quantizeActQ8_0Ref's arithmetic with the scale kept as fp16 bits; when amax
// is below 127/FLT_MAX (about 3.7e-37) ggml's id overflows to +Inf and every quant becomes −128 (the x86
// conversion of ±Inf and NaN, saturated), which this and quantizeActQ8_0Ref reproduce.
func quantizeActQ8_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		blk := dst[b*q8BlockSize : (b+1)*q8BlockSize]
		d, _ := quantizeActBlockX86(blk[2:34], src[b*32:(b+1)*32])
		binary.LittleEndian.PutUint16(blk, F32ToF16(d))
	}
}

// quantizeActQ8_1 quantizes one activation row src (a multiple of 32 values) into packed Q8_1 blocks in
// dst, exactly as ggml-cpu's x86 quantize_row_q8_1 (AVX2 path): d and the quants as quantizeActQ8_0, and
// s = fp16(d·float32(Σ quants)), with the float32 d (before its rounding to fp16) and the int32 sum of the
// quants as VCVTPS2DQ gave them, before their saturation to int8 (a wrapping sum, as VPADDD).
func quantizeActQ8_1(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		blk := dst[b*q8_1BlockSize : (b+1)*q8_1BlockSize]
		d, sum := quantizeActBlockX86(blk[4:36], src[b*32:(b+1)*32])
		binary.LittleEndian.PutUint16(blk, F32ToF16(d))
		binary.LittleEndian.PutUint16(blk[2:], F32ToF16(d*float32(sum)))
	}
}

// quantizeActBlockX86 quantizes the 32 values x into the int8 quants q as ggml-cpu's AVX2 activation
// quantizers do: amax = max |x| (sign bit cleared), d = amax/127, id = 127/amax (0 when amax is 0), and
// quant j = x86 conversion (VCVTPS2DQ: MinInt32 for NaN and out of range) of x_j·id rounded to nearest
// even, saturated to int8 by VPACKSSDW and VPACKSSWB. It returns d, unrounded, and the wrapping int32 sum
// of the unsaturated quants. NaN inputs give unspecified results (VMAXPS and > order NaNs differently).
func quantizeActBlockX86(q []byte, x []float32) (d float32, sum int32) {
	var amax float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax = a
		}
	}
	d = amax / 127
	var id float32
	if amax != 0 {
		id = 127 / amax
	}
	for j, v := range x {
		r := x86Trunc32(float32(math.RoundToEven(float64(v * id))))
		sum += r
		q[j] = byte(int8(max(-128, min(127, r))))
	}
	return d, sum
}
