package kernels

import "encoding/binary"

// Q5_0 and Q5_1, ggml's legacy 5-bit blocks of 32 values (ggml-common.h block_q5_0, block_q5_1). The low
// 4 bits of quant j sit in qs[j]&15 (j < 16) or qs[j−16]>>4, the fifth bit in bit j of the little-endian
// uint32 qh:
//
//	Q5_0, 22 bytes: fp16 d, 4 bytes qh, 16 bytes qs; value j is d·(q_j − 16).
//	Q5_1, 24 bytes: fp16 d, fp16 m, 4 bytes qh, 16 bytes qs; value j is d·q_j + m.
//
// Q5_0 dots with activations packed as Q8_0, Q5_1 with Q8_1 (ggml's vec_dot_type).
const (
	q5_0BlockSize = 22
	q5_1BlockSize = 24
)

// q5Quants unpacks the 32 five-bit quants (0..31) of a block from its 4 bytes qh and 16 bytes qs.
func q5Quants(q *[32]int32, qhb, qs []byte) {
	qh := binary.LittleEndian.Uint32(qhb)
	for j, v := range qs[:16] {
		q[j] = int32(v&15) | int32(qh>>j&1)<<4
		q[j+16] = int32(v>>4) | int32(qh>>(j+16)&1)<<4
	}
}

// q5Pack packs 32 quants (only their low 5 bits count) into qh (4 bytes) and qs (16 bytes) as ggml does.
func q5Pack(qhb, qs []byte, q *[32]uint8) {
	var qh uint32
	for j := range 16 {
		qs[j] = q[j]&15 | q[j+16]&15<<4
		qh |= uint32(q[j]&0x10>>4) << j
		qh |= uint32(q[j+16]&0x10>>4) << (j + 16)
	}
	binary.LittleEndian.PutUint32(qhb, qh)
}

// dequantQ5_0 expands len(dst)/32 Q5_0 blocks of src into dst, bit for bit as ggml's dequantize_row_q5_0.
func dequantQ5_0(dst []float32, src []byte) {
	var q [32]int32
	for b := 0; b < len(dst)/32; b++ {
		blk := src[b*q5_0BlockSize : (b+1)*q5_0BlockSize]
		d := F16ToF32(binary.LittleEndian.Uint16(blk))
		q5Quants(&q, blk[2:6], blk[6:])
		y := dst[b*32 : (b+1)*32]
		for j, v := range q {
			y[j] = float32(v-16) * d
		}
	}
}

// dequantQ5_1 expands len(dst)/32 Q5_1 blocks of src into dst, bit for bit as ggml's dequantize_row_q5_1
// (a product rounded to float32, then the add: no fused multiply-add).
func dequantQ5_1(dst []float32, src []byte) {
	var q [32]int32
	for b := 0; b < len(dst)/32; b++ {
		blk := src[b*q5_1BlockSize : (b+1)*q5_1BlockSize]
		d := F16ToF32(binary.LittleEndian.Uint16(blk))
		m := F16ToF32(binary.LittleEndian.Uint16(blk[2:]))
		q5Quants(&q, blk[4:8], blk[8:])
		y := dst[b*32 : (b+1)*32]
		for j, v := range q {
			y[j] = float32(float32(v)*d) + m
		}
	}
}

// quantizeQ5_0 quantizes src (a multiple of 32 values) into Q5_0 blocks in dst, bit for bit as ggml's
// quantize_row_q5_0_ref (what llama-quantize writes without an imatrix): per block max is the value of
// largest magnitude (the first one on ties), d = max/−16, id = 1/d (0 when d is 0), and quant j is
// min(31, int8(trunc(x·id + 16.5))), the float-to-int conversion behaving as x86's CVTTSS2SI.
func quantizeQ5_0(dst []byte, src []float32) {
	var q [32]uint8
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		blk := dst[b*q5_0BlockSize : (b+1)*q5_0BlockSize]
		_, max := absMaxFirst(x)
		d := max / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(blk, F32ToF16(d))
		for j, v := range x {
			q[j] = uint8(min(31, int8(x86Trunc32(float32(v*id)+16.5))))
		}
		q5Pack(blk[2:6], blk[6:], &q)
	}
}

// quantizeQ5_1 quantizes src (a multiple of 32 values) into Q5_1 blocks in dst, bit for bit as ggml's
// quantize_row_q5_1_ref: per block min and max, d = (max − min)/31, id = 1/d (0 when d is 0), m = min, and
// quant j is uint8(trunc((x − min)·id + 0.5)) with x86 float-to-int conversion (no clamp, as in ggml).
func quantizeQ5_1(dst []byte, src []float32) {
	var q [32]uint8
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		blk := dst[b*q5_1BlockSize : (b+1)*q5_1BlockSize]
		lo, hi := minMax(x)
		d := (hi - lo) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(blk, F32ToF16(d))
		binary.LittleEndian.PutUint16(blk[2:], F32ToF16(lo))
		for j, v := range x {
			q[j] = uint8(x86Trunc32(float32((v-lo)*id) + 0.5))
		}
		q5Pack(blk[4:8], blk[8:], &q)
	}
}

// dotQ5_0Ref is the reference dot product of a row of n values (n/32 Q5_0 blocks w) with an activation row
// x packed as Q8_0 blocks, in the float order of ggml-cpu's x86 ggml_vec_dot_q5_0_q8_0 (the AVX2 code its
// AVX-512 builds run too): block after block, lane k of a laneAcc takes fma(dw·dx, Σ (q_j − 16)·x_j,
// lane) over j = 4k..4k+3, and the lanes are added as hsum_float_8.
func dotQ5_0Ref(w, x []byte, n int) float32 {
	var acc laneAcc
	var q [32]int32
	for b := 0; b < n/32; b++ {
		wb := w[b*q5_0BlockSize : (b+1)*q5_0BlockSize]
		xb := x[b*q8BlockSize : (b+1)*q8BlockSize]
		q5Quants(&q, wb[2:6], wb[6:])
		for j := range q {
			q[j] -= 16
		}
		acc.add(F16ToF32(binary.LittleEndian.Uint16(wb))*F16ToF32(binary.LittleEndian.Uint16(xb)), &q, xb[2:])
	}
	return acc.sum()
}

// dotQ5_1Ref is the reference dot product of a row of n values (n/32 Q5_1 blocks w) with an activation row
// x packed as Q8_1 blocks, in the float order of ggml-cpu's x86 ggml_vec_dot_q5_1_q8_1 (legacyLanesQ8_1, as
// dotQ4_1Ref).
func dotQ5_1Ref(w, x []byte, n int) float32 {
	var acc laneAcc
	var summs float32
	var q [32]int32
	for b := 0; b < n/32; b++ {
		wb := w[b*q5_1BlockSize : (b+1)*q5_1BlockSize]
		q5Quants(&q, wb[4:8], wb[8:])
		summs = legacyLanesQ8_1(&acc, summs, &q, wb, x[b*q8_1BlockSize:(b+1)*q8_1BlockSize])
	}
	return acc.sum() + summs
}
