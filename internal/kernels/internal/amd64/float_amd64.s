#include "textflag.h"

// Float dot products in the order of internal/kernels/dot.go: element i goes to lane i%32 of four 8-lane
// accumulators Y0..Y3 (VMULPS then VADDPS, never FMA), the lanes fold pairwise, then the tail adds one by
// one into X0.

// FOLD32 folds Y0..Y3 (lanes 0-7, 8-15, 16-23, 24-31) into X0[0]: k+=k+16, k+=k+8, k+=k+4, k+=k+2, k+=k+1.
#define FOLD32 \
	VADDPS       Y2, Y0, Y0 \
	VADDPS       Y3, Y1, Y1 \
	VADDPS       Y1, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS       X1, X0, X0 \
	VMOVHLPS     X0, X0, X1 \
	VADDPS       X1, X0, X0 \
	VMOVSHDUP    X0, X1     \
	VADDSS       X1, X0, X0

#define ZERO4 \
	VXORPS Y0, Y0, Y0 \
	VXORPS Y1, Y1, Y1 \
	VXORPS Y2, Y2, Y2 \
	VXORPS Y3, Y3, Y3

// ADDSEQ4 adds the four values of X1 to X0[0] one by one, in order (X2 is clobbered).
#define ADDSEQ4 \
	VADDSS    X1, X0, X0     \
	VMOVSHDUP X1, X2         \
	VADDSS    X2, X0, X0     \
	VMOVHLPS  X1, X2, X2     \
	VADDSS    X2, X0, X0     \
	VSHUFPS   $0xff, X1, X1, X2 \
	VADDSS    X2, X0, X0

// ADDSEQ8 adds the eight values of Y1 to X0[0] one by one, in order (Y1 and X2 are clobbered).
#define ADDSEQ8 \
	ADDSEQ4 \
	VEXTRACTF128 $1, Y1, X1 \
	ADDSEQ4

// func dotF32AVX2(a, b []float32) float32
// ggml_vec_dot_f32's order (kernels.dotF32Ref): 64 lanes in Y0..Y7 by fused multiply-adds, folded 32 onto 0,
// 16, 8, 4, 2, 1; then whole 16s and a whole 8 of the tail as rounded products added in order, the rest by
// scalar fused multiply-adds.
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-52
	MOVQ   a_base+0(FP), SI
	MOVQ   a_len+8(FP), CX
	MOVQ   b_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ   CX, BX
	ANDQ   $-64, BX
	XORQ   AX, AX
	CMPQ   AX, BX
	JAE    f32fold

f32loop:
	VMOVUPS     (SI)(AX*4), Y8
	VMOVUPS     32(SI)(AX*4), Y9
	VMOVUPS     64(SI)(AX*4), Y10
	VMOVUPS     96(SI)(AX*4), Y11
	VFMADD231PS (DI)(AX*4), Y8, Y0
	VFMADD231PS 32(DI)(AX*4), Y9, Y1
	VFMADD231PS 64(DI)(AX*4), Y10, Y2
	VFMADD231PS 96(DI)(AX*4), Y11, Y3
	VMOVUPS     128(SI)(AX*4), Y8
	VMOVUPS     160(SI)(AX*4), Y9
	VMOVUPS     192(SI)(AX*4), Y10
	VMOVUPS     224(SI)(AX*4), Y11
	VFMADD231PS 128(DI)(AX*4), Y8, Y4
	VFMADD231PS 160(DI)(AX*4), Y9, Y5
	VFMADD231PS 192(DI)(AX*4), Y10, Y6
	VFMADD231PS 224(DI)(AX*4), Y11, Y7
	ADDQ        $64, AX
	CMPQ        AX, BX
	JB          f32loop

f32fold:
	VADDPS       Y4, Y0, Y0
	VADDPS       Y5, Y1, Y1
	VADDPS       Y6, Y2, Y2
	VADDPS       Y7, Y3, Y3
	VADDPS       Y2, Y0, Y0
	VADDPS       Y3, Y1, Y1
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0

f32tail16:
	MOVQ    CX, DX
	SUBQ    AX, DX
	CMPQ    DX, $16
	JB      f32tail8
	VMOVUPS (SI)(AX*4), Y1
	VMULPS  (DI)(AX*4), Y1, Y1
	VMOVUPS 32(SI)(AX*4), Y3
	VMULPS  32(DI)(AX*4), Y3, Y3
	ADDSEQ8
	VMOVAPS Y3, Y1
	ADDSEQ8
	ADDQ    $16, AX
	JMP     f32tail16

f32tail8:
	CMPQ    DX, $8
	JB      f32tail
	VMOVUPS (SI)(AX*4), Y1
	VMULPS  (DI)(AX*4), Y1, Y1
	ADDSEQ8
	ADDQ    $8, AX

f32tail:
	CMPQ        AX, CX
	JAE         f32done
	VMOVSS      (SI)(AX*4), X1
	VFMADD231SS (DI)(AX*4), X1, X0
	INCQ        AX
	JMP         f32tail

f32done:
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// func dotF16AVX2(w []uint16, x []float32) float32
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-52
	MOVQ w_base+0(FP), SI
	MOVQ w_len+8(FP), CX
	MOVQ x_base+24(FP), DI
	ZERO4
	MOVQ CX, BX
	ANDQ $-32, BX
	XORQ AX, AX
	CMPQ AX, BX
	JAE  f16fold

f16loop:
	PREFETCHT0 3072(SI)(AX*2)
	VCVTPH2PS (SI)(AX*2), Y4
	VCVTPH2PS 16(SI)(AX*2), Y5
	VCVTPH2PS 32(SI)(AX*2), Y6
	VCVTPH2PS 48(SI)(AX*2), Y7
	VMULPS    (DI)(AX*4), Y4, Y4
	VMULPS    32(DI)(AX*4), Y5, Y5
	VMULPS    64(DI)(AX*4), Y6, Y6
	VMULPS    96(DI)(AX*4), Y7, Y7
	VADDPS    Y4, Y0, Y0
	VADDPS    Y5, Y1, Y1
	VADDPS    Y6, Y2, Y2
	VADDPS    Y7, Y3, Y3
	ADDQ      $32, AX
	CMPQ      AX, BX
	JB        f16loop

f16fold:
	FOLD32
	CMPQ AX, CX
	JAE  f16done

f16tail:
	MOVWLZX   (SI)(AX*2), DX
	VMOVD     DX, X1
	VCVTPH2PS X1, X1
	VMULSS    (DI)(AX*4), X1, X1
	VADDSS    X1, X0, X0
	INCQ      AX
	CMPQ      AX, CX
	JB        f16tail

f16done:
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// BF16LOAD widens 8 bf16 values at m into 8 float32 lanes of r.
#define BF16LOAD(m, r) \
	VPMOVZXWD m, r \
	VPSLLD    $16, r, r

// func dotBF16AVX2(w []uint16, x []float32) float32
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-52
	MOVQ w_base+0(FP), SI
	MOVQ w_len+8(FP), CX
	MOVQ x_base+24(FP), DI
	ZERO4
	MOVQ CX, BX
	ANDQ $-32, BX
	XORQ AX, AX
	CMPQ AX, BX
	JAE  bf16fold

bf16loop:
	PREFETCHT0 3072(SI)(AX*2)
	PREFETCHT0 3072(SI)(AX*2)
	BF16LOAD((SI)(AX*2), Y4)
	BF16LOAD(16(SI)(AX*2), Y5)
	BF16LOAD(32(SI)(AX*2), Y6)
	BF16LOAD(48(SI)(AX*2), Y7)
	VMULPS (DI)(AX*4), Y4, Y4
	VMULPS 32(DI)(AX*4), Y5, Y5
	VMULPS 64(DI)(AX*4), Y6, Y6
	VMULPS 96(DI)(AX*4), Y7, Y7
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	ADDQ   $32, AX
	CMPQ   AX, BX
	JB     bf16loop

bf16fold:
	FOLD32
	CMPQ AX, CX
	JAE  bf16done

bf16tail:
	MOVWLZX (SI)(AX*2), DX
	SHLL    $16, DX
	VMOVD   DX, X1
	VMULSS  (DI)(AX*4), X1, X1
	VADDSS  X1, X0, X0
	INCQ    AX
	CMPQ    AX, CX
	JB      bf16tail

bf16done:
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// func axpyAVX2(dst []float32, a float32, x []float32)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-56
	MOVQ         dst_base+0(FP), DI
	MOVQ         dst_len+8(FP), CX
	VBROADCASTSS a+24(FP), Y0
	MOVQ         x_base+32(FP), SI
	MOVQ         CX, BX
	ANDQ         $-32, BX
	XORQ         AX, AX
	CMPQ         AX, BX
	JAE          axpytail

axpyloop:
	VMULPS  (SI)(AX*4), Y0, Y1
	VMULPS  32(SI)(AX*4), Y0, Y2
	VMULPS  64(SI)(AX*4), Y0, Y3
	VMULPS  96(SI)(AX*4), Y0, Y4
	VADDPS  (DI)(AX*4), Y1, Y1
	VADDPS  32(DI)(AX*4), Y2, Y2
	VADDPS  64(DI)(AX*4), Y3, Y3
	VADDPS  96(DI)(AX*4), Y4, Y4
	VMOVUPS Y1, (DI)(AX*4)
	VMOVUPS Y2, 32(DI)(AX*4)
	VMOVUPS Y3, 64(DI)(AX*4)
	VMOVUPS Y4, 96(DI)(AX*4)
	ADDQ    $32, AX
	CMPQ    AX, BX
	JB      axpyloop

axpytail:
	CMPQ AX, CX
	JAE  axpydone
	VMULSS (SI)(AX*4), X0, X1
	VADDSS (DI)(AX*4), X1, X1
	VMOVSS X1, (DI)(AX*4)
	INCQ   AX
	JMP    axpytail

axpydone:
	VZEROUPPER
	RET

// func axpyFMAAVX2(dst []float32, a float32, x []float32)
// dst[i] = fma(a, x[i], dst[i]).
TEXT ·axpyFMAAVX2(SB), NOSPLIT, $0-56
	MOVQ         dst_base+0(FP), DI
	MOVQ         dst_len+8(FP), CX
	VBROADCASTSS a+24(FP), Y0
	MOVQ         x_base+32(FP), SI
	MOVQ         CX, BX
	ANDQ         $-32, BX
	XORQ         AX, AX
	CMPQ         AX, BX
	JAE          fmatail

fmaloop:
	VMOVUPS     (SI)(AX*4), Y1
	VMOVUPS     32(SI)(AX*4), Y2
	VMOVUPS     64(SI)(AX*4), Y3
	VMOVUPS     96(SI)(AX*4), Y4
	VFMADD213PS (DI)(AX*4), Y0, Y1
	VFMADD213PS 32(DI)(AX*4), Y0, Y2
	VFMADD213PS 64(DI)(AX*4), Y0, Y3
	VFMADD213PS 96(DI)(AX*4), Y0, Y4
	VMOVUPS     Y1, (DI)(AX*4)
	VMOVUPS     Y2, 32(DI)(AX*4)
	VMOVUPS     Y3, 64(DI)(AX*4)
	VMOVUPS     Y4, 96(DI)(AX*4)
	ADDQ        $32, AX
	CMPQ        AX, BX
	JB          fmaloop

fmatail:
	CMPQ        AX, CX
	JAE         fmadone
	VMOVSS      (SI)(AX*4), X1
	VFMADD213SS (DI)(AX*4), X0, X1
	VMOVSS      X1, (DI)(AX*4)
	INCQ        AX
	JMP         fmatail

fmadone:
	VZEROUPPER
	RET

// func axpyFMA4AVX2(dst []float32, a0, a1, a2, a3 float32, x0, x1, x2, x3 *float32)
// dst[i] = fma(a3, x3[i], fma(a2, x2[i], fma(a1, x1[i], fma(a0, x0[i], dst[i])))).
TEXT ·axpyFMA4AVX2(SB), NOSPLIT, $0-72
	MOVQ         dst_base+0(FP), DI
	MOVQ         dst_len+8(FP), CX
	VBROADCASTSS a0+24(FP), Y4
	VBROADCASTSS a1+28(FP), Y5
	VBROADCASTSS a2+32(FP), Y6
	VBROADCASTSS a3+36(FP), Y7
	MOVQ         x0+40(FP), R8
	MOVQ         x1+48(FP), R9
	MOVQ         x2+56(FP), R10
	MOVQ         x3+64(FP), R11
	MOVQ         CX, BX
	ANDQ         $-16, BX
	XORQ         AX, AX
	CMPQ         AX, BX
	JAE          fma4tail

fma4loop:
	VMOVUPS     (DI)(AX*4), Y0
	VMOVUPS     32(DI)(AX*4), Y1
	VFMADD231PS (R8)(AX*4), Y4, Y0
	VFMADD231PS 32(R8)(AX*4), Y4, Y1
	VFMADD231PS (R9)(AX*4), Y5, Y0
	VFMADD231PS 32(R9)(AX*4), Y5, Y1
	VFMADD231PS (R10)(AX*4), Y6, Y0
	VFMADD231PS 32(R10)(AX*4), Y6, Y1
	VFMADD231PS (R11)(AX*4), Y7, Y0
	VFMADD231PS 32(R11)(AX*4), Y7, Y1
	VMOVUPS     Y0, (DI)(AX*4)
	VMOVUPS     Y1, 32(DI)(AX*4)
	ADDQ        $16, AX
	CMPQ        AX, BX
	JB          fma4loop

fma4tail:
	CMPQ        AX, CX
	JAE         fma4done
	VMOVSS      (DI)(AX*4), X0
	VFMADD231SS (R8)(AX*4), X4, X0
	VFMADD231SS (R9)(AX*4), X5, X0
	VFMADD231SS (R10)(AX*4), X6, X0
	VFMADD231SS (R11)(AX*4), X7, X0
	VMOVSS      X0, (DI)(AX*4)
	INCQ        AX
	JMP         fma4tail

fma4done:
	VZEROUPPER
	RET

// func addAVX2(dst, x []float32)
// dst[i] += x[i].
TEXT ·addAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	MOVQ CX, BX
	ANDQ $-32, BX
	XORQ AX, AX
	CMPQ AX, BX
	JAE  addtail

addloop:
	VMOVUPS (DI)(AX*4), Y1
	VMOVUPS 32(DI)(AX*4), Y2
	VMOVUPS 64(DI)(AX*4), Y3
	VMOVUPS 96(DI)(AX*4), Y4
	VADDPS  (SI)(AX*4), Y1, Y1
	VADDPS  32(SI)(AX*4), Y2, Y2
	VADDPS  64(SI)(AX*4), Y3, Y3
	VADDPS  96(SI)(AX*4), Y4, Y4
	VMOVUPS Y1, (DI)(AX*4)
	VMOVUPS Y2, 32(DI)(AX*4)
	VMOVUPS Y3, 64(DI)(AX*4)
	VMOVUPS Y4, 96(DI)(AX*4)
	ADDQ    $32, AX
	CMPQ    AX, BX
	JB      addloop

addtail:
	CMPQ   AX, CX
	JAE    adddone
	VMOVSS (DI)(AX*4), X1
	VADDSS (SI)(AX*4), X1, X1
	VMOVSS X1, (DI)(AX*4)
	INCQ   AX
	JMP    addtail

adddone:
	VZEROUPPER
	RET

// func f16ToF32F16C(dst []float32, src []byte)
TEXT ·f16ToF32F16C(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	MOVQ CX, BX
	ANDQ $-8, BX
	XORQ AX, AX
	CMPQ AX, BX
	JAE  h2stail

h2sloop:
	VCVTPH2PS (SI)(AX*2), Y0
	VMOVUPS   Y0, (DI)(AX*4)
	ADDQ      $8, AX
	CMPQ      AX, BX
	JB        h2sloop

h2stail:
	CMPQ AX, CX
	JAE  h2sdone
	MOVWLZX   (SI)(AX*2), DX
	VMOVD     DX, X0
	VCVTPH2PS X0, X0
	VMOVSS    X0, (DI)(AX*4)
	INCQ      AX
	JMP       h2stail

h2sdone:
	VZEROUPPER
	RET

// func roundF16F16C(dst, src []float32)
TEXT ·roundF16F16C(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	MOVQ CX, BX
	ANDQ $-8, BX
	XORQ AX, AX
	CMPQ AX, BX
	JAE  rhtail

rhloop:
	VMOVUPS   (SI)(AX*4), Y0
	VCVTPS2PH $0, Y0, X0
	VCVTPH2PS X0, Y0
	VMOVUPS   Y0, (DI)(AX*4)
	ADDQ      $8, AX
	CMPQ      AX, BX
	JB        rhloop

rhtail:
	CMPQ AX, CX
	JAE  rhdone
	VMOVSS    (SI)(AX*4), X0
	VCVTPS2PH $0, X0, X0
	VCVTPH2PS X0, X0
	VMOVSS    X0, (DI)(AX*4)
	INCQ      AX
	JMP       rhtail

rhdone:
	VZEROUPPER
	RET
