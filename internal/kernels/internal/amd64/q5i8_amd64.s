#include "textflag.h"

// Q5_0 dot products over interleaved groups of 8 rows (kernels.interleaveQ5_0): per block of 32 columns,
// 16 bytes of fp16 scales, 32 bytes of fifth bits, 128 bytes of nibbles. The block is first expanded into
// the 8 chunks of interleaved Q8_0 (chunk k: quants 4k..4k+3 of rows 0..7, row r at 4r), each byte the
// unsigned quant q = 0..31: chunk k < 4 is the low nibbles of nibble bytes 32k.., chunk k+4 their high
// nibbles, and 16 is added (VPADDB under a byte mask) where the chunk's 32 fifth bits are set. VPDPBUSD of
// chunk k with the activation dword 4k..4k+3 broadcast, started from the activation's stored lane term
// −16·(x_4k + … + x_4k+3), leaves in lane r the exact sum of (q − 16)·x over quants 4k..4k+3 of row r: lane
// k of ggml-cpu's x86 ggml_vec_dot_q5_0_q8_0 for that row. The float part is that function's (the scalar
// reference's): per block acc_k = fma(dw·dx, float32(lane sum), acc_k) in one float32x8 accumulator per k
// (row r in lane r), and at the end hsum_float_8 across them: (acc_0+acc_4 + acc_2+acc_6) +
// (acc_1+acc_5 + acc_3+acc_7).
//
// Activation rows (kernels.actQ8Sums) are nb Q8_0 blocks of 34 bytes (fp16 d, 32 quants), then per block
// eight int32 lane terms. Registers: SI weights, DI/R9 activation blocks, BX/R10 activation lane terms,
// R8 = xStride (one vector to the next), CX blocks left, Y14 = 0x0f bytes, Y15 = 0x10 bytes, Y16..Y23 the
// expanded chunks, Y8 the weight scales, Y9 scratch.

// EXPANDQ50 loads the block at SI: its weight scales into Y8 and its 8 expanded chunks into Y16..Y23.
#define EXPANDQ50 \
	VCVTPH2PS (SI), Y8; \
	VMOVDQU   48(SI), Y9; \
	VPANDD    Y14, Y9, Y16; \
	VPSRLW    $4, Y9, Y9; \
	VPANDD    Y14, Y9, Y20; \
	VMOVDQU   80(SI), Y9; \
	VPANDD    Y14, Y9, Y17; \
	VPSRLW    $4, Y9, Y9; \
	VPANDD    Y14, Y9, Y21; \
	VMOVDQU   112(SI), Y9; \
	VPANDD    Y14, Y9, Y18; \
	VPSRLW    $4, Y9, Y9; \
	VPANDD    Y14, Y9, Y22; \
	VMOVDQU   144(SI), Y9; \
	VPANDD    Y14, Y9, Y19; \
	VPSRLW    $4, Y9, Y9; \
	VPANDD    Y14, Y9, Y23; \
	KMOVD     16(SI), K1; \
	VPADDB    Y15, Y16, K1, Y16; \
	KMOVD     20(SI), K2; \
	VPADDB    Y15, Y17, K2, Y17; \
	KMOVD     24(SI), K3; \
	VPADDB    Y15, Y18, K3, Y18; \
	KMOVD     28(SI), K4; \
	VPADDB    Y15, Y19, K4, Y19; \
	KMOVD     32(SI), K1; \
	VPADDB    Y15, Y20, K1, Y20; \
	KMOVD     36(SI), K2; \
	VPADDB    Y15, Y21, K2, Y21; \
	KMOVD     40(SI), K3; \
	VPADDB    Y15, Y22, K3, Y22; \
	KMOVD     44(SI), K4; \
	VPADDB    Y15, Y23, K4, Y23

// CHUNKX4 adds chunk YC of the block times the activation quants at byte q of each of the 4 vectors'
// blocks, started from their lane terms at byte t, into ZA (vectors 0, 1, scales Z10) and ZB (vectors
// 2, 3, scales Z11).
#define CHUNKX4(t, q, YC, ZA, ZB) \
	VPBROADCASTD  t(BX), Y12; \
	VPDPBUSD.BCST q(DI), YC, Y12; \
	VPBROADCASTD  t(BX)(R8*1), Y13; \
	VPDPBUSD.BCST q(DI)(R8*1), YC, Y13; \
	VINSERTI64X4  $1, Y13, Z12, Z12; \
	VCVTDQ2PS     Z12, Z12; \
	VFMADD231PS   Z12, Z10, ZA; \
	VPBROADCASTD  t(BX)(R8*2), Y12; \
	VPDPBUSD.BCST q(DI)(R8*2), YC, Y12; \
	VPBROADCASTD  t(R10), Y13; \
	VPDPBUSD.BCST q(R9), YC, Y13; \
	VINSERTI64X4  $1, Y13, Z12, Z12; \
	VCVTDQ2PS     Z12, Z12; \
	VFMADD231PS   Z12, Z11, ZB

// CHUNKX1 adds chunk YC times the activation quants at byte q, started from the lane term at byte t, into
// YA, by way of the scratch YS; Y12 holds the block's scales.
#define CHUNKX1(t, q, YC, YS, YA) \
	VPBROADCASTD  t(BX), YS; \
	VPDPBUSD.BCST q(DI), YC, YS; \
	VCVTDQ2PS     YS, YS; \
	VFMADD231PS   YS, Y12, YA

// func dotQ50I8x4VNNI(out []float32, stride int, w, x []byte, xStride, nb int)
// Four vectors in two pairs: the lane sums of a pair's two vectors are joined into one 512-bit register
// (first vector low, second high) and scaled into its accumulator Z24+k (vectors 0, 1) or Z0+k (vectors
// 2, 3) by one 512-bit VFMADD231PS with the pair's scales Z10 or Z11; Z12, Z13 are scratch.
TEXT ·dotQ50I8x4VNNI(SB), NOSPLIT, $0-96
	MOVQ out_base+0(FP), AX
	MOVQ w_base+32(FP), SI
	MOVQ x_base+56(FP), DI
	MOVQ xStride+80(FP), R8
	MOVQ nb+88(FP), CX
	LEAQ (DI)(R8*2), R9
	ADDQ R8, R9
	IMUL3Q $34, CX, BX
	ADDQ DI, BX
	LEAQ (BX)(R8*2), R10
	ADDQ R8, R10
	MOVL      $0x0f0f0f0f, R11
	MOVD      R11, X14
	VPBROADCASTD X14, Y14
	MOVL      $0x10101010, R11
	MOVD      R11, X15
	VPBROADCASTD X15, Y15
	VPXORD Z24, Z24, Z24
	VPXORD Z0, Z0, Z0
	VPXORD Z25, Z25, Z25
	VPXORD Z1, Z1, Z1
	VPXORD Z26, Z26, Z26
	VPXORD Z2, Z2, Z2
	VPXORD Z27, Z27, Z27
	VPXORD Z3, Z3, Z3
	VPXORD Z28, Z28, Z28
	VPXORD Z4, Z4, Z4
	VPXORD Z29, Z29, Z29
	VPXORD Z5, Z5, Z5
	VPXORD Z30, Z30, Z30
	VPXORD Z6, Z6, Z6
	VPXORD Z31, Z31, Z31
	VPXORD Z7, Z7, Z7

q50x4block:
	EXPANDQ50
	VPBROADCASTW  (DI), X12
	VCVTPH2PS     X12, Y12
	VMULPS        Y12, Y8, Y12
	VPBROADCASTW  (DI)(R8*1), X13
	VCVTPH2PS     X13, Y13
	VMULPS        Y13, Y8, Y13
	VINSERTF64X4  $1, Y13, Z12, Z10
	VPBROADCASTW  (DI)(R8*2), X12
	VCVTPH2PS     X12, Y12
	VMULPS        Y12, Y8, Y12
	VPBROADCASTW  (R9), X13
	VCVTPH2PS     X13, Y13
	VMULPS        Y13, Y8, Y13
	VINSERTF64X4  $1, Y13, Z12, Z11
	CHUNKX4(0, 2, Y16, Z24, Z0)
	CHUNKX4(4, 6, Y17, Z25, Z1)
	CHUNKX4(8, 10, Y18, Z26, Z2)
	CHUNKX4(12, 14, Y19, Z27, Z3)
	CHUNKX4(16, 18, Y20, Z28, Z4)
	CHUNKX4(20, 22, Y21, Z29, Z5)
	CHUNKX4(24, 26, Y22, Z30, Z6)
	CHUNKX4(28, 30, Y23, Z31, Z7)
	ADDQ $176, SI
	ADDQ $34, DI
	ADDQ $34, R9
	ADDQ $32, BX
	ADDQ $32, R10
	DECQ CX
	JNZ  q50x4block

	VADDPS Z28, Z24, Z24
	VADDPS Z29, Z25, Z25
	VADDPS Z30, Z26, Z26
	VADDPS Z31, Z27, Z27
	VADDPS Z26, Z24, Z24
	VADDPS Z27, Z25, Z25
	VADDPS Z25, Z24, Z24
	VADDPS Z4, Z0, Z0
	VADDPS Z5, Z1, Z1
	VADDPS Z6, Z2, Z2
	VADDPS Z7, Z3, Z3
	VADDPS Z2, Z0, Z0
	VADDPS Z3, Z1, Z1
	VADDPS Z1, Z0, Z0
	MOVQ    stride+24(FP), BX
	SHLQ    $2, BX
	VMOVUPS Y24, (AX)
	VEXTRACTF64X4 $1, Z24, Y24
	VMOVUPS Y24, (AX)(BX*1)
	VMOVUPS Y0, (AX)(BX*2)
	LEAQ    (AX)(BX*2), AX
	VEXTRACTF64X4 $1, Z0, Y0
	VMOVUPS Y0, (AX)(BX*1)
	VZEROUPPER
	RET

// func dotQ50I8VNNI(out []float32, w, x []byte, nb int)
// One vector: the accumulators are Y24..Y31; the weights are prefetched 4 KB ahead (decode reads them
// once, as one sequential stream).
TEXT ·dotQ50I8VNNI(SB), NOSPLIT, $0-80
	MOVQ out_base+0(FP), AX
	MOVQ w_base+24(FP), SI
	MOVQ x_base+48(FP), DI
	MOVQ nb+72(FP), CX
	IMUL3Q $34, CX, BX
	ADDQ DI, BX
	MOVL      $0x0f0f0f0f, R11
	MOVD      R11, X14
	VPBROADCASTD X14, Y14
	MOVL      $0x10101010, R11
	MOVD      R11, X15
	VPBROADCASTD X15, Y15
	VPXORD Y24, Y24, Y24
	VPXORD Y25, Y25, Y25
	VPXORD Y26, Y26, Y26
	VPXORD Y27, Y27, Y27
	VPXORD Y28, Y28, Y28
	VPXORD Y29, Y29, Y29
	VPXORD Y30, Y30, Y30
	VPXORD Y31, Y31, Y31

q50x1block:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	EXPANDQ50
	VPBROADCASTW (DI), X12
	VCVTPH2PS    X12, Y12
	VMULPS       Y12, Y8, Y12
	CHUNKX1(0, 2, Y16, Y0, Y24)
	CHUNKX1(4, 6, Y17, Y1, Y25)
	CHUNKX1(8, 10, Y18, Y2, Y26)
	CHUNKX1(12, 14, Y19, Y3, Y27)
	CHUNKX1(16, 18, Y20, Y0, Y28)
	CHUNKX1(20, 22, Y21, Y1, Y29)
	CHUNKX1(24, 26, Y22, Y2, Y30)
	CHUNKX1(28, 30, Y23, Y3, Y31)
	ADDQ $176, SI
	ADDQ $34, DI
	ADDQ $32, BX
	DECQ CX
	JNZ  q50x1block
	VADDPS  Y28, Y24, Y24
	VADDPS  Y29, Y25, Y25
	VADDPS  Y30, Y26, Y26
	VADDPS  Y31, Y27, Y27
	VADDPS  Y26, Y24, Y24
	VADDPS  Y27, Y25, Y25
	VADDPS  Y25, Y24, Y24
	VMOVUPS Y24, (AX)
	VZEROUPPER
	RET
