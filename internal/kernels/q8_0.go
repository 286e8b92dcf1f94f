package kernels

import (
	"fmt"
	"math"
)

// Q8_0 block layout: a float16 scale d, then 32 int8 quants; value j is d·qs[j].
const (
	qk8         = 32 // elements per Q8_0 block
	q8BlockSize = 34 // bytes per Q8_0 block
)

// QuantizeRowQ8_0 quantizes src (a multiple of 32 values) into Q8_0 blocks in dst, exactly as ggml's
// quantize_row_q8_0_ref (the quantizer llama-quantize uses for weights): per block d = amax/127 stored as
// fp16, id = 1/d (0 when d is 0), qs[j] = roundf(src[j]·id) with halves rounded away from zero.
// It panics if len(src) is not a multiple of 32 or dst is shorter than len(src)/32·34 bytes.
func QuantizeRowQ8_0(dst []byte, src []float32) {
	if len(src)%qk8 != 0 || len(dst) < len(src)/qk8*q8BlockSize {
		panic(fmt.Sprintf("kernels: QuantizeRowQ8_0 of %d values into %d bytes", len(src), len(dst)))
	}
	for b := 0; b < len(src)/qk8; b++ {
		x := src[b*qk8 : (b+1)*qk8]
		blk := dst[b*q8BlockSize : (b+1)*q8BlockSize]
		var amax float32
		for _, v := range x {
			if a := abs32(v); a > amax {
				amax = a
			}
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		h := F32ToF16(d)
		blk[0], blk[1] = byte(h), byte(h>>8)
		for j, v := range x {
			blk[2+j] = byte(int8(math.Round(float64(v * id))))
		}
	}
}

// quantizeActQ8_0Ref quantizes one activation vector (a multiple of 32 values) the way llama.cpp's CPU
// backend does before a Q8_0 dot product on x86 (ggml-cpu/arch/x86/quants.c quantize_row_q8_0, AVX2 path),
// which is not quite the reference quantizer: id = 127/amax (not 1/d) and the rounding is to nearest even
// (quantizeActBlockX86). The quants go to qs and the block scales, already widened from their fp16 value,
// to d. For finite x with amax above 127/FLT_MAX every quant lies in [-127, 127] (|x·127/amax| < 127.5);
// below it ggml's id overflows to +Inf and the quants are −128, with d = 0. NaN and Inf inputs give
// unspecified quants.
func quantizeActQ8_0Ref(qs []int8, d []float32, x []float32) {
	var blk [qk8]byte
	for b := range d {
		db, _ := quantizeActBlockX86(blk[:], x[b*qk8:(b+1)*qk8])
		d[b] = F16ToF32(F32ToF16(db))
		for j, v := range blk {
			qs[b*qk8+j] = int8(v)
		}
	}
}

// abs32 is |v| by clearing the sign bit, like _mm256_andnot_ps(-0.0f, v).
func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
