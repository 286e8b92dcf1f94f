#include "textflag.h"

// func dotQ8VecAVX2(w []byte, xq []int8, xd []float32) float32
// Per block: the 32 weight and activation quants sign-extended to words, VPMADDWD pair sums, VPHADDD and
// VPERMQ into lane k = Σ_{j=4k..4k+3} w_j·x_j (exact in int32), then Y10 = fma(fp16(w.d)·xd, lanes, Y10);
// at the end hsum_float_8. Registers: SI weights, DI quants, BX scales, CX blocks left.
TEXT ·dotQ8VecAVX2(SB), NOSPLIT, $0-76
	MOVQ   w_base+0(FP), SI
	MOVQ   xq_base+24(FP), DI
	MOVQ   xd_base+48(FP), BX
	MOVQ   xd_len+56(FP), CX
	VXORPS Y10, Y10, Y10

q8vloop:
	VPMOVSXBW    2(SI), Y0
	VPMOVSXBW    18(SI), Y1
	VPMOVSXBW    (DI), Y2
	VPMOVSXBW    16(DI), Y3
	VPMADDWD     Y2, Y0, Y0
	VPMADDWD     Y3, Y1, Y1
	VPHADDD      Y1, Y0, Y0
	VPERMQ       $0xd8, Y0, Y0
	VCVTDQ2PS    Y0, Y0
	MOVWLZX      (SI), AX
	VMOVD        AX, X1
	VCVTPH2PS    X1, X1
	VMULSS       (BX), X1, X1
	VBROADCASTSS X1, Y1
	VFMADD231PS  Y0, Y1, Y10
	ADDQ         $34, SI
	ADDQ         $32, DI
	ADDQ         $4, BX
	DECQ         CX
	JNZ          q8vloop

	// hsum_float_8: upper half plus lower half, then (r0 + r2) + (r1 + r3).
	VEXTRACTF128 $1, Y10, X0
	VADDPS       X10, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+72(FP)
	RET
