#include "textflag.h"

// K-quant dot products of one weight row against four Q8_K activation rows (AVX2). Each weight superblock
// is unpacked once into Y0..Y7 (eight groups of 32 unsigned quants, in element order) and its group scales
// are spread into 256 bytes of stack (one 16-word VPMADDWD operand per group), then used for the four
// activation rows. Per row the integer sums are the exact int32 sums of kq_amd64.s (VPMADDUBSW, VPMADDWD,
// wrapping int32 additions in any order); the float part is the reference's expression (internal/kernels/kq_dot.go)
// evaluated for the four rows in the four lanes of one XMM register (Q4_K: its min part in the high half of Y15),
// so every lane is bit for bit the single-row kernel's result.
//
// Registers: SI weights, DI, R11, R12, R13 the four activation blocks, CX superblocks left, X15 the four
// float32 accumulators, Y8 the mins (Q4_K) or scales (Q6_K) as words for the bsums term.

// Constants as in kq_amd64.s: x4nib sixteen 0x0f bytes, x4hi2 0x30 bytes, x4q4shuf the eight VPSHUFB
// masks spreading word j of each 128-bit lane over the lane, x4q6shuf four masks spreading word 2k over the
// low lane and 2k+1 over the high lane.
DATA x4nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA x4nib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA x4nib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA x4nib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL x4nib<>(SB), RODATA|NOPTR, $32
DATA x4hi2<>+0(SB)/8, $0x3030303030303030
DATA x4hi2<>+8(SB)/8, $0x3030303030303030
DATA x4hi2<>+16(SB)/8, $0x3030303030303030
DATA x4hi2<>+24(SB)/8, $0x3030303030303030
GLOBL x4hi2<>(SB), RODATA|NOPTR, $32
DATA x4q4shuf<>+0(SB)/8, $0x0100010001000100
DATA x4q4shuf<>+8(SB)/8, $0x0100010001000100
DATA x4q4shuf<>+16(SB)/8, $0x0100010001000100
DATA x4q4shuf<>+24(SB)/8, $0x0100010001000100
DATA x4q4shuf<>+32(SB)/8, $0x0302030203020302
DATA x4q4shuf<>+40(SB)/8, $0x0302030203020302
DATA x4q4shuf<>+48(SB)/8, $0x0302030203020302
DATA x4q4shuf<>+56(SB)/8, $0x0302030203020302
DATA x4q4shuf<>+64(SB)/8, $0x0504050405040504
DATA x4q4shuf<>+72(SB)/8, $0x0504050405040504
DATA x4q4shuf<>+80(SB)/8, $0x0504050405040504
DATA x4q4shuf<>+88(SB)/8, $0x0504050405040504
DATA x4q4shuf<>+96(SB)/8, $0x0706070607060706
DATA x4q4shuf<>+104(SB)/8, $0x0706070607060706
DATA x4q4shuf<>+112(SB)/8, $0x0706070607060706
DATA x4q4shuf<>+120(SB)/8, $0x0706070607060706
DATA x4q4shuf<>+128(SB)/8, $0x0908090809080908
DATA x4q4shuf<>+136(SB)/8, $0x0908090809080908
DATA x4q4shuf<>+144(SB)/8, $0x0908090809080908
DATA x4q4shuf<>+152(SB)/8, $0x0908090809080908
DATA x4q4shuf<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA x4q4shuf<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA x4q4shuf<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA x4q4shuf<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA x4q4shuf<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA x4q4shuf<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA x4q4shuf<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA x4q4shuf<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA x4q4shuf<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA x4q4shuf<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA x4q4shuf<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA x4q4shuf<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL x4q4shuf<>(SB), RODATA|NOPTR, $256
DATA x4q6shuf<>+0(SB)/8, $0x0100010001000100
DATA x4q6shuf<>+8(SB)/8, $0x0100010001000100
DATA x4q6shuf<>+16(SB)/8, $0x0302030203020302
DATA x4q6shuf<>+24(SB)/8, $0x0302030203020302
DATA x4q6shuf<>+32(SB)/8, $0x0504050405040504
DATA x4q6shuf<>+40(SB)/8, $0x0504050405040504
DATA x4q6shuf<>+48(SB)/8, $0x0706070607060706
DATA x4q6shuf<>+56(SB)/8, $0x0706070607060706
DATA x4q6shuf<>+64(SB)/8, $0x0908090809080908
DATA x4q6shuf<>+72(SB)/8, $0x0908090809080908
DATA x4q6shuf<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA x4q6shuf<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA x4q6shuf<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA x4q6shuf<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA x4q6shuf<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA x4q6shuf<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL x4q6shuf<>(SB), RODATA|NOPTR, $128


// Q4X_SCALES unpacks the scales and mins of the block_q4_K at SI (get_scale_min_k4): the eight scales as
// words spread per group into 0(SP)..255(SP), the eight mins as dwords, each repeated in both words, in Y8.
#define Q4X_SCALES \
	MOVL      4(SI), AX        \
	MOVL      8(SI), BX        \
	MOVL      12(SI), DX       \
	MOVL      AX, R8           \
	SHRL      $2, R8           \
	ANDL      $0x30303030, R8  \
	ANDL      $0x3f3f3f3f, AX  \
	MOVL      DX, R9           \
	ANDL      $0x0f0f0f0f, R9  \
	ORL       R8, R9           \
	MOVL      BX, R10          \
	SHRL      $2, R10          \
	ANDL      $0x30303030, R10 \
	ANDL      $0x3f3f3f3f, BX  \
	SHRL      $4, DX           \
	ANDL      $0x0f0f0f0f, DX  \
	ORL       R10, DX          \
	SHLQ      $32, R9          \
	ORQ       R9, AX           \
	SHLQ      $32, DX          \
	ORQ       DX, BX           \
	VMOVQ     AX, X9           \
	VPMOVZXBW X9, X9           \
	VPERMQ    $0x44, Y9, Y9    \
	VPSHUFB   x4q4shuf<>+0(SB), Y9, Y10 \
	VMOVDQU   Y10, 0(SP) \
	VPSHUFB   x4q4shuf<>+32(SB), Y9, Y10 \
	VMOVDQU   Y10, 32(SP) \
	VPSHUFB   x4q4shuf<>+64(SB), Y9, Y10 \
	VMOVDQU   Y10, 64(SP) \
	VPSHUFB   x4q4shuf<>+96(SB), Y9, Y10 \
	VMOVDQU   Y10, 96(SP) \
	VPSHUFB   x4q4shuf<>+128(SB), Y9, Y10 \
	VMOVDQU   Y10, 128(SP) \
	VPSHUFB   x4q4shuf<>+160(SB), Y9, Y10 \
	VMOVDQU   Y10, 160(SP) \
	VPSHUFB   x4q4shuf<>+192(SB), Y9, Y10 \
	VMOVDQU   Y10, 192(SP) \
	VPSHUFB   x4q4shuf<>+224(SB), Y9, Y10 \
	VMOVDQU   Y10, 224(SP) \
	VMOVQ     BX, X8           \
	VPMOVZXBD X8, Y8           \
	VPSLLD    $16, Y8, Y9      \
	VPOR      Y9, Y8, Y8

// Q4X_UNPACK unpacks the 256 nibbles of the block_q4_K at SI into Y0..Y7 (group j in Yj).
#define Q4X_UNPACK \
	VMOVDQU x4nib<>(SB), Y10 \
	VMOVDQU 16(SI), Y0 \
	VPSRLW  $4, Y0, Y1 \
	VPAND   Y10, Y0, Y0 \
	VPAND   Y10, Y1, Y1 \
	VMOVDQU 48(SI), Y2 \
	VPSRLW  $4, Y2, Y3 \
	VPAND   Y10, Y2, Y2 \
	VPAND   Y10, Y3, Y3 \
	VMOVDQU 80(SI), Y4 \
	VPSRLW  $4, Y4, Y5 \
	VPAND   Y10, Y4, Y4 \
	VPAND   Y10, Y5, Y5 \
	VMOVDQU 112(SI), Y6 \
	VPSRLW  $4, Y6, Y7 \
	VPAND   Y10, Y6, Y6 \
	VPAND   Y10, Y7, Y7

// X4_SUMS(xr) leaves in Y9 the eight int32 partial sums of Σ_groups scale·Σ q·qs of the unpacked
// superblock against the Q8_K block at xr, and in Y10 the eight dword products of Y8 with its bsums.
#define X4_SUMS(xr) \
	VPMADDUBSW 4(xr), Y0, Y9 \
	VPMADDWD   0(SP), Y9, Y9 \
	VPMADDUBSW 36(xr), Y1, Y10 \
	VPMADDWD   32(SP), Y10, Y10 \
	VPMADDUBSW 68(xr), Y2, Y11 \
	VPMADDWD   64(SP), Y11, Y11 \
	VPADDD     Y11, Y9, Y9 \
	VPMADDUBSW 100(xr), Y3, Y11 \
	VPMADDWD   96(SP), Y11, Y11 \
	VPADDD     Y11, Y10, Y10 \
	VPMADDUBSW 132(xr), Y4, Y11 \
	VPMADDWD   128(SP), Y11, Y11 \
	VPADDD     Y11, Y9, Y9 \
	VPMADDUBSW 164(xr), Y5, Y11 \
	VPMADDWD   160(SP), Y11, Y11 \
	VPADDD     Y11, Y10, Y10 \
	VPMADDUBSW 196(xr), Y6, Y11 \
	VPMADDWD   192(SP), Y11, Y11 \
	VPADDD     Y11, Y9, Y9 \
	VPMADDUBSW 228(xr), Y7, Y11 \
	VPMADDWD   224(SP), Y11, Y11 \
	VPADDD     Y11, Y10, Y10 \
	VPADDD     Y10, Y9, Y9 \
	VPMADDWD   260(xr), Y8, Y10

// Q4X_VEC(xr, t) leaves in t the partial sums of sumi and summ of the block at xr: per 128-bit lane
// [sumi, sumi, summ, summ].
#define Q4X_VEC(xr, t) \
	X4_SUMS(xr)          \
	VPHADDD Y10, Y9, t

// X4_XD leaves in X11 the four activation scales x_j.d.
#define X4_XD \
	VMOVD   (DI), X11           \
	VPINSRD $1, (R11), X11, X11 \
	VPINSRD $2, (R12), X11, X11 \
	VPINSRD $3, (R13), X11, X11

// Q4X_BLOCK adds one Q4_K superblock at SI times the Q8_K blocks at DI, R11, R12, R13 to Y15: the low lanes
// take fma(float32(sumi), d, ·) and the high lanes fma(float32(summ), dm, ·), d = fp16(w.d)·x.d,
// dm = fp16(w.dmin)·x.d (ggml's repacked gemv; Q4X_EPILOGUE subtracts the halves).
#define Q4X_BLOCK \
	Q4X_SCALES                \
	Q4X_UNPACK                \
	Q4X_VEC(DI, Y12)          \
	Q4X_VEC(R11, Y13)         \
	VPHADDD   Y13, Y12, Y12   \
	Q4X_VEC(R12, Y13)         \
	Q4X_VEC(R13, Y14)         \
	VPHADDD   Y14, Y13, Y13   \
	Q4X_FLOAT

// Q4X_FLOAT takes per 128-bit lane [sumi0, summ0, sumi1, summ1] in Y12 and [sumi2, summ2, sumi3, summ3] in
// Y13, folds them into [sumi0..3 | summ0..3] and adds them times [d0..3 | dm0..3] to Y15 with one FMA.
#define Q4X_FLOAT \
	VSHUFPS   $0x88, Y13, Y12, Y9  \
	VSHUFPS   $0xdd, Y13, Y12, Y10 \
	VEXTRACTI128 $1, Y9, X11  \
	VPADDD    X11, X9, X9     \
	VEXTRACTI128 $1, Y10, X11 \
	VPADDD    X11, X10, X10   \
	VINSERTI128 $1, X10, Y9, Y9 \
	VCVTDQ2PS Y9, Y9          \
	X4_XD                     \
	VINSERTI128 $1, X11, Y11, Y11 \
	VMOVD     (SI), X12       \
	VCVTPH2PS X12, X12        \
	VBROADCASTSS X12, X13     \
	VPSHUFD   $0x55, X12, X12 \
	VINSERTI128 $1, X12, Y13, Y13 \
	VMULPS    Y11, Y13, Y13   \
	VFMADD231PS Y13, Y9, Y15

// Q4X_EPILOGUE subtracts the min half of Y15 from its scale half and stores the four sums.
#define Q4X_EPILOGUE \
	VEXTRACTF128 $1, Y15, X14 \
	VSUBPS    X14, X15, X15   \
	X4_EPILOGUE

// X4_PROLOGUE loads the arguments (out *[4]float32, w, x []byte, xStride, nb int) and clears X15.
#define X4_PROLOGUE \
	MOVQ   w_base+8(FP), SI     \
	MOVQ   x_base+32(FP), DI    \
	MOVQ   xStride+56(FP), R11  \
	MOVQ   nb+64(FP), CX        \
	LEAQ   (DI)(R11*2), R12     \
	LEAQ   (R12)(R11*1), R13    \
	ADDQ   DI, R11              \
	VXORPS X15, X15, X15

// X4_EPILOGUE stores the four sums.
#define X4_EPILOGUE \
	MOVQ    out+0(FP), AX \
	VMOVUPS X15, (AX)     \
	VZEROUPPER            \
	RET

// func dotQ4Kx4AVX2(out *[4]float32, w, x []byte, xStride, nb int)
TEXT ·dotQ4Kx4AVX2(SB), NOSPLIT, $256-72
	X4_PROLOGUE

q4x4loop:
	PREFETCHT0 1024(SI)
	PREFETCHT0 1088(SI)
	PREFETCHT0 1152(SI)
	Q4X_BLOCK
	ADDQ $144, SI
	ADDQ $292, DI
	ADDQ $292, R11
	ADDQ $292, R12
	ADDQ $292, R13
	DECQ CX
	JNZ  q4x4loop
	Q4X_EPILOGUE

// The Q6_K kernels below keep, per activation row, the eight float32 lanes of ggml's AVX2 Q6_K dot (Y12..Y15
// here, Y4..Y7 on AVX-512), each superblock added by one VFMADD231PS, and sum them at the end as
// hsum_float_8 (HSUM8), as the single-row kernels do.

// Q6X_SCALES spreads the sixteen int8 scales of the block_q6_K at SI per group of 32 into 0(SP)..255(SP)
// (group k: scale 2k in the low lane, 2k+1 in the high lane) and leaves them as words in Y8.
#define Q6X_SCALES \
	VPMOVSXBW 192(SI), Y8     \
	VPERMQ    $0x44, Y8, Y9   \
	VPERMQ    $0xee, Y8, Y11  \
	VPSHUFB   x4q6shuf<>+0(SB), Y9, Y10 \
	VMOVDQU   Y10, 0(SP) \
	VPSHUFB   x4q6shuf<>+32(SB), Y9, Y10 \
	VMOVDQU   Y10, 32(SP) \
	VPSHUFB   x4q6shuf<>+64(SB), Y9, Y10 \
	VMOVDQU   Y10, 64(SP) \
	VPSHUFB   x4q6shuf<>+96(SB), Y9, Y10 \
	VMOVDQU   Y10, 96(SP) \
	VPSHUFB   x4q6shuf<>+0(SB), Y11, Y10 \
	VMOVDQU   Y10, 128(SP) \
	VPSHUFB   x4q6shuf<>+32(SB), Y11, Y10 \
	VMOVDQU   Y10, 160(SP) \
	VPSHUFB   x4q6shuf<>+64(SB), Y11, Y10 \
	VMOVDQU   Y10, 192(SP) \
	VPSHUFB   x4q6shuf<>+96(SB), Y11, Y10 \
	VMOVDQU   Y10, 224(SP)

// Q6X_HALF(h, d0, d1, d2, d3) unpacks the 6-bit quants of elements 128h..128h+127 of the block_q6_K at SI
// into d0..d3 (32 each, element order), with the 0x0f and 0x30 masks read from memory (Y12..Y15 hold the
// accumulators).
#define Q6X_HALF(h, d0, d1, d2, d3) \
	VMOVDQU (128+32*h)(SI), Y11     \
	VMOVDQU (64*h)(SI), Y9          \
	VPAND   x4nib<>(SB), Y9, d0     \
	VPSLLW  $4, Y11, Y10            \
	VPAND   x4hi2<>(SB), Y10, Y10   \
	VPOR    Y10, d0, d0             \
	VPSRLW  $4, Y9, d2              \
	VPAND   x4nib<>(SB), d2, d2     \
	VPAND   x4hi2<>(SB), Y11, Y10   \
	VPOR    Y10, d2, d2             \
	VMOVDQU (64*h+32)(SI), Y9       \
	VPAND   x4nib<>(SB), Y9, d1     \
	VPSLLW  $2, Y11, Y10            \
	VPAND   x4hi2<>(SB), Y10, Y10   \
	VPOR    Y10, d1, d1             \
	VPSRLW  $4, Y9, d3              \
	VPAND   x4nib<>(SB), d3, d3     \
	VPSRLW  $2, Y11, Y10            \
	VPAND   x4hi2<>(SB), Y10, Y10   \
	VPOR    Y10, d3, d3

// Q6X_ROW(xr, acc) adds the unpacked superblock times the Q8_K block at xr to the float32x8 acc in ggml's
// AVX2 order: lane k of sumi less 32·(bsums[2k]·s_2k + bsums[2k+1]·s_2k+1), then
// acc = fma(x.d·fp16(w.d), float32(lanes), acc) lane by lane; 256(SP) holds fp16(w.d) as a float32.
#define Q6X_ROW(xr, acc) \
	X4_SUMS(xr)              \
	VPSLLD       $5, Y10, Y10 \
	VPSUBD       Y10, Y9, Y9 \
	VCVTDQ2PS    Y9, Y9      \
	VMOVSS       (xr), X10   \
	VMULSS       256(SP), X10, X10 \
	VBROADCASTSS X10, Y10    \
	VFMADD231PS  Y9, Y10, acc

// Q6X_BLOCK adds one Q6_K superblock at SI times the Q8_K blocks at DI, R11, R12, R13 to the float32x8
// accumulators Y12, Y13, Y14, Y15, each as the single-row kernel does.
#define Q6X_BLOCK \
	Q6X_SCALES                  \
	MOVWLZX   208(SI), AX       \
	VMOVD     AX, X9            \
	VCVTPH2PS X9, X9            \
	VMOVSS    X9, 256(SP)       \
	Q6X_HALF(0, Y0, Y1, Y2, Y3) \
	Q6X_HALF(1, Y4, Y5, Y6, Y7) \
	Q6X_ROW(DI, Y12)            \
	Q6X_ROW(R11, Y13)           \
	Q6X_ROW(R12, Y14)           \
	Q6X_ROW(R13, Y15)

// HSUM8(y, x, off) stores at off(AX) the sum of the float32x8 y (x its low half) as ggml's hsum_float_8:
// upper half plus lower half, then (r0 + r2) + (r1 + r3).
#define HSUM8(y, x, off) \
	VEXTRACTF128 $1, y, X9 \
	VADDPS       x, X9, X9 \
	VMOVHLPS     X9, X9, X10 \
	VADDPS       X10, X9, X9 \
	VMOVSHDUP    X9, X10   \
	VADDSS       X10, X9, X9 \
	VMOVSS       X9, off(AX)

// func dotQ6Kx4AVX2(out *[4]float32, w, x []byte, xStride, nb int)
TEXT ·dotQ6Kx4AVX2(SB), NOSPLIT, $264-72
	X4_PROLOGUE
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

q6x4loop:
	PREFETCHT0 1024(SI)
	PREFETCHT0 1088(SI)
	PREFETCHT0 1152(SI)
	PREFETCHT0 1216(SI)
	Q6X_BLOCK
	ADDQ $210, SI
	ADDQ $292, DI
	ADDQ $292, R11
	ADDQ $292, R12
	ADDQ $292, R13
	DECQ CX
	JNZ  q6x4loop

	MOVQ out+0(FP), AX
	HSUM8(Y12, X12, 0)
	HSUM8(Y13, X13, 4)
	HSUM8(Y14, X14, 8)
	HSUM8(Y15, X15, 12)
	VZEROUPPER
	RET


// AVX-512 (BW, VL, VNNI) four-row kernels, 512-bit registers, with the unpacking of kq_avx512_amd64.s done
// once per superblock: Z26..Z29 hold the 256 quants (64 per register, in element order), Z22..Z25 the
// matching VPERMW-spread group scales, Y8 the mins (Q4_K) or scales (Q6_K) as words for the bsums term.
// Per row: VPMADDUBSW then VPMADDWD/VPDPWSSD, the same exact int32 sums; the float part is the AVX2 one
// above (four lanes of X15). Constants as in kq_avx512_amd64.s: x5nib 0x0f bytes, x5hi2 0x30 bytes,
// x5q4srl word shifts 0|4, x5q4perm / x5q6perm VPERMW indices, x5q6sll / x5q6srl the qh shifts.

DATA x5nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA x5nib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA x5nib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA x5nib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA x5nib<>+32(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA x5nib<>+40(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA x5nib<>+48(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA x5nib<>+56(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL x5nib<>(SB), RODATA|NOPTR, $64
DATA x5hi2<>+0(SB)/8, $0x3030303030303030
DATA x5hi2<>+8(SB)/8, $0x3030303030303030
DATA x5hi2<>+16(SB)/8, $0x3030303030303030
DATA x5hi2<>+24(SB)/8, $0x3030303030303030
DATA x5hi2<>+32(SB)/8, $0x3030303030303030
DATA x5hi2<>+40(SB)/8, $0x3030303030303030
DATA x5hi2<>+48(SB)/8, $0x3030303030303030
DATA x5hi2<>+56(SB)/8, $0x3030303030303030
GLOBL x5hi2<>(SB), RODATA|NOPTR, $64
DATA x5q4srl<>+0(SB)/8, $0x0000000000000000
DATA x5q4srl<>+8(SB)/8, $0x0000000000000000
DATA x5q4srl<>+16(SB)/8, $0x0000000000000000
DATA x5q4srl<>+24(SB)/8, $0x0000000000000000
DATA x5q4srl<>+32(SB)/8, $0x0004000400040004
DATA x5q4srl<>+40(SB)/8, $0x0004000400040004
DATA x5q4srl<>+48(SB)/8, $0x0004000400040004
DATA x5q4srl<>+56(SB)/8, $0x0004000400040004
GLOBL x5q4srl<>(SB), RODATA|NOPTR, $64
DATA x5q4perm<>+0(SB)/8, $0x0000000000000000
DATA x5q4perm<>+8(SB)/8, $0x0000000000000000
DATA x5q4perm<>+16(SB)/8, $0x0000000000000000
DATA x5q4perm<>+24(SB)/8, $0x0000000000000000
DATA x5q4perm<>+32(SB)/8, $0x0001000100010001
DATA x5q4perm<>+40(SB)/8, $0x0001000100010001
DATA x5q4perm<>+48(SB)/8, $0x0001000100010001
DATA x5q4perm<>+56(SB)/8, $0x0001000100010001
DATA x5q4perm<>+64(SB)/8, $0x0002000200020002
DATA x5q4perm<>+72(SB)/8, $0x0002000200020002
DATA x5q4perm<>+80(SB)/8, $0x0002000200020002
DATA x5q4perm<>+88(SB)/8, $0x0002000200020002
DATA x5q4perm<>+96(SB)/8, $0x0003000300030003
DATA x5q4perm<>+104(SB)/8, $0x0003000300030003
DATA x5q4perm<>+112(SB)/8, $0x0003000300030003
DATA x5q4perm<>+120(SB)/8, $0x0003000300030003
DATA x5q4perm<>+128(SB)/8, $0x0004000400040004
DATA x5q4perm<>+136(SB)/8, $0x0004000400040004
DATA x5q4perm<>+144(SB)/8, $0x0004000400040004
DATA x5q4perm<>+152(SB)/8, $0x0004000400040004
DATA x5q4perm<>+160(SB)/8, $0x0005000500050005
DATA x5q4perm<>+168(SB)/8, $0x0005000500050005
DATA x5q4perm<>+176(SB)/8, $0x0005000500050005
DATA x5q4perm<>+184(SB)/8, $0x0005000500050005
DATA x5q4perm<>+192(SB)/8, $0x0006000600060006
DATA x5q4perm<>+200(SB)/8, $0x0006000600060006
DATA x5q4perm<>+208(SB)/8, $0x0006000600060006
DATA x5q4perm<>+216(SB)/8, $0x0006000600060006
DATA x5q4perm<>+224(SB)/8, $0x0007000700070007
DATA x5q4perm<>+232(SB)/8, $0x0007000700070007
DATA x5q4perm<>+240(SB)/8, $0x0007000700070007
DATA x5q4perm<>+248(SB)/8, $0x0007000700070007
GLOBL x5q4perm<>(SB), RODATA|NOPTR, $256
DATA x5q6sll<>+0(SB)/8, $0x0004000400040004
DATA x5q6sll<>+8(SB)/8, $0x0004000400040004
DATA x5q6sll<>+16(SB)/8, $0x0004000400040004
DATA x5q6sll<>+24(SB)/8, $0x0004000400040004
DATA x5q6sll<>+32(SB)/8, $0x0002000200020002
DATA x5q6sll<>+40(SB)/8, $0x0002000200020002
DATA x5q6sll<>+48(SB)/8, $0x0002000200020002
DATA x5q6sll<>+56(SB)/8, $0x0002000200020002
GLOBL x5q6sll<>(SB), RODATA|NOPTR, $64
DATA x5q6srl<>+0(SB)/8, $0x0000000000000000
DATA x5q6srl<>+8(SB)/8, $0x0000000000000000
DATA x5q6srl<>+16(SB)/8, $0x0000000000000000
DATA x5q6srl<>+24(SB)/8, $0x0000000000000000
DATA x5q6srl<>+32(SB)/8, $0x0002000200020002
DATA x5q6srl<>+40(SB)/8, $0x0002000200020002
DATA x5q6srl<>+48(SB)/8, $0x0002000200020002
DATA x5q6srl<>+56(SB)/8, $0x0002000200020002
GLOBL x5q6srl<>(SB), RODATA|NOPTR, $64
DATA x5q6perm<>+0(SB)/8, $0x0000000000000000
DATA x5q6perm<>+8(SB)/8, $0x0000000000000000
DATA x5q6perm<>+16(SB)/8, $0x0001000100010001
DATA x5q6perm<>+24(SB)/8, $0x0001000100010001
DATA x5q6perm<>+32(SB)/8, $0x0002000200020002
DATA x5q6perm<>+40(SB)/8, $0x0002000200020002
DATA x5q6perm<>+48(SB)/8, $0x0003000300030003
DATA x5q6perm<>+56(SB)/8, $0x0003000300030003
DATA x5q6perm<>+64(SB)/8, $0x0004000400040004
DATA x5q6perm<>+72(SB)/8, $0x0004000400040004
DATA x5q6perm<>+80(SB)/8, $0x0005000500050005
DATA x5q6perm<>+88(SB)/8, $0x0005000500050005
DATA x5q6perm<>+96(SB)/8, $0x0006000600060006
DATA x5q6perm<>+104(SB)/8, $0x0006000600060006
DATA x5q6perm<>+112(SB)/8, $0x0007000700070007
DATA x5q6perm<>+120(SB)/8, $0x0007000700070007
DATA x5q6perm<>+128(SB)/8, $0x0008000800080008
DATA x5q6perm<>+136(SB)/8, $0x0008000800080008
DATA x5q6perm<>+144(SB)/8, $0x0009000900090009
DATA x5q6perm<>+152(SB)/8, $0x0009000900090009
DATA x5q6perm<>+160(SB)/8, $0x000a000a000a000a
DATA x5q6perm<>+168(SB)/8, $0x000a000a000a000a
DATA x5q6perm<>+176(SB)/8, $0x000b000b000b000b
DATA x5q6perm<>+184(SB)/8, $0x000b000b000b000b
DATA x5q6perm<>+192(SB)/8, $0x000c000c000c000c
DATA x5q6perm<>+200(SB)/8, $0x000c000c000c000c
DATA x5q6perm<>+208(SB)/8, $0x000d000d000d000d
DATA x5q6perm<>+216(SB)/8, $0x000d000d000d000d
DATA x5q6perm<>+224(SB)/8, $0x000e000e000e000e
DATA x5q6perm<>+232(SB)/8, $0x000e000e000e000e
DATA x5q6perm<>+240(SB)/8, $0x000f000f000f000f
DATA x5q6perm<>+248(SB)/8, $0x000f000f000f000f
GLOBL x5q6perm<>(SB), RODATA|NOPTR, $256

// X5_VEC(xr, t) leaves in Y9 the eight int32 partial sums of Σ scale·Σ q·qs of the unpacked superblock
// against the Q8_K block at xr, and in Y10 the eight dword products of Y8 with its bsums.
#define X5_SUMS(xr) \
	VPMADDUBSW    4(xr), Z26, Z0   \
	VPMADDWD      Z22, Z0, Z0      \
	VPMADDUBSW    68(xr), Z27, Z1  \
	VPMADDWD      Z23, Z1, Z1      \
	VPMADDUBSW    132(xr), Z28, Z2 \
	VPDPWSSD      Z24, Z2, Z0      \
	VPMADDUBSW    196(xr), Z29, Z3 \
	VPDPWSSD      Z25, Z3, Z1      \
	VPADDD        Z1, Z0, Z0       \
	VEXTRACTI64X4 $1, Z0, Y1       \
	VPADDD        Y1, Y0, Y9       \
	VPMADDWD      260(xr), Y8, Y10

// Q4X5_VEC(xr, t) leaves in t per 128-bit lane [sumi, sumi, summ, summ] partial sums of the block at xr.
#define Q4X5_VEC(xr, t) \
	X5_SUMS(xr)          \
	VPHADDD Y10, Y9, t

// Q4X5_UNPACK unpacks the block_q4_K at SI: scales spread into Z22..Z25, mins into Y8, quants into Z26..Z29.
#define Q4X5_UNPACK \
	MOVL      4(SI), AX        \
	MOVL      8(SI), BX        \
	MOVL      12(SI), DX       \
	MOVL      AX, R8           \
	SHRL      $2, R8           \
	ANDL      $0x30303030, R8  \
	ANDL      $0x3f3f3f3f, AX  \
	MOVL      DX, R9           \
	ANDL      $0x0f0f0f0f, R9  \
	ORL       R8, R9           \
	MOVL      BX, R10          \
	SHRL      $2, R10          \
	ANDL      $0x30303030, R10 \
	ANDL      $0x3f3f3f3f, BX  \
	SHRL      $4, DX           \
	ANDL      $0x0f0f0f0f, DX  \
	ORL       R10, DX          \
	SHLQ      $32, R9          \
	ORQ       R9, AX           \
	SHLQ      $32, DX          \
	ORQ       DX, BX           \
	VMOVQ     AX, X0           \
	VPMOVZXBW X0, X0           \
	VPERMW    Z0, Z18, Z22     \
	VPERMW    Z0, Z19, Z23     \
	VPERMW    Z0, Z20, Z24     \
	VPERMW    Z0, Z21, Z25     \
	VMOVQ     BX, X8           \
	VPMOVZXBD X8, Y8           \
	VPSLLD    $16, Y8, Y9      \
	VPOR      Y9, Y8, Y8       \
	VBROADCASTI64X4 16(SI), Z26 \
	VPSRLVW   Z16, Z26, Z26 \
	VPANDD    Z30, Z26, Z26 \
	VBROADCASTI64X4 48(SI), Z27 \
	VPSRLVW   Z16, Z27, Z27 \
	VPANDD    Z30, Z27, Z27 \
	VBROADCASTI64X4 80(SI), Z28 \
	VPSRLVW   Z16, Z28, Z28 \
	VPANDD    Z30, Z28, Z28 \
	VBROADCASTI64X4 112(SI), Z29 \
	VPSRLVW   Z16, Z29, Z29 \
	VPANDD    Z30, Z29, Z29

// Q4X5_BLOCK is Q4X_BLOCK on AVX-512.
#define Q4X5_BLOCK \
	Q4X5_UNPACK               \
	Q4X5_VEC(DI, Y12)         \
	Q4X5_VEC(R11, Y13)        \
	VPHADDD   Y13, Y12, Y12   \
	Q4X5_VEC(R12, Y13)        \
	Q4X5_VEC(R13, Y14)        \
	VPHADDD   Y14, Y13, Y13   \
	Q4X_FLOAT

// func dotQ4Kx4VNNI(out *[4]float32, w, x []byte, xStride, nb int)
TEXT ·dotQ4Kx4VNNI(SB), NOSPLIT, $0-72
	X4_PROLOGUE
	VMOVDQU64 x5nib<>(SB), Z30
	VMOVDQU64 x5q4srl<>(SB), Z16
	VMOVDQU64 x5q4perm<>+0(SB), Z18
	VMOVDQU64 x5q4perm<>+64(SB), Z19
	VMOVDQU64 x5q4perm<>+128(SB), Z20
	VMOVDQU64 x5q4perm<>+192(SB), Z21

q4x5loop:
	PREFETCHT0 1024(SI)
	PREFETCHT0 1088(SI)
	PREFETCHT0 1152(SI)
	Q4X5_BLOCK
	ADDQ $144, SI
	ADDQ $292, DI
	ADDQ $292, R11
	ADDQ $292, R12
	ADDQ $292, R13
	DECQ CX
	JNZ  q4x5loop
	Q4X_EPILOGUE

// Q6X5_HALF(h, lo, hi) unpacks elements 128h..128h+63 into lo and 128h+64..128h+127 into hi (as Q6_HALF5).
#define Q6X5_HALF(h, lo, hi) \
	VMOVDQU64       (64*h)(SI), Z0     \
	VBROADCASTI64X4 (128+32*h)(SI), Z1 \
	VPSLLVW         Z16, Z1, lo        \
	VPSRLVW         Z17, Z1, hi        \
	VPANDD          Z31, lo, lo        \
	VPANDD          Z31, hi, hi        \
	VPTERNLOGD      $0xd8, Z30, Z0, lo \
	VPSRLW          $4, Z0, Z0         \
	VPTERNLOGD      $0xd8, Z30, Z0, hi

// Q6X5_ROW(xr, acc) is Q6X_ROW on AVX-512; X15 holds fp16(w.d) as a float32.
#define Q6X5_ROW(xr, acc) \
	X5_SUMS(xr)              \
	VPSLLD       $5, Y10, Y10 \
	VPSUBD       Y10, Y9, Y9 \
	VCVTDQ2PS    Y9, Y9      \
	VMOVSS       (xr), X10   \
	VMULSS       X15, X10, X10 \
	VBROADCASTSS X10, Y10    \
	VFMADD231PS  Y9, Y10, acc

// Q6X5_BLOCK is Q6X_BLOCK on AVX-512, into the accumulators Y4, Y5, Y6, Y7.
#define Q6X5_BLOCK \
	VPMOVSXBW 192(SI), Y8      \
	VPERMW    Z8, Z18, Z22     \
	VPERMW    Z8, Z19, Z23     \
	VPERMW    Z8, Z20, Z24     \
	VPERMW    Z8, Z21, Z25     \
	MOVWLZX   208(SI), AX      \
	VMOVD     AX, X15          \
	VCVTPH2PS X15, X15         \
	Q6X5_HALF(0, Z26, Z27)     \
	Q6X5_HALF(1, Z28, Z29)     \
	Q6X5_ROW(DI, Y4)           \
	Q6X5_ROW(R11, Y5)          \
	Q6X5_ROW(R12, Y6)          \
	Q6X5_ROW(R13, Y7)

// func dotQ6Kx4VNNI(out *[4]float32, w, x []byte, xStride, nb int)
TEXT ·dotQ6Kx4VNNI(SB), NOSPLIT, $0-72
	X4_PROLOGUE
	VXORPS    Y4, Y4, Y4
	VXORPS    Y5, Y5, Y5
	VXORPS    Y6, Y6, Y6
	VXORPS    Y7, Y7, Y7
	VMOVDQU64 x5nib<>(SB), Z30
	VMOVDQU64 x5hi2<>(SB), Z31
	VMOVDQU64 x5q6sll<>(SB), Z16
	VMOVDQU64 x5q6srl<>(SB), Z17
	VMOVDQU64 x5q6perm<>+0(SB), Z18
	VMOVDQU64 x5q6perm<>+64(SB), Z19
	VMOVDQU64 x5q6perm<>+128(SB), Z20
	VMOVDQU64 x5q6perm<>+192(SB), Z21

q6x5loop:
	PREFETCHT0 1024(SI)
	PREFETCHT0 1088(SI)
	PREFETCHT0 1152(SI)
	PREFETCHT0 1216(SI)
	Q6X5_BLOCK
	ADDQ $210, SI
	ADDQ $292, DI
	ADDQ $292, R11
	ADDQ $292, R12
	ADDQ $292, R13
	DECQ CX
	JNZ  q6x5loop

	MOVQ out+0(FP), AX
	HSUM8(Y4, X4, 0)
	HSUM8(Y5, X5, 4)
	HSUM8(Y6, X6, 8)
	HSUM8(Y7, X7, 12)
	VZEROUPPER
	RET
