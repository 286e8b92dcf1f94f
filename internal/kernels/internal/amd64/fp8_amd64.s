#include "textflag.h"

// The FP8 E4M3 dot product in the order of internal/kernels/fp8.go: per 128-element block, element i of each
// 32-element chunk goes to lane i of four 8-lane accumulators Y0..Y3 (VMULPS then VADDPS, never FMA), the
// lanes fold pairwise into X0, and X0 times the block's scale is added to X8.
//
// Decoding: an E4M3 byte b becomes the fp16 bit pattern of its value/256 (sign in bit 15, exponent and
// mantissa in bits 13..7: b sign-extended to 16 bits, shifted left by 7, bit 14 cleared), which VCVTPH2PS
// widens exactly, subnormals included; VMULPS by 256 then gives the E4M3 value exactly. The two NaN codes (b & 0x7F == 0x7F) would
// decode as ±480: the chunk loop collects them in Y12 instead, and a block holding one sums to NaN.

// F8FOLD32 folds Y0..Y3 (lanes 0-7, 8-15, 16-23, 24-31) into X0[0]: k+=k+16, k+=k+8, k+=k+4, k+=k+2, k+=k+1.
#define F8FOLD32 \
	VADDPS       Y2, Y0, Y0 \
	VADDPS       Y3, Y1, Y1 \
	VADDPS       Y1, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS       X1, X0, X0 \
	VMOVHLPS     X0, X0, X1 \
	VADDPS       X1, X0, X0 \
	VMOVSHDUP    X0, X1     \
	VADDSS       X1, X0, X0

// F8HALF decodes the 16 E4M3 bytes at m, multiplies them by the 16 floats at xlo and xhi and adds the
// products to accumulators alo (elements 0-7) and ahi (elements 8-15). Y9 holds the words 0xBFFF, Y11
// the floats 256; clobbers Y4..Y7.
#define F8HALF(m, xlo, xhi, alo, ahi) \
	VPMOVSXBW    m, Y4        \
	VPSLLW       $7, Y4, Y4   \
	VPAND        Y9, Y4, Y4   \
	VEXTRACTI128 $1, Y4, X5   \
	VCVTPH2PS    X4, Y6       \
	VCVTPH2PS    X5, Y7       \
	VMULPS       Y11, Y6, Y6  \
	VMULPS       Y11, Y7, Y7  \
	VMULPS       xlo, Y6, Y6  \
	VMULPS       xhi, Y7, Y7  \
	VADDPS       Y6, alo, alo \
	VADDPS       Y7, ahi, ahi

// func dotF8AVX2(w []byte, x []float32, scale []float32) float32
TEXT ·dotF8AVX2(SB), NOSPLIT, $0-76
	MOVQ         w_base+0(FP), SI
	MOVQ         x_base+24(FP), DI
	MOVQ         scale_base+48(FP), R8
	MOVQ         scale_len+56(FP), CX
	MOVL         $0xBFFF, DX
	VMOVD        DX, X9
	VPBROADCASTW X9, Y9
	MOVL         $0x7F, DX
	VMOVD        DX, X10
	VPBROADCASTB X10, Y10
	MOVL         $0x43800000, DX // 256.0
	VMOVD        DX, X11
	VBROADCASTSS X11, Y11
	VXORPS       X8, X8, X8
	XORQ         BX, BX
	CMPQ         BX, CX
	JAE          f8done

f8block:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VPXOR  Y12, Y12, Y12
	MOVQ   $4, DX

f8chunk:
	PREFETCHT0 1024(SI)
	VPAND      (SI), Y10, Y13
	VPCMPEQB   Y10, Y13, Y13
	VPOR       Y13, Y12, Y12
	F8HALF(0(SI), 0(DI), 32(DI), Y0, Y1)
	F8HALF(16(SI), 64(DI), 96(DI), Y2, Y3)
	ADDQ       $32, SI
	ADDQ       $128, DI
	DECQ       DX
	JNZ        f8chunk

	F8FOLD32
	VPTEST    Y12, Y12
	JZ        f8scale
	VPCMPEQD  X1, X1, X1
	VORPS     X1, X0, X0 // all ones: NaN

f8scale:
	VMULSS (R8)(BX*4), X0, X0
	VADDSS X0, X8, X8
	INCQ   BX
	CMPQ   BX, CX
	JB     f8block

f8done:
	VZEROUPPER
	MOVSS X8, ret+72(FP)
	RET
