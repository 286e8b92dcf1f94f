#include "textflag.h"

// Q5_0 dot products over interleaved groups of 8 rows (kernels.interleaveQ5_0): per block of 32 columns,
// 16 bytes of fp16 scales, 32 bytes of fifth bits, 128 bytes of nibbles. The block is first expanded into
// the 8 chunks of interleaved Q8_0 (chunk k: quants 4k..4k+3 of rows 0..7, row r at 4r), each byte the
// unsigned quant q = 0..31: chunk k < 4 is the low nibbles of nibble bytes 32k.., chunk k+4 their high
// nibbles, and 16 is added (VPADDB under a byte mask) where the chunk's 32 fifth bits are set. VPDPBUSD of
// chunk k with the activation dword 4k..4k+3 broadcast then leaves in lane r sum_j q[r][j]·x[j], and
// subtracting the row's stored 16·sum_j x[j] gives the exact sumi of (q − 16)·x. The float part is the
// scalar reference's: d = dw·dx, p = float32(sumi)·d, acc += p block after block.
//
// Activation rows (kernels.actQ8Sums) are nb Q8_0 blocks of 34 bytes (fp16 d, 32 quants), then nb int32
// sums. Registers: SI weights, DI/R9 activation blocks, BX/R10 activation sums, R8 = xStride (one vector
// to the next), CX blocks left, Y14 = 0x0f bytes, Y15 = 0x10 bytes, Y16..Y23 the expanded chunks, Y8 the
// weight scales, Y0..Y3 int32 sums, Y4..Y7 float accumulators.

// func dotQ50I8x4VNNI(out []float32, stride int, w, x []byte, xStride, nb int)
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
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

q50x4block:
	VCVTPH2PS (SI), Y8
	VMOVDQU   48(SI), Y9
	VPANDD    Y14, Y9, Y16
	VPSRLW    $4, Y9, Y9
	VPANDD    Y14, Y9, Y20
	VMOVDQU   80(SI), Y9
	VPANDD    Y14, Y9, Y17
	VPSRLW    $4, Y9, Y9
	VPANDD    Y14, Y9, Y21
	VMOVDQU   112(SI), Y9
	VPANDD    Y14, Y9, Y18
	VPSRLW    $4, Y9, Y9
	VPANDD    Y14, Y9, Y22
	VMOVDQU   144(SI), Y9
	VPANDD    Y14, Y9, Y19
	VPSRLW    $4, Y9, Y9
	VPANDD    Y14, Y9, Y23
	KMOVD     16(SI), K1
	VPADDB    Y15, Y16, K1, Y16
	KMOVD     20(SI), K2
	VPADDB    Y15, Y17, K2, Y17
	KMOVD     24(SI), K3
	VPADDB    Y15, Y18, K3, Y18
	KMOVD     28(SI), K4
	VPADDB    Y15, Y19, K4, Y19
	KMOVD     32(SI), K1
	VPADDB    Y15, Y20, K1, Y20
	KMOVD     36(SI), K2
	VPADDB    Y15, Y21, K2, Y21
	KMOVD     40(SI), K3
	VPADDB    Y15, Y22, K3, Y22
	KMOVD     44(SI), K4
	VPADDB    Y15, Y23, K4, Y23
	VPXORD    Y0, Y0, Y0
	VPXORD    Y1, Y1, Y1
	VPXORD    Y2, Y2, Y2
	VPXORD    Y3, Y3, Y3
	VPDPBUSD.BCST 2(DI), Y16, Y0
	VPDPBUSD.BCST 2(DI)(R8*1), Y16, Y1
	VPDPBUSD.BCST 2(DI)(R8*2), Y16, Y2
	VPDPBUSD.BCST 2(R9), Y16, Y3
	VPDPBUSD.BCST 6(DI), Y17, Y0
	VPDPBUSD.BCST 6(DI)(R8*1), Y17, Y1
	VPDPBUSD.BCST 6(DI)(R8*2), Y17, Y2
	VPDPBUSD.BCST 6(R9), Y17, Y3
	VPDPBUSD.BCST 10(DI), Y18, Y0
	VPDPBUSD.BCST 10(DI)(R8*1), Y18, Y1
	VPDPBUSD.BCST 10(DI)(R8*2), Y18, Y2
	VPDPBUSD.BCST 10(R9), Y18, Y3
	VPDPBUSD.BCST 14(DI), Y19, Y0
	VPDPBUSD.BCST 14(DI)(R8*1), Y19, Y1
	VPDPBUSD.BCST 14(DI)(R8*2), Y19, Y2
	VPDPBUSD.BCST 14(R9), Y19, Y3
	VPDPBUSD.BCST 18(DI), Y20, Y0
	VPDPBUSD.BCST 18(DI)(R8*1), Y20, Y1
	VPDPBUSD.BCST 18(DI)(R8*2), Y20, Y2
	VPDPBUSD.BCST 18(R9), Y20, Y3
	VPDPBUSD.BCST 22(DI), Y21, Y0
	VPDPBUSD.BCST 22(DI)(R8*1), Y21, Y1
	VPDPBUSD.BCST 22(DI)(R8*2), Y21, Y2
	VPDPBUSD.BCST 22(R9), Y21, Y3
	VPDPBUSD.BCST 26(DI), Y22, Y0
	VPDPBUSD.BCST 26(DI)(R8*1), Y22, Y1
	VPDPBUSD.BCST 26(DI)(R8*2), Y22, Y2
	VPDPBUSD.BCST 26(R9), Y22, Y3
	VPDPBUSD.BCST 30(DI), Y23, Y0
	VPDPBUSD.BCST 30(DI)(R8*1), Y23, Y1
	VPDPBUSD.BCST 30(DI)(R8*2), Y23, Y2
	VPDPBUSD.BCST 30(R9), Y23, Y3
	VPSUBD.BCST (BX), Y0, Y0
	VCVTDQ2PS   Y0, Y0
	VPBROADCASTW (DI), X12
	VCVTPH2PS   X12, Y12
	VMULPS      Y12, Y8, Y12
	VMULPS      Y12, Y0, Y0
	VADDPS      Y0, Y4, Y4
	VPSUBD.BCST (BX)(R8*1), Y1, Y1
	VCVTDQ2PS   Y1, Y1
	VPBROADCASTW (DI)(R8*1), X12
	VCVTPH2PS   X12, Y12
	VMULPS      Y12, Y8, Y12
	VMULPS      Y12, Y1, Y1
	VADDPS      Y1, Y5, Y5
	VPSUBD.BCST (BX)(R8*2), Y2, Y2
	VCVTDQ2PS   Y2, Y2
	VPBROADCASTW (DI)(R8*2), X12
	VCVTPH2PS   X12, Y12
	VMULPS      Y12, Y8, Y12
	VMULPS      Y12, Y2, Y2
	VADDPS      Y2, Y6, Y6
	VPSUBD.BCST (R10), Y3, Y3
	VCVTDQ2PS   Y3, Y3
	VPBROADCASTW (R9), X12
	VCVTPH2PS   X12, Y12
	VMULPS      Y12, Y8, Y12
	VMULPS      Y12, Y3, Y3
	VADDPS      Y3, Y7, Y7
	ADDQ $176, SI
	ADDQ $34, DI
	ADDQ $34, R9
	ADDQ $4, BX
	ADDQ $4, R10
	DECQ CX
	JNZ  q50x4block

	MOVQ    stride+24(FP), BX
	SHLQ    $2, BX
	VMOVUPS Y4, (AX)
	VMOVUPS Y5, (AX)(BX*1)
	VMOVUPS Y6, (AX)(BX*2)
	LEAQ    (AX)(BX*2), AX
	VMOVUPS Y7, (AX)(BX*1)
	VZEROUPPER
	RET

// func dotQ50I8VNNI(out []float32, w, x []byte, nb int)
// One vector: two int32 sums per block (even and odd chunks) keep two VPDPBUSD chains in flight, and the
// weights are prefetched 4 KB ahead (decode reads them once, as one sequential stream).
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
	VXORPS Y4, Y4, Y4

q50x1block:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	VCVTPH2PS (SI), Y8
	VMOVDQU   48(SI), Y9
	VPANDD    Y14, Y9, Y16
	VPSRLW    $4, Y9, Y9
	VPANDD    Y14, Y9, Y20
	VMOVDQU   80(SI), Y9
	VPANDD    Y14, Y9, Y17
	VPSRLW    $4, Y9, Y9
	VPANDD    Y14, Y9, Y21
	VMOVDQU   112(SI), Y9
	VPANDD    Y14, Y9, Y18
	VPSRLW    $4, Y9, Y9
	VPANDD    Y14, Y9, Y22
	VMOVDQU   144(SI), Y9
	VPANDD    Y14, Y9, Y19
	VPSRLW    $4, Y9, Y9
	VPANDD    Y14, Y9, Y23
	KMOVD     16(SI), K1
	VPADDB    Y15, Y16, K1, Y16
	KMOVD     20(SI), K2
	VPADDB    Y15, Y17, K2, Y17
	KMOVD     24(SI), K3
	VPADDB    Y15, Y18, K3, Y18
	KMOVD     28(SI), K4
	VPADDB    Y15, Y19, K4, Y19
	KMOVD     32(SI), K1
	VPADDB    Y15, Y20, K1, Y20
	KMOVD     36(SI), K2
	VPADDB    Y15, Y21, K2, Y21
	KMOVD     40(SI), K3
	VPADDB    Y15, Y22, K3, Y22
	KMOVD     44(SI), K4
	VPADDB    Y15, Y23, K4, Y23
	VPXORD    Y0, Y0, Y0
	VPXORD    Y1, Y1, Y1
	VPDPBUSD.BCST 2(DI), Y16, Y0
	VPDPBUSD.BCST 6(DI), Y17, Y1
	VPDPBUSD.BCST 10(DI), Y18, Y0
	VPDPBUSD.BCST 14(DI), Y19, Y1
	VPDPBUSD.BCST 18(DI), Y20, Y0
	VPDPBUSD.BCST 22(DI), Y21, Y1
	VPDPBUSD.BCST 26(DI), Y22, Y0
	VPDPBUSD.BCST 30(DI), Y23, Y1
	VPADDD      Y1, Y0, Y0
	VPSUBD.BCST (BX), Y0, Y0
	VCVTDQ2PS   Y0, Y0
	VPBROADCASTW (DI), X12
	VCVTPH2PS   X12, Y12
	VMULPS      Y12, Y8, Y12
	VMULPS      Y12, Y0, Y0
	VADDPS      Y0, Y4, Y4
	ADDQ $176, SI
	ADDQ $34, DI
	ADDQ $4, BX
	DECQ CX
	JNZ  q50x1block
	VMOVUPS Y4, (AX)
	VZEROUPPER
	RET
