#include "textflag.h"

// ggml_v_expf's constants (ggml/src/ggml-cpu/vec.h, the AVX-512 branch), as float32 bits.
DATA siluConst<>+0(SB)/4, $0x4b400000  // 0x1.8p23: adding it rounds to an integer
DATA siluConst<>+4(SB)/4, $0x3fb8aa3b  // 0x1.715476p+0: log2 e
DATA siluConst<>+8(SB)/4, $0x3f317200  // 0x1.62e4p-1: ln 2, high part
DATA siluConst<>+12(SB)/4, $0x35bfbe8e // 0x1.7f7d1cp-20: ln 2, low part
DATA siluConst<>+16(SB)/4, $0x43400000 // 192
DATA siluConst<>+20(SB)/4, $0x3c072010 // 0x1.0e4020p-7
DATA siluConst<>+24(SB)/4, $0x3d2b9f17 // 0x1.573e2ep-5
DATA siluConst<>+28(SB)/4, $0x3e2aaf33 // 0x1.555e66p-3
DATA siluConst<>+32(SB)/4, $0x3efffedb // 0x1.fffdb6p-2
DATA siluConst<>+36(SB)/4, $0x3f7ffff6 // 0x1.ffffecp-1
DATA siluConst<>+40(SB)/4, $0x3f800000 // 1
DATA siluConst<>+44(SB)/4, $0x7f800000 // +Inf
DATA siluConst<>+48(SB)/4, $0x7fffffff // |·| mask
DATA siluConst<>+52(SB)/4, $127        // the float32 exponent bias
GLOBL siluConst<>(SB), RODATA|NOPTR, $56

// func siluMulAVX512(gate, up *float32, n int)
// n > 0 is a multiple of 16. Per 16 values g of gate and u of up: x = 0 − g, z = fma(x, log2e, r),
// n = z − r, b = fnmadd(n, ln2lo, fnmadd(n, ln2hi, x)), u2 = b·b, j = fma(fma(fma(c5, b, c4), u2,
// fma(c3, b, c2)), u2, fma(c1, b, 1)), e = scalef(j, n), where |n| > 192: 0 for n ≤ 0 and +Inf above;
// then gate = g/(1 + e)·u.
TEXT ·siluMulAVX512(SB), NOSPLIT, $0-24
	MOVQ gate+0(FP), SI
	MOVQ up+8(FP), DI
	MOVQ n+16(FP), CX
	VBROADCASTSS siluConst<>+0(SB), Z31
	VBROADCASTSS siluConst<>+4(SB), Z30
	VBROADCASTSS siluConst<>+8(SB), Z29
	VBROADCASTSS siluConst<>+12(SB), Z28
	VBROADCASTSS siluConst<>+16(SB), Z27
	VBROADCASTSS siluConst<>+20(SB), Z26
	VBROADCASTSS siluConst<>+24(SB), Z25
	VBROADCASTSS siluConst<>+28(SB), Z24
	VBROADCASTSS siluConst<>+32(SB), Z23
	VBROADCASTSS siluConst<>+36(SB), Z22
	VBROADCASTSS siluConst<>+40(SB), Z21
	VBROADCASTSS siluConst<>+44(SB), Z20
	VPBROADCASTD siluConst<>+48(SB), Z19
	VPXORD       Z18, Z18, Z18

silu16:
	VMOVUPS      (SI), Z0
	VSUBPS       Z0, Z18, Z1
	VMOVAPS      Z31, Z2
	VFMADD231PS  Z30, Z1, Z2
	VSUBPS       Z31, Z2, Z3
	VFNMADD231PS Z29, Z3, Z1
	VFNMADD231PS Z28, Z3, Z1
	VPANDD       Z19, Z3, Z5
	VCMPPS       $30, Z27, Z5, K1
	VCMPPS       $18, Z18, Z3, K2
	KANDW        K2, K1, K2
	VMULPS       Z1, Z1, Z6
	VMOVAPS      Z25, Z7
	VFMADD231PS  Z26, Z1, Z7
	VMOVAPS      Z23, Z8
	VFMADD231PS  Z24, Z1, Z8
	VFMADD231PS  Z6, Z7, Z8
	VMOVAPS      Z21, Z9
	VFMADD231PS  Z22, Z1, Z9
	VFMADD231PS  Z6, Z8, Z9
	VSCALEFPS    Z3, Z9, Z10
	VMOVAPS      Z20, K1, Z10
	VMOVAPS      Z18, K2, Z10
	VADDPS       Z21, Z10, Z10
	VDIVPS       Z10, Z0, Z11
	VMULPS       (DI), Z11, Z11
	VMOVUPS      Z11, (SI)
	ADDQ         $64, SI
	ADDQ         $64, DI
	SUBQ         $16, CX
	JNZ          silu16
	VZEROUPPER
	RET

// EXPF8_CONSTS loads the constants EXPF8_HEAD and EXPF8_TAIL use into Y7–Y15.
#define EXPF8_CONSTS \
	VBROADCASTSS siluConst<>+0(SB), Y15; \
	VBROADCASTSS siluConst<>+4(SB), Y14; \
	VBROADCASTSS siluConst<>+8(SB), Y13; \
	VBROADCASTSS siluConst<>+12(SB), Y12; \
	VBROADCASTSS siluConst<>+20(SB), Y11; \
	VBROADCASTSS siluConst<>+24(SB), Y10; \
	VBROADCASTSS siluConst<>+28(SB), Y9; \
	VBROADCASTSS siluConst<>+32(SB), Y8; \
	VBROADCASTSS siluConst<>+36(SB), Y7

// EXPF8_HEAD and EXPF8_TAIL compute Y2 = ggml_v_expf(Y1) on 8 values with AVX2 and FMA (siluMulAVX2's
// comment), the constants in Y7..Y15; between them the caller puts 1.0 in every lane of Y2. They clobber
// Y1, Y3, Y4 and Y5.
#define EXPF8_HEAD \
	VMOVAPS      Y15, Y2; \
	VFMADD231PS  Y14, Y1, Y2; \
	VSUBPS       Y15, Y2, Y3; \
	VFNMADD231PS Y13, Y3, Y1; \
	VFNMADD231PS Y12, Y3, Y1; \
	VMULPS       Y1, Y1, Y4; \
	VMOVAPS      Y10, Y2; \
	VFMADD231PS  Y11, Y1, Y2; \
	VMOVAPS      Y8, Y5; \
	VFMADD231PS  Y9, Y1, Y5; \
	VFMADD231PS  Y4, Y2, Y5

#define EXPF8_TAIL \
	VFMADD231PS  Y7, Y1, Y2; \
	VFMADD231PS  Y4, Y5, Y2; \
	VCVTTPS2DQ   Y3, Y4; \
	VPSRAD       $1, Y4, Y5; \
	VPSUBD       Y5, Y4, Y4; \
	VPBROADCASTD siluConst<>+52(SB), Y1; \
	VPADDD       Y1, Y5, Y5; \
	VPSLLD       $23, Y5, Y5; \
	VPADDD       Y1, Y4, Y4; \
	VPSLLD       $23, Y4, Y4; \
	VMULPS       Y5, Y2, Y2; \
	VMULPS       Y4, Y2, Y2; \
	VPBROADCASTD siluConst<>+48(SB), Y1; \
	VANDPS       Y1, Y3, Y1; \
	VBROADCASTSS siluConst<>+16(SB), Y4; \
	VCMPPS       $30, Y4, Y1, Y1; \
	VXORPS       Y4, Y4, Y4; \
	VCMPPS       $18, Y4, Y3, Y5; \
	VBROADCASTSS siluConst<>+44(SB), Y4; \
	VANDNPS      Y4, Y5, Y5; \
	VBLENDVPS    Y1, Y5, Y2, Y2

// func siluMulAVX2(gate, up *float32, n int)
// siluMulAVX512 on 8 values at a time with AVX2 and FMA: the scale by 2^n (n integral, |n| ≤ 192) is two
// exact-then-rounding products j·2^a·2^b with a = n>>1 and b = n − a (both powers normal), which rounds
// j·2^n once as VSCALEFPS does; the cut-off is a blend.
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-24
	MOVQ gate+0(FP), SI
	MOVQ up+8(FP), DI
	MOVQ n+16(FP), CX
	EXPF8_CONSTS
	VBROADCASTSS siluConst<>+40(SB), Y6

silu8:
	VMOVUPS      (SI), Y0
	VXORPS       Y1, Y1, Y1
	VSUBPS       Y0, Y1, Y1
	EXPF8_HEAD
	VMOVAPS      Y6, Y2
	EXPF8_TAIL
	VADDPS       Y6, Y2, Y2
	VDIVPS       Y2, Y0, Y0
	VMULPS       (DI), Y0, Y0
	VMOVUPS      Y0, (SI)
	ADDQ         $32, SI
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          silu8
	VZEROUPPER
	RET

// func expSumAVX2(x *float32, n int, m float32) float64
// n > 0 is a multiple of 16. Per 16 values v of x: x = e^(v − m) with siluMulAVX2's ggml_v_expf, then the
// 16 folded in float32 as _mm512_reduce_add_ps does (8-15 onto 0-7, 4-7 onto 0-3, 2-3 onto 0-1, 1 onto 0)
// and added to the float64 sum it returns, 16 after 16 (ggml_vec_soft_max_f32's AVX-512 loop).
TEXT ·expSumAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Y0
	EXPF8_CONSTS
	VXORPD       X6, X6, X6
	XORQ         DX, DX

exp8:
	VMOVUPS      (SI), Y1
	VSUBPS       Y0, Y1, Y1
	EXPF8_HEAD
	VBROADCASTSS siluConst<>+40(SB), Y2
	EXPF8_TAIL
	VMOVUPS      Y2, (SI)
	XORQ         $1, DX
	JNZ          next8
	VADDPS       -32(SI), Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VADDPS       X3, X2, X2
	VMOVHLPS     X2, X2, X3
	VADDPS       X3, X2, X2
	VMOVSHDUP    X2, X3
	VADDSS       X3, X2, X2
	VCVTSS2SD    X2, X2, X2
	VADDSD       X2, X6, X6

next8:
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  exp8
	VZEROUPPER
	MOVSD X6, ret+24(FP)
	RET
