#include "textflag.h"
#include "kq4kvec.h"

// K-quant dot products against one Q8_K activation row on AVX-512 (BW, VL, VNNI), 512-bit registers. Same
// blocks, integer sums and float expressions as kq_amd64.s (so bit for bit the scalar references), with
// fewer instructions per superblock:
//
//   - Q4_K: each 32-byte row of nibbles is broadcast to both halves of a ZMM, VPSRLVW shifts the high half
//     by 4, so one VPAND gives 64 elements in order against 64 contiguous activations; VPERMW spreads the
//     two group scales over the halves and VPDPWSSD multiplies and accumulates.
//   - Q6_K: 64 bytes of ql hold 64 consecutive low nibbles, and after a word shift by 4, the next 64 high
//     nibbles; qh is broadcast to both halves, shifted per half (VPSLLVW, VPSRLVW), masked to bits 4-5 and
//     merged with VPTERNLOGD (select by the 0x0f mask). VPERMW spreads one scale per 128-bit lane.
//
// The loops prefetch the weights 8 KB ahead (rather than 3 KB: a 8960×1536 MatVec from memory, one thread,
// Q4_K 386 → 340 µs, Q6_K 605 → 556 µs, min of 6 on a noisy machine).
//
// Registers: SI weights, DI activations, CX superblocks left, X10 the float32
// accumulator, Z15 64 bytes of 0x0f, Z14 (Q6_K) 64 bytes of 0x30, Z16..Z23 shift counts and indices.

// kqnib5: 64 bytes of 0x0f; kqhi5: 64 bytes of 0x30.
DATA kqnib5<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqnib5<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqnib5<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqnib5<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqnib5<>+32(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqnib5<>+40(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqnib5<>+48(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA kqnib5<>+56(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL kqnib5<>(SB), RODATA|NOPTR, $64

DATA kqhi5<>+0(SB)/8, $0x3030303030303030
DATA kqhi5<>+8(SB)/8, $0x3030303030303030
DATA kqhi5<>+16(SB)/8, $0x3030303030303030
DATA kqhi5<>+24(SB)/8, $0x3030303030303030
DATA kqhi5<>+32(SB)/8, $0x3030303030303030
DATA kqhi5<>+40(SB)/8, $0x3030303030303030
DATA kqhi5<>+48(SB)/8, $0x3030303030303030
DATA kqhi5<>+56(SB)/8, $0x3030303030303030
GLOBL kqhi5<>(SB), RODATA|NOPTR, $64

// q4srl: word shift counts 0 (low 256 bits) and 4 (high): a nibble byte row broadcast to both halves
// becomes its 32 low nibbles followed by its 32 high nibbles, 64 elements in order.
DATA q4srl<>+0(SB)/8, $0x0000000000000000
DATA q4srl<>+8(SB)/8, $0x0000000000000000
DATA q4srl<>+16(SB)/8, $0x0000000000000000
DATA q4srl<>+24(SB)/8, $0x0000000000000000
DATA q4srl<>+32(SB)/8, $0x0004000400040004
DATA q4srl<>+40(SB)/8, $0x0004000400040004
DATA q4srl<>+48(SB)/8, $0x0004000400040004
DATA q4srl<>+56(SB)/8, $0x0004000400040004
GLOBL q4srl<>(SB), RODATA|NOPTR, $64

// q4perm: VPERMW indices, four vectors; vector c takes scale word 2c into the low 256 bits and 2c+1 into
// the high 256 bits.
DATA q4perm<>+0(SB)/8, $0x0000000000000000
DATA q4perm<>+8(SB)/8, $0x0000000000000000
DATA q4perm<>+16(SB)/8, $0x0000000000000000
DATA q4perm<>+24(SB)/8, $0x0000000000000000
DATA q4perm<>+32(SB)/8, $0x0001000100010001
DATA q4perm<>+40(SB)/8, $0x0001000100010001
DATA q4perm<>+48(SB)/8, $0x0001000100010001
DATA q4perm<>+56(SB)/8, $0x0001000100010001
DATA q4perm<>+64(SB)/8, $0x0002000200020002
DATA q4perm<>+72(SB)/8, $0x0002000200020002
DATA q4perm<>+80(SB)/8, $0x0002000200020002
DATA q4perm<>+88(SB)/8, $0x0002000200020002
DATA q4perm<>+96(SB)/8, $0x0003000300030003
DATA q4perm<>+104(SB)/8, $0x0003000300030003
DATA q4perm<>+112(SB)/8, $0x0003000300030003
DATA q4perm<>+120(SB)/8, $0x0003000300030003
DATA q4perm<>+128(SB)/8, $0x0004000400040004
DATA q4perm<>+136(SB)/8, $0x0004000400040004
DATA q4perm<>+144(SB)/8, $0x0004000400040004
DATA q4perm<>+152(SB)/8, $0x0004000400040004
DATA q4perm<>+160(SB)/8, $0x0005000500050005
DATA q4perm<>+168(SB)/8, $0x0005000500050005
DATA q4perm<>+176(SB)/8, $0x0005000500050005
DATA q4perm<>+184(SB)/8, $0x0005000500050005
DATA q4perm<>+192(SB)/8, $0x0006000600060006
DATA q4perm<>+200(SB)/8, $0x0006000600060006
DATA q4perm<>+208(SB)/8, $0x0006000600060006
DATA q4perm<>+216(SB)/8, $0x0006000600060006
DATA q4perm<>+224(SB)/8, $0x0007000700070007
DATA q4perm<>+232(SB)/8, $0x0007000700070007
DATA q4perm<>+240(SB)/8, $0x0007000700070007
DATA q4perm<>+248(SB)/8, $0x0007000700070007
GLOBL q4perm<>(SB), RODATA|NOPTR, $256

// q6sll, q6srl: word shift counts that bring qh bits 0-1, 2-3 (left by 4, 2) and 4-5, 6-7 (right by 0, 2)
// to bits 4-5, one pair per 256-bit half.
DATA q6sll<>+0(SB)/8, $0x0004000400040004
DATA q6sll<>+8(SB)/8, $0x0004000400040004
DATA q6sll<>+16(SB)/8, $0x0004000400040004
DATA q6sll<>+24(SB)/8, $0x0004000400040004
DATA q6sll<>+32(SB)/8, $0x0002000200020002
DATA q6sll<>+40(SB)/8, $0x0002000200020002
DATA q6sll<>+48(SB)/8, $0x0002000200020002
DATA q6sll<>+56(SB)/8, $0x0002000200020002
GLOBL q6sll<>(SB), RODATA|NOPTR, $64

DATA q6srl<>+0(SB)/8, $0x0000000000000000
DATA q6srl<>+8(SB)/8, $0x0000000000000000
DATA q6srl<>+16(SB)/8, $0x0000000000000000
DATA q6srl<>+24(SB)/8, $0x0000000000000000
DATA q6srl<>+32(SB)/8, $0x0002000200020002
DATA q6srl<>+40(SB)/8, $0x0002000200020002
DATA q6srl<>+48(SB)/8, $0x0002000200020002
DATA q6srl<>+56(SB)/8, $0x0002000200020002
GLOBL q6srl<>(SB), RODATA|NOPTR, $64

// q6perm: VPERMW indices, four vectors; vector k spreads scale word 4k+i over 128-bit lane i.
DATA q6perm<>+0(SB)/8, $0x0000000000000000
DATA q6perm<>+8(SB)/8, $0x0000000000000000
DATA q6perm<>+16(SB)/8, $0x0001000100010001
DATA q6perm<>+24(SB)/8, $0x0001000100010001
DATA q6perm<>+32(SB)/8, $0x0002000200020002
DATA q6perm<>+40(SB)/8, $0x0002000200020002
DATA q6perm<>+48(SB)/8, $0x0003000300030003
DATA q6perm<>+56(SB)/8, $0x0003000300030003
DATA q6perm<>+64(SB)/8, $0x0004000400040004
DATA q6perm<>+72(SB)/8, $0x0004000400040004
DATA q6perm<>+80(SB)/8, $0x0005000500050005
DATA q6perm<>+88(SB)/8, $0x0005000500050005
DATA q6perm<>+96(SB)/8, $0x0006000600060006
DATA q6perm<>+104(SB)/8, $0x0006000600060006
DATA q6perm<>+112(SB)/8, $0x0007000700070007
DATA q6perm<>+120(SB)/8, $0x0007000700070007
DATA q6perm<>+128(SB)/8, $0x0008000800080008
DATA q6perm<>+136(SB)/8, $0x0008000800080008
DATA q6perm<>+144(SB)/8, $0x0009000900090009
DATA q6perm<>+152(SB)/8, $0x0009000900090009
DATA q6perm<>+160(SB)/8, $0x000a000a000a000a
DATA q6perm<>+168(SB)/8, $0x000a000a000a000a
DATA q6perm<>+176(SB)/8, $0x000b000b000b000b
DATA q6perm<>+184(SB)/8, $0x000b000b000b000b
DATA q6perm<>+192(SB)/8, $0x000c000c000c000c
DATA q6perm<>+200(SB)/8, $0x000c000c000c000c
DATA q6perm<>+208(SB)/8, $0x000d000d000d000d
DATA q6perm<>+216(SB)/8, $0x000d000d000d000d
DATA q6perm<>+224(SB)/8, $0x000e000e000e000e
DATA q6perm<>+232(SB)/8, $0x000e000e000e000e
DATA q6perm<>+240(SB)/8, $0x000f000f000f000f
DATA q6perm<>+248(SB)/8, $0x000f000f000f000f
GLOBL q6perm<>(SB), RODATA|NOPTR, $256

// Q4_SCALES5(wr, wo, xo, mins) unpacks the scales and mins of the block_q4_K at wo(wr)
// (get_scale_min_k4, as ggml's utmp shuffle): Z0 gets the eight scales as words (the VPERMW table) and
// mins the eight m_j·(bsums[2j]+bsums[2j+1]) of the activation block at xo(DI).
#define Q4_SCALES5(wr, wo, xo, mins) \
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
	VMOVQ        BX, X1             \
	VPMOVZXBD    X1, Y1             \
	VPSLLD       $16, Y1, Y2        \
	VPOR         Y2, Y1, Y1         \
	VPMADDWD     (260+xo)(DI), Y1, mins

// Q4_QUAD5(wr, wo, xo, c, idx) leaves in Z2 the 32 word pair sums of elements 64c..64c+63 of the blocks at
// wo(wr) and xo(DI), and in Z3 their scales (VPERMW of Z0 by idx).
#define Q4_QUAD5(wr, wo, xo, c, idx) \
	VBROADCASTI64X4 (16+32*c+wo)(wr), Z2    \
	VPSRLVW         Z16, Z2, Z2             \
	VPANDD          Z15, Z2, Z2             \
	VPMADDUBSW      (4+64*c+xo)(DI), Z2, Z2 \
	VPERMW          Z0, idx, Z3

// Q4_SUMS5(wr, wo, xo, s1, s2, ys, mins) leaves sumi of the blocks at wo(wr) and xo(DI) in ys (the low
// half of s1; s2 is scratch) and their eight min terms in mins.
#define Q4_SUMS5(wr, wo, xo, s1, s2, ys, mins) \
	Q4_SCALES5(wr, wo, xo, mins)     \
	Q4_QUAD5(wr, wo, xo, 0, Z17)     \
	VPMADDWD      Z3, Z2, s1         \
	Q4_QUAD5(wr, wo, xo, 1, Z18)     \
	VPMADDWD      Z3, Z2, s2         \
	Q4_QUAD5(wr, wo, xo, 2, Z19)     \
	VPDPWSSD      Z3, Z2, s1         \
	Q4_QUAD5(wr, wo, xo, 3, Z20)     \
	VPDPWSSD      Z3, Z2, s2         \
	VPADDD        s2, s1, s1         \
	VEXTRACTI64X4 $1, s1, Y1         \
	VPADDD        Y1, ys, ys

// Q4_FINISH5(wr, acc) folds sumi (Y12) and summ (Y13) and adds them to the two lanes of acc as ggml's
// repacked gemv does: acc[0] = fma(float32(sumi), d, acc[0]), acc[1] = fma(float32(summ), dm, acc[1]).
#define Q4_FINISH5(wr, acc) \
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

// Q4_BLOCK5(wr, acc) adds one Q4_K superblock at wr times the Q8_K block at DI to acc.
#define Q4_BLOCK5(wr, acc) \
	Q4_SUMS5(wr, 0, 0, Z12, Z4, Y12, Y13) \
	Q4_FINISH5(wr, acc)

// Q4_BLOCKS5(wr, acc) adds two superblocks, at wr and wr+144 against DI and DI+292, to the two lanes of
// acc as Q4_FINISH5 (first one, then the other), folding both integer sums in one set of instructions
// (lanes 2 and 3 of acc collect values that are never read).
#define Q4_BLOCKS5(wr, acc) \
	Q4_SUMS5(wr, 0, 0, Z12, Z4, Y12, Y13)     \
	Q4_SUMS5(wr, 144, 292, Z5, Z6, Y5, Y7)    \
	VPHADDD      Y13, Y12, Y0                 \
	VPHADDD      Y7, Y5, Y1                   \
	VPHADDD      Y1, Y0, Y0                   \
	VEXTRACTI128 $1, Y0, X1                   \
	VPADDD       X1, X0, X0                   \
	VCVTDQ2PS    X0, X0                       \
	VMOVD        (wr), X1                     \
	VPINSRD      $1, 144(wr), X1, X1          \
	VCVTPH2PS    X1, X1                       \
	VMOVD        (DI), X2                     \
	VPINSRD      $2, 292(DI), X2, X2          \
	VMOVSLDUP    X2, X2                       \
	VMULPS       X2, X1, X1          \
	VFMADD231PS  X1, X0, acc         \
	VMOVHLPS     X0, X0, X0          \
	VMOVHLPS     X1, X1, X1          \
	VFMADD231PS  X1, X0, acc

// Q4_SETUP5 loads the Q4_K constants.
#define Q4_SETUP5 \
	VMOVDQU64 kqnib5<>(SB), Z15      \
	VMOVDQU64 q4srl<>(SB), Z16       \
	VMOVDQU64 q4perm<>+0(SB), Z17    \
	VMOVDQU64 q4perm<>+64(SB), Z18   \
	VMOVDQU64 q4perm<>+128(SB), Z19  \
	VMOVDQU64 q4perm<>+192(SB), Z20

// func dotQ4KVNNI(w, x []byte, nb int) float32
TEXT ·dotQ4KVNNI(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	Q4_SETUP5
	VXORPS X10, X10, X10

	CMPQ   CX, $2
	JB     q4tail5

q4loop5:
	PREFETCHT0 8192(SI)
	PREFETCHT0 8256(SI)
	PREFETCHT0 8320(SI)
	PREFETCHT0 8384(SI)
	PREFETCHT0 8448(SI)
	Q4_BLOCKS5(SI, X10)
	ADDQ $288, SI
	ADDQ $584, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JAE  q4loop5

q4tail5:
	TESTQ CX, CX
	JZ    q4done5
	Q4_BLOCK5(SI, X10)

q4done5:
	VMOVSHDUP X10, X1
	VSUBSS    X1, X10, X10
	VZEROUPPER
	MOVSS X10, ret+56(FP)
	RET

// func dotQ4KVecVNNI(w, x []byte, nb int) float32
// dotQ4KVecAVX2 (kq_amd64.s) with Q4_SUMS5: its lane k adds the dwords k of the low and the high group
// of each 64 elements, ggml's lane k, so the float part is the same instructions (kq4kvec.h) on the same values.
TEXT ·dotQ4KVecVNNI(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	Q4_SETUP5
	VXORPS Y10, Y10, Y10
	VXORPS X11, X11, X11

q4vloop5:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	Q4_SUMS5(SI, 0, 0, Z12, Z4, Y12, Y13)
	Q4K_VEC_FLOAT
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q4vloop5

	Q4K_VEC_SUM
	VZEROUPPER
	MOVSS X0, ret+56(FP)
	RET

// The Q6_K kernel keeps ggml's eight float32 lanes in Y10, as kq_amd64.s's does.

// Q6_HALF5(wr, h, ilo, ihi, acc) multiplies elements 128h..128h+127 (ql at 64h, qh at 128+32h) and
// accumulates their scaled pair sums into acc. VPTERNLOGD $0xd8 keeps the first source's bits where the
// 0x0f mask is set and the destination's elsewhere.
#define Q6_HALF5(wr, h, ilo, ihi, acc) Q6_HALFX5(wr, 0, 0, h, ilo, ihi, acc, Z12)

// Q6_HALFX5(wr, wo, xo, h, ilo, ihi, acc, acc2) is Q6_HALF5 for the blocks at wo(wr) and xo(DI), with the
// second accumulator acc2.
#define Q6_HALFX5(wr, wo, xo, h, ilo, ihi, acc, acc2) \
	VMOVDQU64       (64*h+wo)(wr), Z2           \
	VBROADCASTI64X4 (128+32*h+wo)(wr), Z3       \
	VPSLLVW         Z18, Z3, Z4                 \
	VPSRLVW         Z19, Z3, Z3                 \
	VPANDD          Z14, Z4, Z4                 \
	VPANDD          Z14, Z3, Z3                 \
	VPTERNLOGD      $0xd8, Z15, Z2, Z4          \
	VPSRLW          $4, Z2, Z2                  \
	VPTERNLOGD      $0xd8, Z15, Z2, Z3          \
	VPMADDUBSW      (4+128*h+xo)(DI), Z4, Z4    \
	VPMADDUBSW      (4+128*h+64+xo)(DI), Z3, Z3 \
	VPERMW          Z0, ilo, Z5                 \
	VPERMW          Z0, ihi, Z6                 \
	VPDPWSSD        Z5, Z4, acc                 \
	VPDPWSSD        Z6, Z3, acc2

// Q6_SUMS5(wr, wo, xo, s1, s2, ys) leaves in ys (the low half of s1; s2 is scratch) the eight int32 partial
// sums of Σ s_i·(Σ q·qs − 32·bsums[i]) of the blocks at wo(wr) and xo(DI).
#define Q6_SUMS5(wr, wo, xo, s1, s2, ys) \
	VPMOVSXBW     (192+wo)(wr), Y0                \
	VPMADDWD      (260+xo)(DI), Y0, Y1            \
	VPSLLD        $5, Y1, Y1                      \
	VPXOR         ys, ys, ys                      \
	VPSUBD        Y1, ys, ys                      \
	VPXORD        s2, s2, s2                      \
	Q6_HALFX5(wr, wo, xo, 0, Z20, Z21, s1, s2)    \
	Q6_HALFX5(wr, wo, xo, 1, Z22, Z23, s1, s2)    \
	VPADDD        s2, s1, s1                      \
	VEXTRACTI64X4 $1, s1, Y1                      \
	VPADDD        Y1, ys, ys

// Q6_BLOCKS5(wr, acc) adds two superblocks, at wr and wr+210 against DI and DI+292, to the float32x8 acc
// (first one, then the other), each as in Q6_BLOCK5, with both scales formed in one set of instructions.
#define Q6_BLOCKS5(wr, acc) \
	Q6_SUMS5(wr, 0, 0, Z13, Z12, Y13)     \
	Q6_SUMS5(wr, 210, 292, Z9, Z8, Y9)    \
	VCVTDQ2PS    Y13, Y13                 \
	VCVTDQ2PS    Y9, Y9                   \
	MOVWLZX      208(wr), AX              \
	VMOVD        AX, X1                   \
	VPINSRW      $1, 418(wr), X1, X1      \
	VCVTPH2PS    X1, X1                   \
	VMOVD        (DI), X2                 \
	VPINSRD      $1, 292(DI), X2, X2      \
	VMULPS       X2, X1, X1               \
	VBROADCASTSS X1, Y2                   \
	VMOVSHDUP    X1, X1                   \
	VBROADCASTSS X1, Y1                   \
	VFMADD231PS  Y13, Y2, acc             \
	VFMADD231PS  Y9, Y1, acc

// Q6_BLOCK5(wr, acc) adds one Q6_K superblock at wr times the Q8_K block at DI to the float32x8 acc in
// ggml's AVX2 order: Z13 starts at −32·(bsums[2k]·s_2k + bsums[2k+1]·s_2k+1) in lane k (upper half zero),
// Z12 at zero, they collect the scaled pair sums and fold into the eight lanes of Y13 (dwords k and k+8
// hold elements 4k..4k+3 of the same 32), and acc = fma(x.d·fp16(w.d), float32(Y13), acc) lane by lane.
#define Q6_BLOCK5(wr, acc) \
	VPMOVSXBW     192(wr), Y0        \
	VPMADDWD      260(DI), Y0, Y1    \
	VPSLLD        $5, Y1, Y1         \
	VPXOR         Y13, Y13, Y13      \
	VPSUBD        Y1, Y13, Y13       \
	VPXORD        Z12, Z12, Z12      \
	Q6_HALF5(wr, 0, Z20, Z21, Z13)   \
	Q6_HALF5(wr, 1, Z22, Z23, Z13)   \
	VPADDD        Z12, Z13, Z13      \
	VEXTRACTI64X4 $1, Z13, Y1        \
	VPADDD        Y1, Y13, Y13       \
	VCVTDQ2PS     Y13, Y13           \
	MOVWLZX       208(wr), AX        \
	VMOVD         AX, X1             \
	VCVTPH2PS     X1, X1             \
	VMULSS        (DI), X1, X1       \
	VBROADCASTSS  X1, Y1             \
	VFMADD231PS   Y13, Y1, acc

// Q6_SETUP5 loads the Q6_K constants.
#define Q6_SETUP5 \
	VMOVDQU64 kqnib5<>(SB), Z15      \
	VMOVDQU64 kqhi5<>(SB), Z14       \
	VMOVDQU64 q6sll<>(SB), Z18       \
	VMOVDQU64 q6srl<>(SB), Z19       \
	VMOVDQU64 q6perm<>+0(SB), Z20    \
	VMOVDQU64 q6perm<>+64(SB), Z21   \
	VMOVDQU64 q6perm<>+128(SB), Z22  \
	VMOVDQU64 q6perm<>+192(SB), Z23

// func dotQ6KVNNI(w, x []byte, nb int) float32
TEXT ·dotQ6KVNNI(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   x_base+24(FP), DI
	MOVQ   nb+48(FP), CX
	Q6_SETUP5
	VXORPS Y10, Y10, Y10

	CMPQ   CX, $2
	JB     q6tail5

q6loop5:
	PREFETCHT0 8192(SI)
	PREFETCHT0 8256(SI)
	PREFETCHT0 8320(SI)
	PREFETCHT0 8384(SI)
	PREFETCHT0 8448(SI)
	PREFETCHT0 8512(SI)
	PREFETCHT0 8576(SI)
	Q6_BLOCKS5(SI, Y10)
	ADDQ $420, SI
	ADDQ $584, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JAE  q6loop5

q6tail5:
	TESTQ CX, CX
	JZ    q6done5
	Q6_BLOCK5(SI, Y10)

q6done5:
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
