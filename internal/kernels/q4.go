package kernels

import (
	"encoding/binary"
	"math"
)

// Q4_0 and Q4_1, ggml's legacy 4-bit blocks of 32 values (ggml-common.h block_q4_0, block_q4_1):
//
//	Q4_0, 18 bytes: fp16 d, then 16 bytes qs; value j is d·((qs[j]&15) − 8), value j+16 is d·((qs[j]>>4) − 8).
//	Q4_1, 20 bytes: fp16 d, fp16 m, then 16 bytes qs; value j is d·(qs[j]&15) + m, value j+16 d·(qs[j]>>4) + m.
//
// Q4_0 dots with activations packed as Q8_0, Q4_1 with Q8_1 (ggml's vec_dot_type).
const (
	q4_0BlockSize = 18
	q4_1BlockSize = 20
)

// dequantQ4_0 expands len(dst)/32 Q4_0 blocks of src into dst, bit for bit as ggml's dequantize_row_q4_0.
func dequantQ4_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		blk := src[b*q4_0BlockSize : (b+1)*q4_0BlockSize]
		d := F16ToF32(binary.LittleEndian.Uint16(blk))
		y := dst[b*32 : (b+1)*32]
		for j, q := range blk[2:] {
			y[j] = float32(int32(q&15)-8) * d
			y[j+16] = float32(int32(q>>4)-8) * d
		}
	}
}

// dequantQ4_1 expands len(dst)/32 Q4_1 blocks of src into dst, bit for bit as ggml's dequantize_row_q4_1
// (a product rounded to float32, then the add: no fused multiply-add).
func dequantQ4_1(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		blk := src[b*q4_1BlockSize : (b+1)*q4_1BlockSize]
		d := F16ToF32(binary.LittleEndian.Uint16(blk))
		m := F16ToF32(binary.LittleEndian.Uint16(blk[2:]))
		y := dst[b*32 : (b+1)*32]
		for j, q := range blk[4:] {
			y[j] = float32(float32(q&15)*d) + m
			y[j+16] = float32(float32(q>>4)*d) + m
		}
	}
}

// quantizeQ4_0 quantizes src (a multiple of 32 values) into Q4_0 blocks in dst, bit for bit as ggml's
// quantize_row_q4_0_ref (what llama-quantize writes without an imatrix): per block max is the value of
// largest magnitude (the first one on ties), d = max/−8, id = 1/d (0 when d is 0), and quant j is
// min(15, int8(trunc(x·id + 8.5))), the float-to-int conversion behaving as x86's CVTTSS2SI.
func quantizeQ4_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		blk := dst[b*q4_0BlockSize : (b+1)*q4_0BlockSize]
		_, max := absMaxFirst(x)
		d := max / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(blk, F32ToF16(d))
		for j := range 16 {
			x0 := min(15, int8(x86Trunc32(float32(x[j]*id)+8.5)))
			x1 := min(15, int8(x86Trunc32(float32(x[j+16]*id)+8.5)))
			blk[2+j] = uint8(x0) | uint8(x1)<<4
		}
	}
}

// quantizeQ4_1 quantizes src (a multiple of 32 values) into Q4_1 blocks in dst, bit for bit as ggml's
// quantize_row_q4_1_ref: per block min and max, d = (max − min)/15, id = 1/d (0 when d is 0), m = min, and
// quant j is min(15, int8(trunc((x − min)·id + 0.5))) with x86 float-to-int conversion.
func quantizeQ4_1(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		blk := dst[b*q4_1BlockSize : (b+1)*q4_1BlockSize]
		lo, hi := minMax(x)
		d := (hi - lo) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(blk, F32ToF16(d))
		binary.LittleEndian.PutUint16(blk[2:], F32ToF16(lo))
		for j := range 16 {
			x0 := min(15, int8(x86Trunc32(float32((x[j]-lo)*id)+0.5)))
			x1 := min(15, int8(x86Trunc32(float32((x[j+16]-lo)*id)+0.5)))
			blk[4+j] = uint8(x0) | uint8(x1)<<4
		}
	}
}

// dotQ4_0VecRef is dotQ4_0Ref in the float order of ggml-cpu's x86 ggml_vec_dot_q4_0_q8_0 (the AVX2 code
// its AVX-512 builds run too), which llama.cpp uses for the Q4_0 weights it does not repack (Matrix.VecDot):
// block after block, lane k of a laneAcc takes fma(dw·dx, Σ (q_j − 8)·x_j, lane) over j = 4k..4k+3, and
// the lanes are added as hsum_float_8.
func dotQ4_0VecRef(w, x []byte, n int) float32 {
	var acc laneAcc
	var q [32]int32
	for b := 0; b < n/32; b++ {
		wb := w[b*q4_0BlockSize : (b+1)*q4_0BlockSize]
		xb := x[b*q8BlockSize : (b+1)*q8BlockSize]
		for j, v := range wb[2:18] {
			q[j], q[j+16] = int32(v&15)-8, int32(v>>4)-8
		}
		acc.add(F16ToF32(binary.LittleEndian.Uint16(wb))*F16ToF32(binary.LittleEndian.Uint16(xb)), &q, xb[2:])
	}
	return acc.sum()
}

// dotQ4_0Ref is the reference dot product of a row of n values (n/32 Q4_0 blocks w) with an activation row
// x packed as Q8_0 blocks (fp16 dx, 32 int8). Per block it forms sumi = Σ (q_j − 8)·x_j exactly, then
// adds float32(sumi)·(dw·dx) to one float32 accumulator in block order: acc += float32(sumi)·float32(dw·dx),
// each product rounded to float32. ggml's ggml_vec_dot_q4_0_q8_0 agrees to float32 rounding (its AVX2 path
// keeps 8 lanes and uses fused multiply-adds).
func dotQ4_0Ref(w, x []byte, n int) float32 {
	var acc float32
	for b := 0; b < n/32; b++ {
		wb := w[b*q4_0BlockSize : (b+1)*q4_0BlockSize]
		xb := x[b*q8BlockSize : (b+1)*q8BlockSize]
		var sumi int32
		for j, q := range wb[2:] {
			sumi += (int32(q&15)-8)*int32(int8(xb[2+j])) + (int32(q>>4)-8)*int32(int8(xb[18+j]))
		}
		d := F16ToF32(binary.LittleEndian.Uint16(wb)) * F16ToF32(binary.LittleEndian.Uint16(xb))
		acc += float32(float32(sumi) * d)
	}
	return acc
}

// dotQ4_1Ref is the reference dot product of a row of n values (n/32 Q4_1 blocks w) with an activation row
// x packed as Q8_1 blocks (fp16 dx, fp16 sx = dx·Σx_j as ggml's quantizer rounds it, 32 int8), in the
// float order of ggml-cpu's x86 ggml_vec_dot_q4_1_q8_1: see legacyLanesQ8_1.
func dotQ4_1Ref(w, x []byte, n int) float32 {
	var acc laneAcc
	var summs float32
	var q [32]int32
	for b := 0; b < n/32; b++ {
		wb := w[b*q4_1BlockSize : (b+1)*q4_1BlockSize]
		for j, v := range wb[4:] {
			q[j], q[j+16] = int32(v&15), int32(v>>4)
		}
		summs = legacyLanesQ8_1(&acc, summs, &q, wb, x[b*q8_1BlockSize:(b+1)*q8_1BlockSize])
	}
	return acc.sum() + summs
}

// legacyLanesQ8_1 adds one block of a dot with Q8_1 activations xb, for weights with a scale d and an offset
// m (the first 4 bytes of wb) and levels q, as ggml-cpu's x86 Q4_1 and Q5_1 dots do: the lanes of acc take
// fma(dw·dx, lane sum, acc) and the returned offset sum is fma(mw, sx, summs) (gcc contracts ggml's
// summs += m·s). The dot is then acc.sum() + summs.
func legacyLanesQ8_1(acc *laneAcc, summs float32, q *[32]int32, wb, xb []byte) float32 {
	dw := F16ToF32(binary.LittleEndian.Uint16(wb))
	mw := F16ToF32(binary.LittleEndian.Uint16(wb[2:]))
	dx := F16ToF32(binary.LittleEndian.Uint16(xb))
	sx := F16ToF32(binary.LittleEndian.Uint16(xb[2:]))
	acc.add(dw*dx, q, xb[4:])
	return fma32(mw, sx, summs)
}

// absMaxFirst returns the largest |v| of x and the first value v that has it (0, 0 for an all-zero or
// empty x), as ggml's reference quantizers scan a block: a new maximum only when strictly larger.
func absMaxFirst(x []float32) (amax, max float32) {
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); amax < a {
			amax, max = a, v
		}
	}
	return amax, max
}

// minMax returns the minimum and maximum of x as ggml's Q4_1/Q5_1 reference quantizers find them, starting
// from +FLT_MAX and −FLT_MAX (NaNs are skipped: comparisons with them are false).
func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

// x86Trunc32 converts f to int32 as x86's CVTTSS2SI does: toward zero, and MinInt32 for NaN and values out
// of int32 range (where C's conversion is undefined and gcc's code returns that).
func x86Trunc32(f float32) int32 {
	if f >= -(1<<31) && f < 1<<31 {
		return int32(f)
	}
	return math.MinInt32
}
