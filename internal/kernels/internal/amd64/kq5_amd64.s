#include "textflag.h"

// Q5_K · Q8_K dot product and the Q8_K activation quantizer (AVX2 + F16C), bit for bit the scalar
// references dotQ5_KRef and quantizeActQ8_K in package kernels. All integer sums are exact; the float
// operations are the references' own, one rounding each, in the same order: the dot's are ggml-cpu's x86
// order (eight lanes scaled into Y15 by VFMADD231PS, fma(-dmin, msum, summs) in X14, the lanes added as
// hsum_float_8, then summs).

DATA kqnib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqnib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqnib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqnib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL kqnib<>(SB), RODATA|NOPTR, $32

DATA kqone8<>+0(SB)/8, $0x0101010101010101
DATA kqone8<>+8(SB)/8, $0x0101010101010101
DATA kqone8<>+16(SB)/8, $0x0101010101010101
DATA kqone8<>+24(SB)/8, $0x0101010101010101
GLOBL kqone8<>(SB), RODATA|NOPTR, $32

DATA kqone16<>+0(SB)/8, $0x0001000100010001
DATA kqone16<>+8(SB)/8, $0x0001000100010001
DATA kqone16<>+16(SB)/8, $0x0001000100010001
DATA kqone16<>+24(SB)/8, $0x0001000100010001
GLOBL kqone16<>(SB), RODATA|NOPTR, $32

// VPERMD indices that undo the lane interleaving of VPACKUSDW + VPACKUSWB.
DATA kqperm<>+0(SB)/4, $0
DATA kqperm<>+4(SB)/4, $4
DATA kqperm<>+8(SB)/4, $1
DATA kqperm<>+12(SB)/4, $5
DATA kqperm<>+16(SB)/4, $2
DATA kqperm<>+20(SB)/4, $6
DATA kqperm<>+24(SB)/4, $3
DATA kqperm<>+28(SB)/4, $7
GLOBL kqperm<>(SB), RODATA|NOPTR, $32

// HSUMD(y, x, t, r) sums the int32x8 y (x its low half) into r; t is scratch.
#define HSUMD(y, x, t, r) \
	VEXTRACTI128 $1, y, t  \
	VPADDD       t, x, x   \
	VPSHUFD      $0x4e, x, t \
	VPADDD       t, x, x   \
	VPSHUFD      $0xb1, x, t \
	VPADDD       t, x, x   \
	VMOVD        x, r

// SUBPAIR(k) adds to Y11 the scaled products of sub-blocks 2k and 2k+1 of the Q5_K block at SI with the
// Q8_K block at DI: q5 = nibble | qh bit << 4 (0..31, unsigned), VPMADDUBSW pairs it with the int8
// activations (|pair| ≤ 2·31·128 < 2^15), VPMADDWD multiplies by the broadcast 6-bit scale and adds pairs.
// Y13 holds 0x0f bytes, Y12 0x01 bytes, Y10 the 32 qh bytes, X9 the eight scales as int16.
#define SUBPAIR(k) \
	VMOVDQU      (48+32*k)(SI), Y0  \
	VPAND        Y13, Y0, Y1        \
	VPSRLW       $4, Y0, Y0         \
	VPAND        Y13, Y0, Y0        \
	VPSRLW       $(2*k), Y10, Y2    \
	VPAND        Y12, Y2, Y2        \
	VPSLLW       $4, Y2, Y2         \
	VPOR         Y2, Y1, Y1         \
	VPSRLW       $(2*k+1), Y10, Y2  \
	VPAND        Y12, Y2, Y2        \
	VPSLLW       $4, Y2, Y2         \
	VPOR         Y2, Y0, Y0         \
	VPMADDUBSW   (4+64*k)(DI), Y1, Y1 \
	VPMADDUBSW   (36+64*k)(DI), Y0, Y0 \
	VPSRLDQ      $(4*k), X9, X2     \
	VPBROADCASTW X2, Y2             \
	VPMADDWD     Y2, Y1, Y1         \
	VPADDD       Y1, Y11, Y11       \
	VPSRLDQ      $(4*k+2), X9, X2   \
	VPBROADCASTW X2, Y2             \
	VPMADDWD     Y2, Y0, Y0         \
	VPADDD       Y0, Y11, Y11

// func dotQ5_KAVX2(w, x []byte, nb int) float32
TEXT ·dotQ5_KAVX2(SB), NOSPLIT, $0-60
	MOVQ    w_base+0(FP), SI
	MOVQ    x_base+24(FP), DI
	MOVQ    nb+48(FP), CX
	VXORPS  Y15, Y15, Y15
	VXORPS  X14, X14, X14
	VMOVDQU kqnib<>(SB), Y13
	VMOVDQU kqone8<>(SB), Y12

q5block:
	// Unpack the 6-bit scales (R8) and mins (R10), eight bytes each, as ggml's utmp shuffle does.
	MOVL 4(SI), AX
	MOVL 8(SI), BX
	MOVL 12(SI), DX
	MOVL AX, R8
	ANDL $0x3f3f3f3f, R8
	MOVL AX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	MOVL DX, R11
	ANDL $0x0f0f0f0f, R11
	ORL  R11, R9
	SHLQ $32, R9
	ORQ  R9, R8
	MOVL BX, R10
	ANDL $0x3f3f3f3f, R10
	MOVL BX, R11
	SHRL $6, R11
	ANDL $0x03030303, R11
	SHLL $4, R11
	SHRL $4, DX
	ANDL $0x0f0f0f0f, DX
	ORL  DX, R11
	SHLQ $32, R11
	ORQ  R11, R10

	// msum: mins m_j (each twice, as int16) against the 16 bsums.
	VMOVQ      R10, X8
	VPUNPCKLBW X8, X8, X8
	VPMOVZXBW  X8, Y8
	VPMADDWD   260(DI), Y8, Y8

	// isum over the eight sub-blocks.
	VMOVQ     R8, X9
	VPMOVZXBW X9, X9
	VMOVDQU   16(SI), Y10
	VPXOR     Y11, Y11, Y11
	SUBPAIR(0)
	SUBPAIR(1)
	SUBPAIR(2)
	SUBPAIR(3)
	HSUMD(Y8, X8, X1, BX)

	// acc_k = fma(d, float32(isum_k), acc_k); summs = fma(-dmin, float32(msum), summs).
	MOVWLZX      0(SI), R8
	VMOVD        R8, X0
	VCVTPH2PS    X0, X0
	VMULSS       (DI), X0, X0
	VBROADCASTSS X0, Y0
	VCVTDQ2PS    Y11, Y11
	VFMADD231PS  Y11, Y0, Y15
	MOVWLZX      2(SI), R8
	VMOVD        R8, X1
	VCVTPH2PS    X1, X1
	VMULSS       (DI), X1, X1
	VCVTSI2SSL   BX, X3, X3
	VFNMADD231SS X3, X1, X14

	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q5block

	// hsum_float_8: upper half plus lower half, then (r0 + r2) + (r1 + r3); plus summs.
	VEXTRACTF128 $1, Y15, X0
	VADDPS       X15, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VADDSS       X14, X0, X0
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET

// QUANT8(off, y) leaves in y the int32 quants min(127, nearest_int(iscale·x)) of the 8 floats at
// off(R11), keeping the low byte (int8 truncation, as the scalar code converts); Y3 holds iscale.
#define QUANT8(off, y) \
	VMULPS  off(R11), Y3, y \
	VADDPS  Y14, y, y       \
	VPAND   Y13, y, y       \
	VPSUBD  Y12, y, y       \
	VPMINSD Y11, y, y       \
	VPAND   Y10, y, y

// func quantizeQ8_KAVX2(dst []byte, src []float32, nb int)
TEXT ·quantizeQ8_KAVX2(SB), NOSPLIT, $0-56
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ nb+48(FP), CX
	MOVL $0x7fffffff, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15 // |x| mask
	MOVL $0x4b400000, AX  // 12582912.0 = 1.5·2^23
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x007fffff, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	MOVL $0x00400000, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	MOVL $127, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	MOVL $0xff, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	VMOVDQU kqone8<>(SB), Y9
	VMOVDQU kqone16<>(SB), Y8
	VMOVDQU kqperm<>(SB), Y7

q8kblock:
	// amax = max |x| (a NaN never wins, as in `if (ax > amax)`).
	VXORPS Y0, Y0, Y0
	XORQ   AX, AX

q8kamax:
	VANDPS (SI)(AX*4), Y15, Y1
	VMAXPS Y0, Y1, Y0
	ADDQ   $8, AX
	CMPQ   AX, $256
	JB     q8kamax
	VEXTRACTF128 $1, Y0, X1
	VMAXPS    X0, X1, X0
	VMOVHLPS  X0, X0, X1
	VMAXPS    X0, X1, X0
	VMOVSHDUP X0, X1
	VMAXSS    X0, X1, X0
	VXORPS    X1, X1, X1
	VUCOMISS  X1, X0
	JEQ       q8kzero

	// max = the first x whose |x| is amax.
	VBROADCASTSS X0, Y1
	XORQ AX, AX

q8kfind:
	VANDPS    (SI)(AX*4), Y15, Y2
	VCMPPS    $0, Y1, Y2, Y2
	VMOVMSKPS Y2, BX
	TESTL     BX, BX
	JNZ       q8kfound
	ADDQ      $8, AX
	JMP       q8kfind

q8kfound:
	BSFL   BX, BX
	ADDQ   AX, BX
	VMOVSS (SI)(BX*4), X2
	MOVL   $0xc2fe0000, AX // -127.0
	VMOVD  AX, X3
	VDIVSS X2, X3, X3      // iscale = -127/max
	MOVL   $0x3f800000, AX // 1.0
	VMOVD  AX, X4
	VDIVSS X3, X4, X4      // d = 1/iscale
	VMOVSS X4, (DI)
	VBROADCASTSS X3, Y3

	LEAQ 4(DI), R9    // quants
	LEAQ 260(DI), R10 // bsums
	MOVQ SI, R11
	MOVQ $8, DX

q8kgroup:
	QUANT8(0, Y0)
	QUANT8(32, Y1)
	QUANT8(64, Y2)
	QUANT8(96, Y4)
	VPACKUSDW  Y1, Y0, Y0
	VPACKUSDW  Y4, Y2, Y2
	VPACKUSWB  Y2, Y0, Y0
	VPERMD     Y0, Y7, Y0
	VMOVDQU    Y0, (R9)
	VPMADDUBSW Y0, Y9, Y0 // pairs of int8 quants
	VPMADDWD   Y8, Y0, Y0
	VPHADDD    Y0, Y0, Y0
	VPHADDD    Y0, Y0, Y0 // each 128-bit lane: its 16 quants' sum
	VMOVD      X0, AX
	MOVW       AX, (R10)
	VEXTRACTI128 $1, Y0, X0
	VMOVD      X0, AX
	MOVW       AX, 2(R10)
	ADDQ $128, R11
	ADDQ $32, R9
	ADDQ $4, R10
	DECQ DX
	JNZ  q8kgroup
	JMP  q8knext

q8kzero:
	VPXOR   Y0, Y0, Y0
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y0, 32(DI)
	VMOVDQU Y0, 64(DI)
	VMOVDQU Y0, 96(DI)
	VMOVDQU Y0, 128(DI)
	VMOVDQU Y0, 160(DI)
	VMOVDQU Y0, 192(DI)
	VMOVDQU Y0, 224(DI)
	VMOVDQU Y0, 256(DI)
	MOVL    $0, 288(DI)

q8knext:
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q8kblock
	VZEROUPPER
	RET
