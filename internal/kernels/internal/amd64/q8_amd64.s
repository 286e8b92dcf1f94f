#include "textflag.h"

// Q8_0 dot products. Weights: 34-byte blocks (fp16 scale, 32 int8). Activations: 32 int8 per block in
// [-127, 127] and one float32 scale per block. Per block the integer sum is exact: |w|·sign(x, w) makes the
// unsigned×signed byte products of VPMADDUBSW (pairs stay below 2·128·127 < 2^15) or VPDPBUSD. The float
// part is the scalar reference's: d = dw·dx, p = float32(sumi)·d, acc += p block after block.
//
// The one-vector kernels prefetch the weights 3 KB ahead (the AVX-512 two-row kernel 8 KB: 1536×8960
// MatVec, one thread, 0.95 → 0.87 ms, min of 5): with one sequential stream per thread the hardware
// prefetchers alone leave this machine's memory bandwidth half used.
//
// Registers: SI weights, DI activation quants, DX activation scales, CX blocks left, X14 / X15 / Y14
// accumulators, Y3..Y10 the int32x8 partial sums of 8 blocks (or of 8 vectors).

// PRODW_AVX2 leaves in dst the int32x8 partial sums of weight block quants at wm and activation quants at xm.
#define PRODW_AVX2(wm, xm, dst) \
	VMOVDQU    wm, Y0      \
	VMOVDQU    xm, Y2      \
	VPSIGNB    Y0, Y2, Y2  \
	VPABSB     Y0, Y0      \
	VPMADDUBSW Y2, Y0, Y0  \
	VPMADDWD   ones16<>(SB), Y0, dst

#define PRODW_VNNI(wm, xm, dst) \
	VMOVDQU  wm, Y0       \
	VMOVDQU  xm, Y2       \
	VPSIGNB  Y0, Y2, Y2   \
	VPABSB   Y0, Y0       \
	VPXOR    dst, dst, dst \
	VPDPBUSD Y2, Y0, dst

// Sixteen int16 ones for VPMADDWD.
DATA ones16<>+0(SB)/8, $0x0001000100010001
DATA ones16<>+8(SB)/8, $0x0001000100010001
DATA ones16<>+16(SB)/8, $0x0001000100010001
DATA ones16<>+24(SB)/8, $0x0001000100010001
GLOBL ones16<>(SB), RODATA|NOPTR, $32

// PRODX_* is PRODW_* for a weight block already loaded: Y0 = w, Y1 = |w|.
#define PRODX_AVX2(xm, dst) \
	VMOVDQU    xm, Y2     \
	VPSIGNB    Y0, Y2, Y2 \
	VPMADDUBSW Y2, Y1, Y2 \
	VPMADDWD   ones16<>(SB), Y2, dst

#define PRODX_VNNI(xm, dst) \
	VMOVDQU  xm, Y2        \
	VPSIGNB  Y0, Y2, Y2    \
	VPXOR    dst, dst, dst \
	VPDPBUSD Y2, Y1, dst

// HSUM8 sums each of Y3..Y10 horizontally into lane k of Y11 (k = 0..7 in register order).
#define HSUM8 \
	VPHADDD    Y4, Y3, Y3         \
	VPHADDD    Y6, Y5, Y5         \
	VPHADDD    Y8, Y7, Y7         \
	VPHADDD    Y10, Y9, Y9        \
	VPHADDD    Y5, Y3, Y3         \
	VPHADDD    Y9, Y7, Y7         \
	VPERM2I128 $0x20, Y7, Y3, Y11 \
	VPERM2I128 $0x31, Y7, Y3, Y12 \
	VPADDD     Y12, Y11, Y11

// ADD4(p, acc, t) adds lanes 0, 1, 2, 3 of p to acc[0], in that order (t is scratch).
#define ADD4(p, acc, t) \
	VADDSS    p, acc, acc \
	VMOVSHDUP p, t        \
	VADDSS    t, acc, acc \
	VMOVHLPS  p, p, t     \
	VADDSS    t, acc, acc \
	VPERMILPS $3, p, t    \
	VADDSS    t, acc, acc

// SCALES8(b) turns the 8 block sums in Y11 into the 8 products float32(sumi)·(dw·dx) in Y11; the weight
// block scales are at b + 34·k, the activation scales at DX.
#define SCALES8(b) \
	MOVWLZX      (b), AX                 \
	VMOVD        AX, X12                 \
	VPINSRW      $1, 34(b), X12, X12     \
	VPINSRW      $2, 68(b), X12, X12     \
	VPINSRW      $3, 102(b), X12, X12    \
	VPINSRW      $4, 136(b), X12, X12    \
	VPINSRW      $5, 170(b), X12, X12    \
	VPINSRW      $6, 204(b), X12, X12    \
	VPINSRW      $7, 238(b), X12, X12    \
	VCVTPH2PS    X12, Y12                \
	VMULPS       (DX), Y12, Y12          \
	VCVTDQ2PS    Y11, Y11                \
	VMULPS       Y12, Y11, Y11

// GROUP8 finishes 8 blocks whose partial sums are in Y3..Y10: scales, products, and 8 ordered adds.
#define GROUP8 \
	HSUM8                         \
	SCALES8(SI)                   \
	ADD4(X11, X14, X13)           \
	VEXTRACTF128 $1, Y11, X11     \
	ADD4(X11, X14, X13)

// TAIL1 finishes one block whose partial sums are in Y3, with the weight scale at wm, into acc.
#define TAIL1(wm, acc) \
	VEXTRACTI128 $1, Y3, X1  \
	VPADDD       X1, X3, X0  \
	VPSHUFD      $0x4e, X0, X1 \
	VPADDD       X1, X0, X0  \
	VPSHUFD      $0xb1, X0, X1 \
	VPADDD       X1, X0, X0  \
	VCVTDQ2PS    X0, X0      \
	MOVWLZX      wm, AX      \
	VMOVD        AX, X1      \
	VCVTPH2PS    X1, X1      \
	VMULSS       (DX), X1, X1 \
	VMULSS       X1, X0, X0  \
	VADDSS       X0, acc, acc

// func dotQ8AVX2(w []byte, xq []int8, xd []float32) float32
TEXT ·dotQ8AVX2(SB), NOSPLIT, $0-76
	MOVQ   w_base+0(FP), SI
	MOVQ   xq_base+24(FP), DI
	MOVQ   xd_base+48(FP), DX
	MOVQ   xd_len+56(FP), CX
	VXORPS X14, X14, X14
	CMPQ   CX, $8
	JB     avx2tail

avx2group:
	PREFETCHT0 3072(SI)
	PREFETCHT0 3136(SI)
	PREFETCHT0 3200(SI)
	PREFETCHT0 3264(SI)
	PREFETCHT0 3328(SI)
	PRODW_AVX2((2+34*0)(SI), (32*0)(DI), Y3)
	PRODW_AVX2((2+34*1)(SI), (32*1)(DI), Y4)
	PRODW_AVX2((2+34*2)(SI), (32*2)(DI), Y5)
	PRODW_AVX2((2+34*3)(SI), (32*3)(DI), Y6)
	PRODW_AVX2((2+34*4)(SI), (32*4)(DI), Y7)
	PRODW_AVX2((2+34*5)(SI), (32*5)(DI), Y8)
	PRODW_AVX2((2+34*6)(SI), (32*6)(DI), Y9)
	PRODW_AVX2((2+34*7)(SI), (32*7)(DI), Y10)
	GROUP8
	ADDQ $(34*8), SI
	ADDQ $(32*8), DI
	ADDQ $32, DX
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  avx2group

avx2tail:
	TESTQ CX, CX
	JZ    avx2done
	PRODW_AVX2(2(SI), (DI), Y3)
	TAIL1((SI), X14)
	ADDQ  $34, SI
	ADDQ  $32, DI
	ADDQ  $4, DX
	DECQ  CX
	JMP   avx2tail

avx2done:
	VZEROUPPER
	MOVSS X14, ret+72(FP)
	RET

// func dotQ8VNNI(w []byte, xq []int8, xd []float32) float32
TEXT ·dotQ8VNNI(SB), NOSPLIT, $0-76
	MOVQ   w_base+0(FP), SI
	MOVQ   xq_base+24(FP), DI
	MOVQ   xd_base+48(FP), DX
	MOVQ   xd_len+56(FP), CX
	VXORPS X14, X14, X14
	CMPQ   CX, $8
	JB     vnnitail

vnnigroup:
	PREFETCHT0 3072(SI)
	PREFETCHT0 3136(SI)
	PREFETCHT0 3200(SI)
	PREFETCHT0 3264(SI)
	PREFETCHT0 3328(SI)
	PRODW_VNNI((2+34*0)(SI), (32*0)(DI), Y3)
	PRODW_VNNI((2+34*1)(SI), (32*1)(DI), Y4)
	PRODW_VNNI((2+34*2)(SI), (32*2)(DI), Y5)
	PRODW_VNNI((2+34*3)(SI), (32*3)(DI), Y6)
	PRODW_VNNI((2+34*4)(SI), (32*4)(DI), Y7)
	PRODW_VNNI((2+34*5)(SI), (32*5)(DI), Y8)
	PRODW_VNNI((2+34*6)(SI), (32*6)(DI), Y9)
	PRODW_VNNI((2+34*7)(SI), (32*7)(DI), Y10)
	GROUP8
	ADDQ $(34*8), SI
	ADDQ $(32*8), DI
	ADDQ $32, DX
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  vnnigroup

vnnitail:
	TESTQ CX, CX
	JZ    vnnidone
	PRODW_VNNI(2(SI), (DI), Y3)
	TAIL1((SI), X14)
	ADDQ  $34, SI
	ADDQ  $32, DI
	ADDQ  $4, DX
	DECQ  CX
	JMP   vnnitail

vnnidone:
	VZEROUPPER
	MOVSS X14, ret+72(FP)
	RET

// b80: four bytes of 0x80.
DATA b80<>+0(SB)/4, $0x80808080
GLOBL b80<>(SB), RODATA|NOPTR, $4

// X2ROW_VNNI(r) leaves in Y3..Y10 the int32x8 partial sums of the 8 weight blocks at r (two blocks per
// 512-bit register) against the activations in Z16..Z19, with (w+128)·x accumulated onto −128·Σx (Z20..Z23).
#define X2ROW_VNNI(r) \
	VMOVDQU      (2+34*0)(r), Y0 \
	VINSERTI64X4 $1, (2+34*1)(r), Z0, Z0 \
	VPXORD       Z31, Z0, Z0 \
	VMOVDQA64    Z20, Z3 \
	VPDPBUSD     Z16, Z0, Z3 \
	VMOVDQU      (2+34*2)(r), Y0 \
	VINSERTI64X4 $1, (2+34*3)(r), Z0, Z0 \
	VPXORD       Z31, Z0, Z0 \
	VMOVDQA64    Z21, Z5 \
	VPDPBUSD     Z17, Z0, Z5 \
	VMOVDQU      (2+34*4)(r), Y0 \
	VINSERTI64X4 $1, (2+34*5)(r), Z0, Z0 \
	VPXORD       Z31, Z0, Z0 \
	VMOVDQA64    Z22, Z7 \
	VPDPBUSD     Z18, Z0, Z7 \
	VMOVDQU      (2+34*6)(r), Y0 \
	VINSERTI64X4 $1, (2+34*7)(r), Z0, Z0 \
	VPXORD       Z31, Z0, Z0 \
	VMOVDQA64    Z23, Z9 \
	VPDPBUSD     Z19, Z0, Z9 \
	VEXTRACTI64X4 $1, Z3, Y4 \
	VEXTRACTI64X4 $1, Z5, Y6 \
	VEXTRACTI64X4 $1, Z7, Y8 \
	VEXTRACTI64X4 $1, Z9, Y10

// X2ACT_VNNI loads the activations of 8 blocks at DI into Z16..Z19 (two blocks each) and −128·Σx of each
// 4-byte group into Z20..Z23 (Z31: 64 bytes of 0x80, Z30: zero).
#define X2ACT_VNNI \
	VMOVDQU64 (64*0)(DI), Z16 \
	VPXORD    Z20, Z20, Z20 \
	VPDPBUSD  Z16, Z31, Z20 \
	VPSUBD    Z20, Z30, Z20 \
	VMOVDQU64 (64*1)(DI), Z17 \
	VPXORD    Z21, Z21, Z21 \
	VPDPBUSD  Z17, Z31, Z21 \
	VPSUBD    Z21, Z30, Z21 \
	VMOVDQU64 (64*2)(DI), Z18 \
	VPXORD    Z22, Z22, Z22 \
	VPDPBUSD  Z18, Z31, Z22 \
	VPSUBD    Z22, Z30, Z22 \
	VMOVDQU64 (64*3)(DI), Z19 \
	VPXORD    Z23, Z23, Z23 \
	VPDPBUSD  Z19, Z31, Z23 \
	VPSUBD    Z23, Z30, Z23

// The two-row kernels: rows w and w[stride:] against one vector, two independent accumulation chains
// (X14, X15) sharing the activation loads. The AVX-512 one takes two blocks per 512-bit register and
// drops VPSIGNB/VPABSB: it multiplies w+128 (w XOR 0x80, unsigned) by x with VPDPBUSD onto −128·Σx,
// which gives the same exact int32 sums.

// func dotQ8x2AVX2(w []byte, stride int, xq []int8, xd []float32) (a, b float32)
TEXT ·dotQ8x2AVX2(SB), NOSPLIT, $0-88
	MOVQ   w_base+0(FP), SI
	MOVQ   stride+24(FP), R11
	ADDQ   SI, R11
	MOVQ   xq_base+32(FP), DI
	MOVQ   xd_base+56(FP), DX
	MOVQ   xd_len+64(FP), CX
	VXORPS X14, X14, X14
	VXORPS X15, X15, X15
	CMPQ   CX, $8
	JB     x2avx2tail

x2avx2group:
	PREFETCHT0 3072(SI)
	PREFETCHT0 3072(R11)
	PREFETCHT0 3136(SI)
	PREFETCHT0 3136(R11)
	PREFETCHT0 3200(SI)
	PREFETCHT0 3200(R11)
	PREFETCHT0 3264(SI)
	PREFETCHT0 3264(R11)
	PREFETCHT0 3328(SI)
	PREFETCHT0 3328(R11)
	PRODW_AVX2((2+34*0)(SI), (32*0)(DI), Y3)
	PRODW_AVX2((2+34*1)(SI), (32*1)(DI), Y4)
	PRODW_AVX2((2+34*2)(SI), (32*2)(DI), Y5)
	PRODW_AVX2((2+34*3)(SI), (32*3)(DI), Y6)
	PRODW_AVX2((2+34*4)(SI), (32*4)(DI), Y7)
	PRODW_AVX2((2+34*5)(SI), (32*5)(DI), Y8)
	PRODW_AVX2((2+34*6)(SI), (32*6)(DI), Y9)
	PRODW_AVX2((2+34*7)(SI), (32*7)(DI), Y10)
	HSUM8
	SCALES8(SI)
	VMOVAPS Y11, Y13
	PRODW_AVX2((2+34*0)(R11), (32*0)(DI), Y3)
	PRODW_AVX2((2+34*1)(R11), (32*1)(DI), Y4)
	PRODW_AVX2((2+34*2)(R11), (32*2)(DI), Y5)
	PRODW_AVX2((2+34*3)(R11), (32*3)(DI), Y6)
	PRODW_AVX2((2+34*4)(R11), (32*4)(DI), Y7)
	PRODW_AVX2((2+34*5)(R11), (32*5)(DI), Y8)
	PRODW_AVX2((2+34*6)(R11), (32*6)(DI), Y9)
	PRODW_AVX2((2+34*7)(R11), (32*7)(DI), Y10)
	HSUM8
	SCALES8(R11)
	ADD4(X13, X14, X0)
	ADD4(X11, X15, X1)
	VEXTRACTF128 $1, Y13, X13
	VEXTRACTF128 $1, Y11, X11
	ADD4(X13, X14, X0)
	ADD4(X11, X15, X1)
	ADDQ $(34*8), SI
	ADDQ $(34*8), R11
	ADDQ $(32*8), DI
	ADDQ $32, DX
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  x2avx2group

x2avx2tail:
	TESTQ CX, CX
	JZ    x2avx2done
	PRODW_AVX2(2(SI), (DI), Y3)
	TAIL1((SI), X14)
	PRODW_AVX2(2(R11), (DI), Y3)
	TAIL1((R11), X15)
	ADDQ  $34, SI
	ADDQ  $34, R11
	ADDQ  $32, DI
	ADDQ  $4, DX
	DECQ  CX
	JMP   x2avx2tail

x2avx2done:
	VZEROUPPER
	MOVSS X14, a+80(FP)
	MOVSS X15, b+84(FP)
	RET

// func dotQ8x2VNNI(w []byte, stride int, xq []int8, xd []float32) (a, b float32)
TEXT ·dotQ8x2VNNI(SB), NOSPLIT, $0-88
	MOVQ   w_base+0(FP), SI
	MOVQ   stride+24(FP), R11
	ADDQ   SI, R11
	MOVQ   xq_base+32(FP), DI
	MOVQ   xd_base+56(FP), DX
	MOVQ   xd_len+64(FP), CX
	VXORPS X14, X14, X14
	VXORPS X15, X15, X15
	VPBROADCASTD b80<>(SB), Z31
	VPXORD       Z30, Z30, Z30
	CMPQ   CX, $8
	JB     x2vnnitail

x2vnnigroup:
	PREFETCHT0 8192(SI)
	PREFETCHT0 8192(R11)
	PREFETCHT0 8256(SI)
	PREFETCHT0 8256(R11)
	PREFETCHT0 8320(SI)
	PREFETCHT0 8320(R11)
	PREFETCHT0 8384(SI)
	PREFETCHT0 8384(R11)
	PREFETCHT0 8448(SI)
	PREFETCHT0 8448(R11)
	X2ACT_VNNI
	X2ROW_VNNI(SI)
	HSUM8
	SCALES8(SI)
	VMOVAPS Y11, Y13
	X2ROW_VNNI(R11)
	HSUM8
	SCALES8(R11)
	ADD4(X13, X14, X0)
	ADD4(X11, X15, X1)
	VEXTRACTF128 $1, Y13, X13
	VEXTRACTF128 $1, Y11, X11
	ADD4(X13, X14, X0)
	ADD4(X11, X15, X1)
	ADDQ $(34*8), SI
	ADDQ $(34*8), R11
	ADDQ $(32*8), DI
	ADDQ $32, DX
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  x2vnnigroup

x2vnnitail:
	TESTQ CX, CX
	JZ    x2vnnidone
	PRODW_VNNI(2(SI), (DI), Y3)
	TAIL1((SI), X14)
	PRODW_VNNI(2(R11), (DI), Y3)
	TAIL1((R11), X15)
	ADDQ  $34, SI
	ADDQ  $34, R11
	ADDQ  $32, DI
	ADDQ  $4, DX
	DECQ  CX
	JMP   x2vnnitail

x2vnnidone:
	VZEROUPPER
	MOVSS X14, a+80(FP)
	MOVSS X15, b+84(FP)
	RET

// The eight-vector kernels: vector j's quants start at DI + j·R8 (R8 = 32·nb), its scale for block b is
// at DX + 32·b + 4·j, lane j of Y14 accumulates its result, which goes to out[j·stride].

// func dotQ8x8AVX2(out []float32, stride int, w []byte, xq []int8, xdT []float32)
TEXT ·dotQ8x8AVX2(SB), NOSPLIT, $0-104
	MOVQ   w_base+32(FP), SI
	MOVQ   xq_base+56(FP), DI
	MOVQ   xdT_base+80(FP), DX
	MOVQ   xdT_len+88(FP), CX
	SHRQ   $3, CX
	MOVQ   CX, R8
	SHLQ   $5, R8
	LEAQ   (DI)(R8*2), R9
	ADDQ   R8, R9
	LEAQ   (R9)(R8*2), R10
	ADDQ   R8, R10
	VXORPS Y14, Y14, Y14

x8avx2block:
	VMOVDQU 2(SI), Y0
	VPABSB  Y0, Y1
	PRODX_AVX2((DI), Y3)
	PRODX_AVX2((DI)(R8*1), Y4)
	PRODX_AVX2((DI)(R8*2), Y5)
	PRODX_AVX2((R9), Y6)
	PRODX_AVX2((R9)(R8*1), Y7)
	PRODX_AVX2((R9)(R8*2), Y8)
	PRODX_AVX2((R10), Y9)
	PRODX_AVX2((R10)(R8*1), Y10)
	HSUM8
	VCVTDQ2PS    Y11, Y11
	VPBROADCASTW (SI), X12
	VCVTPH2PS    X12, Y12
	VMULPS       (DX), Y12, Y12
	VMULPS       Y12, Y11, Y11
	VADDPS       Y11, Y14, Y14
	ADDQ         $34, SI
	ADDQ         $32, DI
	ADDQ         $32, R9
	ADDQ         $32, R10
	ADDQ         $32, DX
	DECQ         CX
	JNZ          x8avx2block

	MOVQ         out_base+0(FP), AX
	MOVQ         stride+24(FP), BX
	SHLQ         $2, BX
	LEAQ         (AX)(BX*2), DX
	ADDQ         BX, DX
	VMOVSS       X14, (AX)
	VEXTRACTPS   $1, X14, (AX)(BX*1)
	VEXTRACTPS   $2, X14, (AX)(BX*2)
	VEXTRACTPS   $3, X14, (DX)
	VEXTRACTF128 $1, Y14, X14
	VMOVSS       X14, (DX)(BX*1)
	VEXTRACTPS   $1, X14, (DX)(BX*2)
	LEAQ         (DX)(BX*2), DX
	ADDQ         BX, DX
	VEXTRACTPS   $2, X14, (DX)
	VEXTRACTPS   $3, X14, (DX)(BX*1)
	VZEROUPPER
	RET

// func dotQ8x8VNNI(out []float32, stride int, w []byte, xq []int8, xdT []float32)
TEXT ·dotQ8x8VNNI(SB), NOSPLIT, $0-104
	MOVQ   w_base+32(FP), SI
	MOVQ   xq_base+56(FP), DI
	MOVQ   xdT_base+80(FP), DX
	MOVQ   xdT_len+88(FP), CX
	SHRQ   $3, CX
	MOVQ   CX, R8
	SHLQ   $5, R8
	LEAQ   (DI)(R8*2), R9
	ADDQ   R8, R9
	LEAQ   (R9)(R8*2), R10
	ADDQ   R8, R10
	VXORPS Y14, Y14, Y14

x8vnniblock:
	VMOVDQU 2(SI), Y0
	VPABSB  Y0, Y1
	PRODX_VNNI((DI), Y3)
	PRODX_VNNI((DI)(R8*1), Y4)
	PRODX_VNNI((DI)(R8*2), Y5)
	PRODX_VNNI((R9), Y6)
	PRODX_VNNI((R9)(R8*1), Y7)
	PRODX_VNNI((R9)(R8*2), Y8)
	PRODX_VNNI((R10), Y9)
	PRODX_VNNI((R10)(R8*1), Y10)
	HSUM8
	VCVTDQ2PS    Y11, Y11
	VPBROADCASTW (SI), X12
	VCVTPH2PS    X12, Y12
	VMULPS       (DX), Y12, Y12
	VMULPS       Y12, Y11, Y11
	VADDPS       Y11, Y14, Y14
	ADDQ         $34, SI
	ADDQ         $32, DI
	ADDQ         $32, R9
	ADDQ         $32, R10
	ADDQ         $32, DX
	DECQ         CX
	JNZ          x8vnniblock

	MOVQ         out_base+0(FP), AX
	MOVQ         stride+24(FP), BX
	SHLQ         $2, BX
	LEAQ         (AX)(BX*2), DX
	ADDQ         BX, DX
	VMOVSS       X14, (AX)
	VEXTRACTPS   $1, X14, (AX)(BX*1)
	VEXTRACTPS   $2, X14, (AX)(BX*2)
	VEXTRACTPS   $3, X14, (DX)
	VEXTRACTF128 $1, Y14, X14
	VMOVSS       X14, (DX)(BX*1)
	VEXTRACTPS   $1, X14, (DX)(BX*2)
	LEAQ         (DX)(BX*2), DX
	ADDQ         BX, DX
	VEXTRACTPS   $2, X14, (DX)
	VEXTRACTPS   $3, X14, (DX)(BX*1)
	VZEROUPPER
	RET

// Lane order that undoes the in-lane interleaving of VPACKSSDW + VPACKSSWB (ggml's
// _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)).
DATA packperm<>+0(SB)/4, $0
DATA packperm<>+4(SB)/4, $4
DATA packperm<>+8(SB)/4, $1
DATA packperm<>+12(SB)/4, $5
DATA packperm<>+16(SB)/4, $2
DATA packperm<>+20(SB)/4, $6
DATA packperm<>+24(SB)/4, $3
DATA packperm<>+28(SB)/4, $7
GLOBL packperm<>(SB), RODATA|NOPTR, $32

// func quantizeQ8AVX2(qs []int8, d, x []float32)
// ggml-cpu/arch/x86/quants.c quantize_row_q8_0, AVX2 path, one block of 32 per iteration.
TEXT ·quantizeQ8AVX2(SB), NOSPLIT, $0-72
	MOVQ    qs_base+0(FP), DI
	MOVQ    d_base+24(FP), DX
	MOVQ    d_len+32(FP), CX
	MOVQ    x_base+48(FP), SI
	MOVL    $0x7fffffff, AX
	VMOVD   AX, X15
	VPBROADCASTD X15, Y15            // |x| mask
	MOVL    $0x42fe0000, AX          // 127.0
	VMOVD   AX, X14
	VMOVDQU packperm<>(SB), Y13
	VXORPS  X12, X12, X12

qloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS  Y15, Y0, Y4
	VANDPS  Y15, Y1, Y5
	VMAXPS  Y5, Y4, Y4
	VANDPS  Y15, Y2, Y5
	VMAXPS  Y5, Y4, Y4
	VANDPS  Y15, Y3, Y5
	VMAXPS  Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS  X4, X5, X4               // max(hi, lo)
	VMOVHLPS X4, X4, X5
	VMAXPS  X5, X4, X4
	VMOVSHDUP X4, X5
	VMAXSS  X5, X4, X4               // X4 = amax

	VDIVSS    X14, X4, X5            // d = amax / 127
	VCVTPS2PH $0, X5, X5
	VCVTPH2PS X5, X5
	VMOVSS    X5, (DX)
	VDIVSS    X4, X14, X6            // id = 127 / amax
	VCMPSS    $4, X12, X4, X7        // amax != 0 (unordered: true)
	VANDPS    X7, X6, X6
	VBROADCASTSS X6, Y6

	VMULPS    Y6, Y0, Y0
	VMULPS    Y6, Y1, Y1
	VMULPS    Y6, Y2, Y2
	VMULPS    Y6, Y3, Y3
	VROUNDPS  $0, Y0, Y0
	VROUNDPS  $0, Y1, Y1
	VROUNDPS  $0, Y2, Y2
	VROUNDPS  $0, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD    Y0, Y13, Y0
	VMOVDQU   Y0, (DI)

	ADDQ $128, SI
	ADDQ $32, DI
	ADDQ $4, DX
	DECQ CX
	JNZ  qloop
	VZEROUPPER
	RET
