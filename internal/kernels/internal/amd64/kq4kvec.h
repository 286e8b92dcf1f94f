// The float part of ggml_vec_dot_q4_K_q8_K's x86 order, shared by dotQ4KVecAVX2 (kq_amd64.s) and
// dotQ4KVecVNNI (kq_avx512_amd64.s), which differ only in how they find the integer sums.

// Q4K_VEC_FLOAT adds one superblock (weights at SI, activations at DI): Y12 holds the eight int32 lanes of
// sumi and Y13 the four min products as dwords 0..3 and 4..7 of its halves; Y10 gets fma(d·x.d, lane, ·)
// and X11 fma(−dmin·x.d, m_{2i}·q8s_{2i} + m_{2i+1}·q8s_{2i+1}, ·).
#define Q4K_VEC_FLOAT 	VCVTDQ2PS    Y12, Y12     \
	VMOVD        (SI), X1     \
	VCVTPH2PS    X1, X1       \
	VBROADCASTSS (DI), X2     \
	VMULPS       X2, X1, X1   \
	VBROADCASTSS X1, Y3       \
	VFMADD231PS  Y3, Y12, Y10 \
	VEXTRACTI128 $1, Y13, X4  \
	VPHADDD      X4, X13, X4  \
	VCVTDQ2PS    X4, X4       \
	VPSHUFD      $0x55, X1, X5 \
	VFNMADD231PS X5, X4, X11

// Q4K_VEC_SUM leaves in X0 hsum_float_8 of Y10 plus (m0 + m2) + (m1 + m3) of X11.
#define Q4K_VEC_SUM 	VEXTRACTF128 $1, Y10, X0 \
	VADDPS       X10, X0, X0 \
	VMOVHLPS     X0, X0, X1  \
	VADDPS       X1, X0, X0  \
	VMOVSHDUP    X0, X1      \
	VADDSS       X1, X0, X0  \
	VMOVHLPS     X11, X11, X1 \
	VADDPS       X1, X11, X11 \
	VMOVSHDUP    X11, X1     \
	VADDSS       X1, X11, X11 \
	VADDSS       X11, X0, X0
