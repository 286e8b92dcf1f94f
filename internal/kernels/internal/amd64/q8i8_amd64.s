#include "textflag.h"

// Q8_0 dot products over packed weights (kernels.PackQ8I8): for each block of 32 columns, a group of 8
// rows is 16 bytes of fp16 scales (row r at 2r), then 8 chunks k of 32 bytes holding quants 4k..4k+3 of
// rows 0..7 in turn, each stored +128 (xor 0x80) as an unsigned byte. VPDPBUSD of a chunk with the
// activation dword 4k..4k+3 broadcast sums four products per row lane, so after 8 chunks lane r holds
// sum_j (w[r][j]+128)·x[j] = sumi_r + 128·sum_j x[j], and subtracting xs = 128·sum_j x[j] leaves the
// exact integer sum with no horizontal reduction. The float part is the scalar reference's:
// d = dw·dx, p = float32(sumi)·d, acc += p block after block.
//
// Registers: SI weights, DI/R9 activation quants, DX/R13 activation scales, BX/R10 activation sums,
// R8 = 32·nb and R12 = 4·nb (one vector to the next), CX blocks left, Y8 the weight scales, Y9 a chunk,
// Y0..Y3 int32 sums, Y4..Y7 float accumulators.

// func dotQ8I8x4VNNI(out []float32, stride int, w []byte, xq []int8, xd []float32, xs []int32, nb int)
TEXT ·dotQ8I8x4VNNI(SB), NOSPLIT, $0-136
	MOVQ out_base+0(FP), AX
	MOVQ w_base+32(FP), SI
	MOVQ xq_base+56(FP), DI
	MOVQ xd_base+80(FP), DX
	MOVQ xs_base+104(FP), BX
	MOVQ nb+128(FP), CX
	MOVQ CX, R8
	SHLQ $5, R8
	LEAQ (DI)(R8*2), R9
	ADDQ R8, R9
	MOVQ CX, R12
	SHLQ $2, R12
	LEAQ (DX)(R12*2), R13
	ADDQ R12, R13
	LEAQ (BX)(R12*2), R10
	ADDQ R12, R10
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

i8x4block:
	VCVTPH2PS (SI), Y8
	VPXORD    Y0, Y0, Y0
	VPXORD    Y1, Y1, Y1
	VPXORD    Y2, Y2, Y2
	VPXORD    Y3, Y3, Y3
	VMOVDQU       16(SI), Y9
	VPDPBUSD.BCST 0(DI), Y9, Y0
	VPDPBUSD.BCST 0(DI)(R8*1), Y9, Y1
	VPDPBUSD.BCST 0(DI)(R8*2), Y9, Y2
	VPDPBUSD.BCST 0(R9), Y9, Y3
	VMOVDQU       48(SI), Y9
	VPDPBUSD.BCST 4(DI), Y9, Y0
	VPDPBUSD.BCST 4(DI)(R8*1), Y9, Y1
	VPDPBUSD.BCST 4(DI)(R8*2), Y9, Y2
	VPDPBUSD.BCST 4(R9), Y9, Y3
	VMOVDQU       80(SI), Y9
	VPDPBUSD.BCST 8(DI), Y9, Y0
	VPDPBUSD.BCST 8(DI)(R8*1), Y9, Y1
	VPDPBUSD.BCST 8(DI)(R8*2), Y9, Y2
	VPDPBUSD.BCST 8(R9), Y9, Y3
	VMOVDQU       112(SI), Y9
	VPDPBUSD.BCST 12(DI), Y9, Y0
	VPDPBUSD.BCST 12(DI)(R8*1), Y9, Y1
	VPDPBUSD.BCST 12(DI)(R8*2), Y9, Y2
	VPDPBUSD.BCST 12(R9), Y9, Y3
	VMOVDQU       144(SI), Y9
	VPDPBUSD.BCST 16(DI), Y9, Y0
	VPDPBUSD.BCST 16(DI)(R8*1), Y9, Y1
	VPDPBUSD.BCST 16(DI)(R8*2), Y9, Y2
	VPDPBUSD.BCST 16(R9), Y9, Y3
	VMOVDQU       176(SI), Y9
	VPDPBUSD.BCST 20(DI), Y9, Y0
	VPDPBUSD.BCST 20(DI)(R8*1), Y9, Y1
	VPDPBUSD.BCST 20(DI)(R8*2), Y9, Y2
	VPDPBUSD.BCST 20(R9), Y9, Y3
	VMOVDQU       208(SI), Y9
	VPDPBUSD.BCST 24(DI), Y9, Y0
	VPDPBUSD.BCST 24(DI)(R8*1), Y9, Y1
	VPDPBUSD.BCST 24(DI)(R8*2), Y9, Y2
	VPDPBUSD.BCST 24(R9), Y9, Y3
	VMOVDQU       240(SI), Y9
	VPDPBUSD.BCST 28(DI), Y9, Y0
	VPDPBUSD.BCST 28(DI)(R8*1), Y9, Y1
	VPDPBUSD.BCST 28(DI)(R8*2), Y9, Y2
	VPDPBUSD.BCST 28(R9), Y9, Y3
	VPSUBD.BCST (BX), Y0, Y0
	VCVTDQ2PS   Y0, Y0
	VMULPS.BCST (DX), Y8, Y12
	VMULPS      Y12, Y0, Y0
	VADDPS      Y0, Y4, Y4
	VPSUBD.BCST (BX)(R12*1), Y1, Y1
	VCVTDQ2PS   Y1, Y1
	VMULPS.BCST (DX)(R12*1), Y8, Y12
	VMULPS      Y12, Y1, Y1
	VADDPS      Y1, Y5, Y5
	VPSUBD.BCST (BX)(R12*2), Y2, Y2
	VCVTDQ2PS   Y2, Y2
	VMULPS.BCST (DX)(R12*2), Y8, Y12
	VMULPS      Y12, Y2, Y2
	VADDPS      Y2, Y6, Y6
	VPSUBD.BCST (R10), Y3, Y3
	VCVTDQ2PS   Y3, Y3
	VMULPS.BCST (R13), Y8, Y12
	VMULPS      Y12, Y3, Y3
	VADDPS      Y3, Y7, Y7
	ADDQ $272, SI
	ADDQ $32, DI
	ADDQ $32, R9
	ADDQ $4, DX
	ADDQ $4, R13
	ADDQ $4, BX
	ADDQ $4, R10
	DECQ CX
	JNZ  i8x4block

	MOVQ    stride+24(FP), BX
	SHLQ    $2, BX
	VMOVUPS Y4, (AX)
	VMOVUPS Y5, (AX)(BX*1)
	VMOVUPS Y6, (AX)(BX*2)
	LEAQ    (AX)(BX*2), AX
	VMOVUPS Y7, (AX)(BX*1)
	VZEROUPPER
	RET

// func dotQ8I8VNNI(out []float32, w []byte, xq []int8, xd []float32, xs []int32, nb int)
// One vector: two int32 sums per block (even and odd chunks) keep two VPDPBUSD chains in flight, and
// the weights are prefetched 4 KB ahead (decode reads them once, as one sequential stream).
TEXT ·dotQ8I8VNNI(SB), NOSPLIT, $0-128
	MOVQ out_base+0(FP), AX
	MOVQ w_base+24(FP), SI
	MOVQ xq_base+48(FP), DI
	MOVQ xd_base+72(FP), DX
	MOVQ xs_base+96(FP), BX
	MOVQ nb+120(FP), CX
	VXORPS Y4, Y4, Y4

i8x1block:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	PREFETCHT0 4288(SI)
	PREFETCHT0 4352(SI)
	VCVTPH2PS (SI), Y8
	VPXORD    Y0, Y0, Y0
	VPXORD    Y1, Y1, Y1
	VMOVDQU       16(SI), Y9
	VPDPBUSD.BCST 0(DI), Y9, Y0
	VMOVDQU       48(SI), Y9
	VPDPBUSD.BCST 4(DI), Y9, Y1
	VMOVDQU       80(SI), Y9
	VPDPBUSD.BCST 8(DI), Y9, Y0
	VMOVDQU       112(SI), Y9
	VPDPBUSD.BCST 12(DI), Y9, Y1
	VMOVDQU       144(SI), Y9
	VPDPBUSD.BCST 16(DI), Y9, Y0
	VMOVDQU       176(SI), Y9
	VPDPBUSD.BCST 20(DI), Y9, Y1
	VMOVDQU       208(SI), Y9
	VPDPBUSD.BCST 24(DI), Y9, Y0
	VMOVDQU       240(SI), Y9
	VPDPBUSD.BCST 28(DI), Y9, Y1
	VPADDD      Y1, Y0, Y0
	VPSUBD.BCST (BX), Y0, Y0
	VCVTDQ2PS   Y0, Y0
	VMULPS.BCST (DX), Y8, Y12
	VMULPS      Y12, Y0, Y0
	VADDPS      Y0, Y4, Y4
	ADDQ $272, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $4, BX
	DECQ CX
	JNZ  i8x1block
	VMOVUPS Y4, (AX)
	VZEROUPPER
	RET
