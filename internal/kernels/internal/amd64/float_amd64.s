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

// func dotF32AVX2(a, b []float32) float32
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	ZERO4
	MOVQ CX, BX
	ANDQ $-32, BX
	XORQ AX, AX
	CMPQ AX, BX
	JAE  f32fold

f32loop:
	PREFETCHT0 3072(SI)(AX*4)
	PREFETCHT0 3136(SI)(AX*4)
	VMOVUPS (SI)(AX*4), Y4
	VMOVUPS 32(SI)(AX*4), Y5
	VMOVUPS 64(SI)(AX*4), Y6
	VMOVUPS 96(SI)(AX*4), Y7
	VMULPS  (DI)(AX*4), Y4, Y4
	VMULPS  32(DI)(AX*4), Y5, Y5
	VMULPS  64(DI)(AX*4), Y6, Y6
	VMULPS  96(DI)(AX*4), Y7, Y7
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VADDPS  Y6, Y2, Y2
	VADDPS  Y7, Y3, Y3
	ADDQ    $32, AX
	CMPQ    AX, BX
	JB      f32loop

f32fold:
	FOLD32
	CMPQ AX, CX
	JAE  f32done

f32tail:
	VMOVSS (SI)(AX*4), X1
	VMULSS (DI)(AX*4), X1, X1
	VADDSS X1, X0, X0
	INCQ   AX
	CMPQ   AX, CX
	JB     f32tail

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
