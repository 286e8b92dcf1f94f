#include "textflag.h"
#include "kq4kvec.h"

// K-quant dot products against one Q8_K activation row (AVX2). Blocks: block_q4_K 144 bytes (fp16 d, fp16
// dmin, 12 bytes of packed 6-bit scales and mins, 128 bytes of nibbles), block_q6_K 210 bytes (ql[128],
// qh[64], int8 scales[16], fp16 d), block_q8_K 292 bytes (float32 d, int8 qs[256], int16 bsums[16]).
//
// Per superblock the integer sum is formed exactly as ggml's AVX2 kernels do: VPMADDUBSW of the unsigned
// weight quants (Q4_K 0..15, Q6_K 0..63) with the int8 activations, whose pair sums stay below
// 2·63·128 < 2^15, then VPMADDWD with the group scale repeated in both words of a dword. Int32 additions
// wrap the same way in any order, so the sum equals the scalar reference's bit for bit; the float part is
// the reference's expression (internal/kernels/kq_dot.go): Q4_K's scale and min parts go to two lanes of
// X10 with one FMA each, as ggml's repacked gemv, and are subtracted at the end.
//
// Registers: SI weights, DI activations, CX superblocks left, X10 the float32
// accumulator, Y15 sixteen 0x0f bytes, Y14 (Q6_K) sixteen 0x30 bytes.

DATA kqnib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqnib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqnib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqnib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL kqnib<>(SB), RODATA|NOPTR, $32

DATA kqhi2<>+0(SB)/8, $0x3030303030303030
DATA kqhi2<>+8(SB)/8, $0x3030303030303030
DATA kqhi2<>+16(SB)/8, $0x3030303030303030
DATA kqhi2<>+24(SB)/8, $0x3030303030303030
GLOBL kqhi2<>(SB), RODATA|NOPTR, $32

// q4shuf holds eight VPSHUFB masks; mask j spreads word j of each 128-bit lane over the lane (ggml's
// get_scale_shuffle_k4).
DATA q4shuf<>+0(SB)/8, $0x0100010001000100
DATA q4shuf<>+8(SB)/8, $0x0100010001000100
DATA q4shuf<>+16(SB)/8, $0x0100010001000100
DATA q4shuf<>+24(SB)/8, $0x0100010001000100
DATA q4shuf<>+32(SB)/8, $0x0302030203020302
DATA q4shuf<>+40(SB)/8, $0x0302030203020302
DATA q4shuf<>+48(SB)/8, $0x0302030203020302
DATA q4shuf<>+56(SB)/8, $0x0302030203020302
DATA q4shuf<>+64(SB)/8, $0x0504050405040504
DATA q4shuf<>+72(SB)/8, $0x0504050405040504
DATA q4shuf<>+80(SB)/8, $0x0504050405040504
DATA q4shuf<>+88(SB)/8, $0x0504050405040504
DATA q4shuf<>+96(SB)/8, $0x0706070607060706
DATA q4shuf<>+104(SB)/8, $0x0706070607060706
DATA q4shuf<>+112(SB)/8, $0x0706070607060706
DATA q4shuf<>+120(SB)/8, $0x0706070607060706
DATA q4shuf<>+128(SB)/8, $0x0908090809080908
DATA q4shuf<>+136(SB)/8, $0x0908090809080908
DATA q4shuf<>+144(SB)/8, $0x0908090809080908
DATA q4shuf<>+152(SB)/8, $0x0908090809080908
DATA q4shuf<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q4shuf<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q4shuf<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q4shuf<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q4shuf<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q4shuf<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q4shuf<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q4shuf<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q4shuf<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q4shuf<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q4shuf<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q4shuf<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL q4shuf<>(SB), RODATA|NOPTR, $256

// q6shuf holds four VPSHUFB masks; mask k spreads word 2k of each 128-bit lane over the low lane and word
// 2k+1 over the high lane: the scales of elements 32k..32k+15 and 32k+16..32k+31 of a 128-element half.
DATA q6shuf<>+0(SB)/8, $0x0100010001000100
DATA q6shuf<>+8(SB)/8, $0x0100010001000100
DATA q6shuf<>+16(SB)/8, $0x0302030203020302
DATA q6shuf<>+24(SB)/8, $0x0302030203020302
DATA q6shuf<>+32(SB)/8, $0x0504050405040504
DATA q6shuf<>+40(SB)/8, $0x0504050405040504
DATA q6shuf<>+48(SB)/8, $0x0706070607060706
DATA q6shuf<>+56(SB)/8, $0x0706070607060706
DATA q6shuf<>+64(SB)/8, $0x0908090809080908
DATA q6shuf<>+72(SB)/8, $0x0908090809080908
DATA q6shuf<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q6shuf<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q6shuf<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q6shuf<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q6shuf<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q6shuf<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL q6shuf<>(SB), RODATA|NOPTR, $128

// Q4_SCALES(wr, wo, xo, mins) unpacks the scales and mins of the block_q4_K at wo(wr) (get_scale_min_k4,
// as ggml's utmp shuffle): Y14 gets the eight scales as words, repeated in both 128-bit lanes, and mins
// the eight m_j·(bsums[2j]+bsums[2j+1]) of the activation block at xo(DI).
#define Q4_SCALES(wr, wo, xo, mins) \
	MOVL         (4+wo)(wr), AX     \
	MOVL         (8+wo)(wr), BX     \
	MOVL         (12+wo)(wr), DX    \
	MOVL         AX, R8             \
	SHRL         $2, R8             \
	ANDL         $0x30303030, R8    \
	ANDL         $0x3f3f3f3f, AX    \
	MOVL         DX, R9             \
	ANDL         $0x0f0f0f0f, R9    \
	ORL          R8, R9             \
	MOVL         BX, R10            \
	SHRL         $2, R10            \
	ANDL         $0x30303030, R10   \
	ANDL         $0x3f3f3f3f, BX    \
	SHRL         $4, DX             \
	ANDL         $0x0f0f0f0f, DX    \
	ORL          R10, DX            \
	SHLQ         $32, R9            \
	ORQ          R9, AX             \
	SHLQ         $32, DX            \
	ORQ          DX, BX             \
	VMOVQ        AX, X0             \
	VPMOVZXBW    X0, X0             \
	VPERMQ       $0x44, Y0, Y14     \
	VMOVQ        BX, X1             \
	VPMOVZXBD    X1, Y1             \
	VPSLLD       $16, Y1, Y2        \
	VPOR         Y2, Y1, Y1         \
	VPMADDWD     (260+xo)(DI), Y1, mins

// Q4_PAIR(wr, wo, xo, c) leaves in Y2 the int32x8 partial sums of groups 2c and 2c+1 (the low and high
// nibbles of bytes 32c..32c+31) of the blocks at wo(wr) and xo(DI), each scaled by its group scale.
#define Q4_PAIR(wr, wo, xo, c) \
	VMOVDQU      (16+32*c+wo)(wr), Y2     \
	VPSRLW       $4, Y2, Y3               \
	VPAND        Y15, Y2, Y2              \
	VPAND        Y15, Y3, Y3              \
	VPMADDUBSW   (4+64*c+xo)(DI), Y2, Y2  \
	VPMADDUBSW   (36+64*c+xo)(DI), Y3, Y3 \
	VPSHUFB      q4shuf<>+(64*c)(SB), Y14, Y4    \
	VPSHUFB      q4shuf<>+(64*c+32)(SB), Y14, Y5 \
	VPMADDWD     Y4, Y2, Y2               \
	VPMADDWD     Y5, Y3, Y3               \
	VPADDD       Y3, Y2, Y2

// Q4_FINISH(wr, acc) folds sumi (Y12) and summ (Y13) and adds them to the two lanes of acc as ggml's
// repacked gemv does: acc[0] = fma(float32(sumi), d, acc[0]), acc[1] = fma(float32(summ), dm, acc[1]).
#define Q4_FINISH(wr, acc) \
	VPHADDD      Y13, Y12, Y0      \
	VEXTRACTI128 $1, Y0, X1        \
	VPADDD       X1, X0, X0        \
	VPHADDD      X0, X0, X0        \
	VCVTDQ2PS    X0, X0            \
	VMOVD        (wr), X1          \
	VCVTPH2PS    X1, X1            \
	VBROADCASTSS (DI), X2          \
	VMULPS       X2, X1, X1        \
	VFMADD231PS  X1, X0, acc

// Q4_SUMS(wr, wo, xo, sumi, mins) leaves sumi and the eight min terms of the blocks at wo(wr) and xo(DI)
// in sumi and mins.
#define Q4_SUMS(wr, wo, xo, sumi, mins) \
	Q4_SCALES(wr, wo, xo, mins)   \
	Q4_PAIR(wr, wo, xo, 0)        \
	VMOVDQA Y2, sumi              \
	Q4_PAIR(wr, wo, xo, 1)        \
	VPADDD  Y2, sumi, sumi        \
	Q4_PAIR(wr, wo, xo, 2)        \
	VPADDD  Y2, sumi, sumi        \
	Q4_PAIR(wr, wo, xo, 3)        \
	VPADDD  Y2, sumi, sumi

// Q4_BLOCK(wr, acc) adds one Q4_K superblock at wr times the Q8_K block at DI to acc.
#define Q4_BLOCK(wr, acc) \
	Q4_SUMS(wr, 0, 0, Y12, Y13) \
	Q4_FINISH(wr, acc)

// Q4_BLOCKS(wr, acc) adds two superblocks, at wr and wr+144 against DI and DI+292, to the two lanes of
// acc as Q4_FINISH (first one, then the other), folding both integer sums in one set of instructions
// (lanes 2 and 3 of acc collect values that are never read).
#define Q4_BLOCKS(wr, acc) \
	Q4_SUMS(wr, 0, 0, Y12, Y13)      \
	Q4_SUMS(wr, 144, 292, Y6, Y7)    \
	VPHADDD      Y13, Y12, Y0        \
	VPHADDD      Y7, Y6, Y1          \
	VPHADDD      Y1, Y0, Y0          \
	VEXTRACTI128 $1, Y0, X1          \
	VPADDD       X1, X0, X0          \
	VCVTDQ2PS    X0, X0              \
	VMOVD        (wr), X1            \
	VPINSRD      $1, 144(wr), X1, X1 \
	VCVTPH2PS    X1, X1              \
	VMOVD        (DI), X2            \
	VPINSRD      $2, 292(DI), X2, X2 \
	VMOVSLDUP    X2, X2              \
	VMULPS       X2, X1, X1          \
	VFMADD231PS  X1, X0, acc         \
	VMOVHLPS     X0, X0, X0          \
	VMOVHLPS     X1, X1, X1          \
	VFMADD231PS  X1, X0, acc

// func dotQ4KAVX2(w, x []byte, nb int) float32
TEXT ·dotQ4KAVX2(SB), NOSPLIT, $0-60
	MOVQ    w_base+0(FP), SI
	MOVQ    x_base+24(FP), DI
	MOVQ    nb+48(FP), CX
	VMOVDQU kqnib<>(SB), Y15
	VXORPS  X10, X10, X10

	CMPQ    CX, $2
	JB      q4tail

q4loop:
	PREFETCHT0 3072(SI)
	PREFETCHT0 3136(SI)
	PREFETCHT0 3200(SI)
	PREFETCHT0 3264(SI)
	PREFETCHT0 3328(SI)
	Q4_BLOCKS(SI, X10)
	ADDQ $288, SI
	ADDQ $584, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JAE  q4loop

q4tail:
	TESTQ CX, CX
	JZ    q4done
	Q4_BLOCK(SI, X10)

q4done:
	VMOVSHDUP X10, X1
	VSUBSS    X1, X10, X10
	VZEROUPPER
	MOVSS X10, ret+56(FP)
	RET

// func dotQ4KVecAVX2(w, x []byte, nb int) float32
// ggml_vec_dot_q4_K_q8_K's x86 order: Y10 the eight lanes of sumi, each fma(d, float32(lane), ·) per
// superblock; X11 the four min lanes, fma(−dm, float32(m_{2i}·q8s_{2i} + m_{2i+1}·q8s_{2i+1}), ·); then
// hsum_float_8 of Y10 plus (m0 + m2) + (m1 + m3). The int32 lanes are ggml's: VPMADDUBSW then VPMADDWD
// of each 32-byte half group leave in dword k the scaled products of bytes 4k..4k+3.
TEXT ·dotQ4KVecAVX2(SB), NOSPLIT, $0-60
	MOVQ    w_base+0(FP), SI
	MOVQ    x_base+24(FP), DI
	MOVQ    nb+48(FP), CX
	VMOVDQU kqnib<>(SB), Y15
	VXORPS  Y10, Y10, Y10
	VXORPS  X11, X11, X11

q4vloop:
	PREFETCHT0 1536(SI)
	PREFETCHT0 1600(SI)
	PREFETCHT0 1664(SI)
	Q4_SUMS(SI, 0, 0, Y12, Y13)
	Q4K_VEC_FLOAT
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q4vloop

	Q4K_VEC_SUM
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET

// The Q6_K kernel keeps the eight float32 lanes of ggml's AVX2 Q6_K dot in Y10 (one VFMADD231PS per
// superblock) and sums them at the end as hsum_float_8.

// Q6_HALF(wr, h, scl) adds to Y13 the scaled partial sums of elements 128h..128h+127: ql at 64h, qh at
// 128+32h; scl holds that half's eight scales as words, repeated in both 128-bit lanes.
#define Q6_HALF(wr, h, scl) \
	VMOVDQU    (64*h)(wr), Y2                \
	VMOVDQU    (64*h+32)(wr), Y3             \
	VMOVDQU    (128+32*h)(wr), Y4            \
	VPAND      Y15, Y2, Y5                   \
	VPSLLW     $4, Y4, Y6                    \
	VPAND      Y14, Y6, Y6                   \
	VPOR       Y6, Y5, Y5                    \
	VPAND      Y15, Y3, Y6                   \
	VPSLLW     $2, Y4, Y7                    \
	VPAND      Y14, Y7, Y7                   \
	VPOR       Y7, Y6, Y6                    \
	VPSRLW     $4, Y2, Y2                    \
	VPAND      Y15, Y2, Y2                   \
	VPAND      Y14, Y4, Y7                   \
	VPOR       Y7, Y2, Y2                    \
	VPSRLW     $4, Y3, Y3                    \
	VPAND      Y15, Y3, Y3                   \
	VPSRLW     $2, Y4, Y4                    \
	VPAND      Y14, Y4, Y4                   \
	VPOR       Y4, Y3, Y3                    \
	VPMADDUBSW (4+128*h)(DI), Y5, Y5         \
	VPMADDUBSW (4+128*h+32)(DI), Y6, Y6      \
	VPMADDUBSW (4+128*h+64)(DI), Y2, Y2      \
	VPMADDUBSW (4+128*h+96)(DI), Y3, Y3      \
	VPSHUFB    q6shuf<>+0(SB), scl, Y7       \
	VPMADDWD   Y7, Y5, Y5                    \
	VPSHUFB    q6shuf<>+32(SB), scl, Y8      \
	VPMADDWD   Y8, Y6, Y6                    \
	VPSHUFB    q6shuf<>+64(SB), scl, Y7      \
	VPMADDWD   Y7, Y2, Y2                    \
	VPSHUFB    q6shuf<>+96(SB), scl, Y8      \
	VPMADDWD   Y8, Y3, Y3                    \
	VPADDD     Y6, Y5, Y5                    \
	VPADDD     Y3, Y2, Y2                    \
	VPADDD     Y5, Y13, Y13                  \
	VPADDD     Y2, Y13, Y13

// Q6_BLOCK(wr, acc) adds one Q6_K superblock at wr times the Q8_K block at DI to the float32x8 acc, in
// ggml's AVX2 order: Y13 starts at −32·(bsums[2k]·s_2k + bsums[2k+1]·s_2k+1) in lane k and collects the
// scaled pair sums, then acc = fma(x.d·fp16(w.d), float32(Y13), acc) lane by lane.
#define Q6_BLOCK(wr, acc) \
	VPMOVSXBW    192(wr), Y0       \
	VPMADDWD     260(DI), Y0, Y1   \
	VPSLLD       $5, Y1, Y1        \
	VPXOR        Y13, Y13, Y13     \
	VPSUBD       Y1, Y13, Y13      \
	VPERMQ       $0x44, Y0, Y9     \
	VPERMQ       $0xee, Y0, Y12    \
	Q6_HALF(wr, 0, Y9)             \
	Q6_HALF(wr, 1, Y12)            \
	VCVTDQ2PS    Y13, Y13          \
	MOVWLZX      208(wr), AX       \
	VMOVD        AX, X1            \
	VCVTPH2PS    X1, X1            \
	VMULSS       (DI), X1, X1      \
	VBROADCASTSS X1, Y1            \
	VFMADD231PS  Y13, Y1, acc

// func dotQ6KAVX2(w, x []byte, nb int) float32
TEXT ·dotQ6KAVX2(SB), NOSPLIT, $0-60
	MOVQ    w_base+0(FP), SI
	MOVQ    x_base+24(FP), DI
	MOVQ    nb+48(FP), CX
	VMOVDQU kqnib<>(SB), Y15
	VMOVDQU kqhi2<>(SB), Y14
	VXORPS  Y10, Y10, Y10

q6loop:
	PREFETCHT0 3072(SI)
	PREFETCHT0 3136(SI)
	PREFETCHT0 3200(SI)
	PREFETCHT0 3264(SI)
	Q6_BLOCK(SI, Y10)
	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q6loop

	// hsum_float_8: upper half plus lower half, then (r0 + r2) + (r1 + r3).
	VEXTRACTF128 $1, Y10, X0
	VADDPS       X10, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET
