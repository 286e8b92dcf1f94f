#include "textflag.h"

// Legacy block dot products: Q4_0, Q5_0 and IQ4_NL weights with Q8_0 activations, Q4_1 and Q5_1 weights
// with Q8_1 activations (ggml's block layouts). Per block the integer sum is exact for every int8
// activation: unsigned levels u (0..15 or 0..31, the fifth bit spread from qh) meet the signed quants in
// VPMADDUBSW (pairs below 2·31·128 < 2^15), the offset 8 or 16 taken off as c·x pairs; IQ4_NL's signed
// levels (-127..113) meet |x| as w·sign(x), exact for x = -128 too; the VNNI kernels use VPDPBUSD. The float
// part is the scalar reference's: for Q4_0 (DotQ4_0) and IQ4_NL d = dw·dx, t = float32(sumi)·d, acc += t
// block after block, the 8 terms of a group added in block order; Q5_0, Q4_1, Q5_1 and DotQ4_0Vec follow
// ggml-cpu's x86 order (package kernels' laneAcc): one block at a time, the int32x8 lane sums scaled into a float32x8 Y14 by
// VFMADD231PS, for Q4_1 and Q5_1 fma(mw, sx, summs) in X12, and HSUMF8(Y14) (+ summs) at the end.
//
// Registers: SI weights, DI activations, CX blocks left, X14 the accumulator, Y3..Y10 the int32x8 partial
// sums of 8 blocks, Y11 their totals, Y12 the offset bytes c (or IQ4_NL's level table), Y13 0x0F bytes,
// Y15 all ones (Q5), Y0..Y2 scratch.

DATA lones16<>+0(SB)/8, $0x0001000100010001
DATA lones16<>+8(SB)/8, $0x0001000100010001
DATA lones16<>+16(SB)/8, $0x0001000100010001
DATA lones16<>+24(SB)/8, $0x0001000100010001
GLOBL lones16<>(SB), RODATA|NOPTR, $32

DATA lmask0f<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA lmask0f<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA lmask0f<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA lmask0f<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL lmask0f<>(SB), RODATA|NOPTR, $32

DATA leights<>+0(SB)/8, $0x0808080808080808
DATA leights<>+8(SB)/8, $0x0808080808080808
DATA leights<>+16(SB)/8, $0x0808080808080808
DATA leights<>+24(SB)/8, $0x0808080808080808
GLOBL leights<>(SB), RODATA|NOPTR, $32

DATA lsixteens<>+0(SB)/8, $0x1010101010101010
DATA lsixteens<>+8(SB)/8, $0x1010101010101010
DATA lsixteens<>+16(SB)/8, $0x1010101010101010
DATA lsixteens<>+24(SB)/8, $0x1010101010101010
GLOBL lsixteens<>(SB), RODATA|NOPTR, $32

// Byte k of the qh spread takes byte k/8 of the broadcast qh, then tests bit k%8.
DATA lqhshuf<>+0(SB)/8, $0x0000000000000000
DATA lqhshuf<>+8(SB)/8, $0x0101010101010101
DATA lqhshuf<>+16(SB)/8, $0x0202020202020202
DATA lqhshuf<>+24(SB)/8, $0x0303030303030303
GLOBL lqhshuf<>(SB), RODATA|NOPTR, $32

DATA lqhbits<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
DATA lqhbits<>+8(SB)/8, $0x7fbfdfeff7fbfdfe
DATA lqhbits<>+16(SB)/8, $0x7fbfdfeff7fbfdfe
DATA lqhbits<>+24(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL lqhbits<>(SB), RODATA|NOPTR, $32

// kvalues_iq4nl, in both lanes.
DATA liq4nl<>+0(SB)/8, $0xf6eaddcfbfad9881
DATA liq4nl<>+8(SB)/8, $0x7159453526190d01
DATA liq4nl<>+16(SB)/8, $0xf6eaddcfbfad9881
DATA liq4nl<>+24(SB)/8, $0x7159453526190d01
GLOBL liq4nl<>(SB), RODATA|NOPTR, $32

// NIBBLES loads the 16 bytes qs at m and leaves the 32 nibbles in Y0: low nibbles in bytes 0..15, high
// nibbles in bytes 16..31 (the order of the block's values).
#define NIBBLES(m) \
	VMOVDQU     m, X0          \
	VPSRLW      $4, X0, X1     \
	VINSERTI128 $1, X1, Y0, Y0 \
	VPAND       Y13, Y0, Y0

// HIGHBITS ors 0x10 into byte k of Y0 where bit k of the uint32 qh at m is set (Y15 all ones).
#define HIGHBITS(m) \
	VPBROADCASTD m, Y1                \
	VPSHUFB      lqhshuf<>(SB), Y1, Y1 \
	VPOR         lqhbits<>(SB), Y1, Y1 \
	VPCMPEQB     Y15, Y1, Y1           \
	VPAND        lsixteens<>(SB), Y1, Y1 \
	VPOR         Y1, Y0, Y0

// UX_AVX2: dst = int32x8 pair sums of u (Y0, unsigned) · x (at xm).
#define UX_AVX2(xm, dst) \
	VMOVDQU    xm, Y2         \
	VPMADDUBSW Y2, Y0, Y0     \
	VPMADDWD   lones16<>(SB), Y0, dst

// UCX_AVX2: dst = int32x8 pair sums of (u − c)·x, c the bytes in Y12.
#define UCX_AVX2(xm, dst) \
	VMOVDQU    xm, Y2         \
	VPMADDUBSW Y2, Y0, Y0     \
	VPMADDUBSW Y2, Y12, Y1    \
	VPSUBW     Y1, Y0, Y0     \
	VPMADDWD   lones16<>(SB), Y0, dst

// WX_AVX2: dst = int32x8 pair sums of w (Y0, signed, never −128) · x: |x| times w·sign(x).
#define WX_AVX2(xm, dst) \
	VMOVDQU    xm, Y2         \
	VPSIGNB    Y2, Y0, Y0     \
	VPABSB     Y2, Y2         \
	VPMADDUBSW Y0, Y2, Y0     \
	VPMADDWD   lones16<>(SB), Y0, dst

#define UX_VNNI(xm, dst) \
	VMOVDQU  xm, Y2         \
	VPXOR    dst, dst, dst  \
	VPDPBUSD Y2, Y0, dst

#define WX_VNNI(xm, dst) \
	VMOVDQU  xm, Y2         \
	VPSIGNB  Y2, Y0, Y0     \
	VPABSB   Y2, Y2         \
	VPXOR    dst, dst, dst  \
	VPDPBUSD Y0, Y2, dst

// UCX_VNNI: dst = int32x8 sums of (u − c)·x as WX_VNNI of w = u − c.
#define UCX_VNNI(xm, dst) \
	VPSUBB   Y12, Y0, Y0    \
	WX_VNNI(xm, dst)

// HSUM8 sums each of Y3..Y10 horizontally into lane k of Y11 (k = 0..7 in register order).
#define HSUM8 \
	VPHADDD    Y4, Y3, Y3         \
	VPHADDD    Y6, Y5, Y5         \
	VPHADDD    Y8, Y7, Y7         \
	VPHADDD    Y10, Y9, Y9        \
	VPHADDD    Y5, Y3, Y3         \
	VPHADDD    Y9, Y7, Y7         \
	VPERM2I128 $0x20, Y7, Y3, Y11 \
	VPERM2I128 $0x31, Y7, Y3, Y0  \
	VPADDD     Y0, Y11, Y11

// GATHER16(o, r, s, dst) widens the 8 fp16 values at o + s·k (k = 0..7) from r into the float32x8 dst.
#define GATHER16(o, r, s, dst) \
	MOVWLZX   o(r), AX                \
	VMOVD     AX, X0                  \
	VPINSRW   $1, (o+1*s)(r), X0, X0  \
	VPINSRW   $2, (o+2*s)(r), X0, X0  \
	VPINSRW   $3, (o+3*s)(r), X0, X0  \
	VPINSRW   $4, (o+4*s)(r), X0, X0  \
	VPINSRW   $5, (o+5*s)(r), X0, X0  \
	VPINSRW   $6, (o+6*s)(r), X0, X0  \
	VPINSRW   $7, (o+7*s)(r), X0, X0  \
	VCVTPH2PS X0, dst

// ADD4(p, acc, t) adds lanes 0, 1, 2, 3 of p to acc[0], in that order (t is scratch).
#define ADD4(p, acc, t) \
	VADDSS    p, acc, acc \
	VMOVSHDUP p, t        \
	VADDSS    t, acc, acc \
	VMOVHLPS  p, p, t     \
	VADDSS    t, acc, acc \
	VPERMILPS $3, p, t    \
	VADDSS    t, acc, acc

// HSUM1 sums the int32x8 Y3 into a float32 in X3.
#define HSUM1 \
	VEXTRACTI128 $1, Y3, X1   \
	VPADDD       X1, X3, X3   \
	VPSHUFD      $0x4e, X3, X1 \
	VPADDD       X1, X3, X3   \
	VPSHUFD      $0xb1, X3, X1 \
	VPADDD       X1, X3, X3   \
	VCVTDQ2PS    X3, X3

// HSUMF8 adds the float32x8 Y14 into X0 as ggml's hsum_float_8: upper half plus lower half, then
// (r0 + r2) + (r1 + r3).
#define HSUMF8 \
	VEXTRACTF128 $1, Y14, X0 \
	VADDPS       X14, X0, X0 \
	VMOVHLPS     X0, X0, X1  \
	VADDPS       X1, X0, X0  \
	VMOVSHDUP    X0, X1      \
	VADDSS       X1, X0, X0

// F16S(m, dst) widens the fp16 value at m into the float32 dst.
#define F16S(m, dst) \
	MOVWLZX   m, AX   \
	VMOVD     AX, dst \
	VCVTPH2PS dst, dst

// func dotQ40AVX2(w, x []byte, nb int) float32
TEXT ·dotQ40AVX2(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	VXORPS X14, X14, X14
	VMOVDQU lmask0f<>(SB), Y13
	VMOVDQU leights<>(SB), Y12
	CMPQ   CX, $8
	JB     dotQ40AVX2tail

dotQ40AVX2group:
	PREFETCHT0 1728(SI)
	PREFETCHT0 1792(SI)
	PREFETCHT0 1856(SI)
	NIBBLES((0+2)(SI))
	UCX_AVX2((0+2)(DI), Y3)
	NIBBLES((18+2)(SI))
	UCX_AVX2((34+2)(DI), Y4)
	NIBBLES((36+2)(SI))
	UCX_AVX2((68+2)(DI), Y5)
	NIBBLES((54+2)(SI))
	UCX_AVX2((102+2)(DI), Y6)
	NIBBLES((72+2)(SI))
	UCX_AVX2((136+2)(DI), Y7)
	NIBBLES((90+2)(SI))
	UCX_AVX2((170+2)(DI), Y8)
	NIBBLES((108+2)(SI))
	UCX_AVX2((204+2)(DI), Y9)
	NIBBLES((126+2)(SI))
	UCX_AVX2((238+2)(DI), Y10)
	HSUM8
	GATHER16(0, SI, 18, Y3)
	GATHER16(0, DI, 34, Y4)
	VMULPS    Y4, Y3, Y3
	VCVTDQ2PS Y11, Y11
	VMULPS    Y3, Y11, Y11
	ADD4(X11, X14, X0)
	VEXTRACTF128 $1, Y11, X11
	ADD4(X11, X14, X0)
	ADDQ $(18*8), SI
	ADDQ $(34*8), DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  dotQ40AVX2group

dotQ40AVX2tail:
	TESTQ CX, CX
	JZ    dotQ40AVX2done
	NIBBLES((0+2)(SI))
	UCX_AVX2((0+2)(DI), Y3)
	HSUM1
	F16S((SI), X4)
	F16S((DI), X5)
	VMULSS X5, X4, X4
	VMULSS X4, X3, X3
	VADDSS X3, X14, X14
	ADDQ  $18, SI
	ADDQ  $34, DI
	DECQ  CX
	JMP   dotQ40AVX2tail

dotQ40AVX2done:
	VZEROUPPER
	MOVSS X14, ret+56(FP)
	RET

// func dotQ40VNNI(w, x []byte, nb int) float32
TEXT ·dotQ40VNNI(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	VXORPS X14, X14, X14
	VMOVDQU lmask0f<>(SB), Y13
	VMOVDQU leights<>(SB), Y12
	CMPQ   CX, $8
	JB     dotQ40VNNItail

dotQ40VNNIgroup:
	PREFETCHT0 1728(SI)
	PREFETCHT0 1792(SI)
	PREFETCHT0 1856(SI)
	NIBBLES((0+2)(SI))
	UCX_VNNI((0+2)(DI), Y3)
	NIBBLES((18+2)(SI))
	UCX_VNNI((34+2)(DI), Y4)
	NIBBLES((36+2)(SI))
	UCX_VNNI((68+2)(DI), Y5)
	NIBBLES((54+2)(SI))
	UCX_VNNI((102+2)(DI), Y6)
	NIBBLES((72+2)(SI))
	UCX_VNNI((136+2)(DI), Y7)
	NIBBLES((90+2)(SI))
	UCX_VNNI((170+2)(DI), Y8)
	NIBBLES((108+2)(SI))
	UCX_VNNI((204+2)(DI), Y9)
	NIBBLES((126+2)(SI))
	UCX_VNNI((238+2)(DI), Y10)
	HSUM8
	GATHER16(0, SI, 18, Y3)
	GATHER16(0, DI, 34, Y4)
	VMULPS    Y4, Y3, Y3
	VCVTDQ2PS Y11, Y11
	VMULPS    Y3, Y11, Y11
	ADD4(X11, X14, X0)
	VEXTRACTF128 $1, Y11, X11
	ADD4(X11, X14, X0)
	ADDQ $(18*8), SI
	ADDQ $(34*8), DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  dotQ40VNNIgroup

dotQ40VNNItail:
	TESTQ CX, CX
	JZ    dotQ40VNNIdone
	NIBBLES((0+2)(SI))
	UCX_VNNI((0+2)(DI), Y3)
	HSUM1
	F16S((SI), X4)
	F16S((DI), X5)
	VMULSS X5, X4, X4
	VMULSS X4, X3, X3
	VADDSS X3, X14, X14
	ADDQ  $18, SI
	ADDQ  $34, DI
	DECQ  CX
	JMP   dotQ40VNNItail

dotQ40VNNIdone:
	VZEROUPPER
	MOVSS X14, ret+56(FP)
	RET

// func dotQ40VecAVX2(w, x []byte, nb int) float32
TEXT ·dotQ40VecAVX2(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	VXORPS Y14, Y14, Y14
	VMOVDQU lmask0f<>(SB), Y13
	VMOVDQU leights<>(SB), Y12

dotQ40VecAVX2block:
	TESTQ CX, CX
	JZ    dotQ40VecAVX2done
	NIBBLES((0+2)(SI))
	UCX_AVX2((0+2)(DI), Y3)
	VCVTDQ2PS Y3, Y3
	F16S((SI), X4)
	F16S((DI), X5)
	VMULSS       X5, X4, X4
	VBROADCASTSS X4, Y4
	VFMADD231PS  Y3, Y4, Y14
	ADDQ  $18, SI
	ADDQ  $34, DI
	DECQ  CX
	JMP   dotQ40VecAVX2block

dotQ40VecAVX2done:
	HSUMF8
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET

// func dotQ40VecVNNI(w, x []byte, nb int) float32
TEXT ·dotQ40VecVNNI(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	VXORPS Y14, Y14, Y14
	VMOVDQU lmask0f<>(SB), Y13
	VMOVDQU leights<>(SB), Y12

dotQ40VecVNNIblock:
	TESTQ CX, CX
	JZ    dotQ40VecVNNIdone
	NIBBLES((0+2)(SI))
	UCX_VNNI((0+2)(DI), Y3)
	VCVTDQ2PS Y3, Y3
	F16S((SI), X4)
	F16S((DI), X5)
	VMULSS       X5, X4, X4
	VBROADCASTSS X4, Y4
	VFMADD231PS  Y3, Y4, Y14
	ADDQ  $18, SI
	ADDQ  $34, DI
	DECQ  CX
	JMP   dotQ40VecVNNIblock

dotQ40VecVNNIdone:
	HSUMF8
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET

// func dotQ41AVX2(w, x []byte, nb int) float32
TEXT ·dotQ41AVX2(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	VXORPS Y14, Y14, Y14
	VXORPS X12, X12, X12
	VMOVDQU lmask0f<>(SB), Y13

dotQ41AVX2block:
	TESTQ CX, CX
	JZ    dotQ41AVX2done
	NIBBLES(4(SI))
	UX_AVX2(4(DI), Y3)
	VCVTDQ2PS Y3, Y3
	F16S((SI), X4)
	F16S((DI), X5)
	VMULSS       X5, X4, X4
	VBROADCASTSS X4, Y4
	VFMADD231PS  Y3, Y4, Y14
	F16S(2(SI), X4)
	F16S(2(DI), X5)
	VFMADD231SS  X5, X4, X12
	ADDQ  $20, SI
	ADDQ  $36, DI
	DECQ  CX
	JMP   dotQ41AVX2block

dotQ41AVX2done:
	HSUMF8
	VADDSS X12, X0, X0
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET

// func dotQ41VNNI(w, x []byte, nb int) float32
TEXT ·dotQ41VNNI(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	VXORPS Y14, Y14, Y14
	VXORPS X12, X12, X12
	VMOVDQU lmask0f<>(SB), Y13

dotQ41VNNIblock:
	TESTQ CX, CX
	JZ    dotQ41VNNIdone
	NIBBLES(4(SI))
	UX_VNNI(4(DI), Y3)
	VCVTDQ2PS Y3, Y3
	F16S((SI), X4)
	F16S((DI), X5)
	VMULSS       X5, X4, X4
	VBROADCASTSS X4, Y4
	VFMADD231PS  Y3, Y4, Y14
	F16S(2(SI), X4)
	F16S(2(DI), X5)
	VFMADD231SS  X5, X4, X12
	ADDQ  $20, SI
	ADDQ  $36, DI
	DECQ  CX
	JMP   dotQ41VNNIblock

dotQ41VNNIdone:
	HSUMF8
	VADDSS X12, X0, X0
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET

// func dotQ50AVX2(w, x []byte, nb int) float32
TEXT ·dotQ50AVX2(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	VXORPS Y14, Y14, Y14
	VMOVDQU lmask0f<>(SB), Y13
	VMOVDQU lsixteens<>(SB), Y12
	VPCMPEQB Y15, Y15, Y15

dotQ50AVX2block:
	TESTQ CX, CX
	JZ    dotQ50AVX2done
	PREFETCHT0 1024(SI)
	NIBBLES((0+6)(SI))
	HIGHBITS((0+2)(SI))
	UCX_AVX2((0+2)(DI), Y3)
	VCVTDQ2PS Y3, Y3
	F16S((SI), X4)
	F16S((DI), X5)
	VMULSS       X5, X4, X4
	VBROADCASTSS X4, Y4
	VFMADD231PS  Y3, Y4, Y14
	ADDQ  $22, SI
	ADDQ  $34, DI
	DECQ  CX
	JMP   dotQ50AVX2block

dotQ50AVX2done:
	HSUMF8
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET

// func dotQ50VNNI(w, x []byte, nb int) float32
TEXT ·dotQ50VNNI(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	VXORPS Y14, Y14, Y14
	VMOVDQU lmask0f<>(SB), Y13
	VMOVDQU lsixteens<>(SB), Y12
	VPCMPEQB Y15, Y15, Y15

dotQ50VNNIblock:
	TESTQ CX, CX
	JZ    dotQ50VNNIdone
	PREFETCHT0 1024(SI)
	NIBBLES((0+6)(SI))
	HIGHBITS((0+2)(SI))
	UCX_VNNI((0+2)(DI), Y3)
	VCVTDQ2PS Y3, Y3
	F16S((SI), X4)
	F16S((DI), X5)
	VMULSS       X5, X4, X4
	VBROADCASTSS X4, Y4
	VFMADD231PS  Y3, Y4, Y14
	ADDQ  $22, SI
	ADDQ  $34, DI
	DECQ  CX
	JMP   dotQ50VNNIblock

dotQ50VNNIdone:
	HSUMF8
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET

// func dotQ51AVX2(w, x []byte, nb int) float32
TEXT ·dotQ51AVX2(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	VXORPS Y14, Y14, Y14
	VXORPS X12, X12, X12
	VMOVDQU lmask0f<>(SB), Y13
	VPCMPEQB Y15, Y15, Y15

dotQ51AVX2block:
	TESTQ CX, CX
	JZ    dotQ51AVX2done
	NIBBLES(8(SI))
	HIGHBITS(4(SI))
	UX_AVX2(4(DI), Y3)
	VCVTDQ2PS Y3, Y3
	F16S((SI), X4)
	F16S((DI), X5)
	VMULSS       X5, X4, X4
	VBROADCASTSS X4, Y4
	VFMADD231PS  Y3, Y4, Y14
	F16S(2(SI), X4)
	F16S(2(DI), X5)
	VFMADD231SS  X5, X4, X12
	ADDQ  $24, SI
	ADDQ  $36, DI
	DECQ  CX
	JMP   dotQ51AVX2block

dotQ51AVX2done:
	HSUMF8
	VADDSS X12, X0, X0
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET

// func dotQ51VNNI(w, x []byte, nb int) float32
TEXT ·dotQ51VNNI(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	VXORPS Y14, Y14, Y14
	VXORPS X12, X12, X12
	VMOVDQU lmask0f<>(SB), Y13
	VPCMPEQB Y15, Y15, Y15

dotQ51VNNIblock:
	TESTQ CX, CX
	JZ    dotQ51VNNIdone
	NIBBLES(8(SI))
	HIGHBITS(4(SI))
	UX_VNNI(4(DI), Y3)
	VCVTDQ2PS Y3, Y3
	F16S((SI), X4)
	F16S((DI), X5)
	VMULSS       X5, X4, X4
	VBROADCASTSS X4, Y4
	VFMADD231PS  Y3, Y4, Y14
	F16S(2(SI), X4)
	F16S(2(DI), X5)
	VFMADD231SS  X5, X4, X12
	ADDQ  $24, SI
	ADDQ  $36, DI
	DECQ  CX
	JMP   dotQ51VNNIblock

dotQ51VNNIdone:
	HSUMF8
	VADDSS X12, X0, X0
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET

// func dotIQ4NLAVX2(w, x []byte, nb int) float32
TEXT ·dotIQ4NLAVX2(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	VXORPS X14, X14, X14
	VMOVDQU lmask0f<>(SB), Y13
	VMOVDQU liq4nl<>(SB), Y12
	CMPQ   CX, $8
	JB     dotIQ4NLAVX2tail

dotIQ4NLAVX2group:
	PREFETCHT0 1728(SI)
	PREFETCHT0 1792(SI)
	PREFETCHT0 1856(SI)
	NIBBLES((0+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_AVX2((0+2)(DI), Y3)
	NIBBLES((18+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_AVX2((34+2)(DI), Y4)
	NIBBLES((36+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_AVX2((68+2)(DI), Y5)
	NIBBLES((54+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_AVX2((102+2)(DI), Y6)
	NIBBLES((72+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_AVX2((136+2)(DI), Y7)
	NIBBLES((90+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_AVX2((170+2)(DI), Y8)
	NIBBLES((108+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_AVX2((204+2)(DI), Y9)
	NIBBLES((126+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_AVX2((238+2)(DI), Y10)
	HSUM8
	GATHER16(0, SI, 18, Y3)
	GATHER16(0, DI, 34, Y4)
	VMULPS    Y4, Y3, Y3
	VCVTDQ2PS Y11, Y11
	VMULPS    Y3, Y11, Y11
	ADD4(X11, X14, X0)
	VEXTRACTF128 $1, Y11, X11
	ADD4(X11, X14, X0)
	ADDQ $(18*8), SI
	ADDQ $(34*8), DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  dotIQ4NLAVX2group

dotIQ4NLAVX2tail:
	TESTQ CX, CX
	JZ    dotIQ4NLAVX2done
	NIBBLES((0+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_AVX2((0+2)(DI), Y3)
	HSUM1
	F16S((SI), X4)
	F16S((DI), X5)
	VMULSS X5, X4, X4
	VMULSS X4, X3, X3
	VADDSS X3, X14, X14
	ADDQ  $18, SI
	ADDQ  $34, DI
	DECQ  CX
	JMP   dotIQ4NLAVX2tail

dotIQ4NLAVX2done:
	VZEROUPPER
	MOVSS X14, ret+56(FP)
	RET

// func dotIQ4NLVNNI(w, x []byte, nb int) float32
TEXT ·dotIQ4NLVNNI(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	VXORPS X14, X14, X14
	VMOVDQU lmask0f<>(SB), Y13
	VMOVDQU liq4nl<>(SB), Y12
	CMPQ   CX, $8
	JB     dotIQ4NLVNNItail

dotIQ4NLVNNIgroup:
	PREFETCHT0 1728(SI)
	PREFETCHT0 1792(SI)
	PREFETCHT0 1856(SI)
	NIBBLES((0+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_VNNI((0+2)(DI), Y3)
	NIBBLES((18+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_VNNI((34+2)(DI), Y4)
	NIBBLES((36+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_VNNI((68+2)(DI), Y5)
	NIBBLES((54+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_VNNI((102+2)(DI), Y6)
	NIBBLES((72+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_VNNI((136+2)(DI), Y7)
	NIBBLES((90+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_VNNI((170+2)(DI), Y8)
	NIBBLES((108+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_VNNI((204+2)(DI), Y9)
	NIBBLES((126+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_VNNI((238+2)(DI), Y10)
	HSUM8
	GATHER16(0, SI, 18, Y3)
	GATHER16(0, DI, 34, Y4)
	VMULPS    Y4, Y3, Y3
	VCVTDQ2PS Y11, Y11
	VMULPS    Y3, Y11, Y11
	ADD4(X11, X14, X0)
	VEXTRACTF128 $1, Y11, X11
	ADD4(X11, X14, X0)
	ADDQ $(18*8), SI
	ADDQ $(34*8), DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  dotIQ4NLVNNIgroup

dotIQ4NLVNNItail:
	TESTQ CX, CX
	JZ    dotIQ4NLVNNIdone
	NIBBLES((0+2)(SI))
	VPSHUFB Y0, Y12, Y0
	WX_VNNI((0+2)(DI), Y3)
	HSUM1
	F16S((SI), X4)
	F16S((DI), X5)
	VMULSS X5, X4, X4
	VMULSS X4, X3, X3
	VADDSS X3, X14, X14
	ADDQ  $18, SI
	ADDQ  $34, DI
	DECQ  CX
	JMP   dotIQ4NLVNNItail

dotIQ4NLVNNIdone:
	VZEROUPPER
	MOVSS X14, ret+56(FP)
	RET
