//go:build amd64

package amd64

import "fmt"

// K-quant superblocks: 256 elements; block_q4_K is 144 bytes, block_q6_K 210, block_q8_K 292.
const (
	kqSuper   = 256
	kqQ4Bytes = 144
	kqQ6Bytes = 210
	kqQ8Bytes = 292
)

// kqBlocks returns n/256 after checking that n is a non-negative multiple of 256.
func kqBlocks(n int) int {
	if n < 0 || n%kqSuper != 0 {
		panic(fmt.Sprintf("amd64: K-quant dot of %d elements", n))
	}
	return n / kqSuper
}

// DotQ4_K returns the dot product of n elements (a multiple of 256) of Q4_K weights w with the Q8_K
// activation row x (AVX2), bit for bit the scalar reference dotQ4_KRef.
func DotQ4_K(w, x []byte, n int) float32 {
	nb := kqBlocks(n)
	if nb == 0 {
		return 0
	}
	_, _ = w[nb*kqQ4Bytes-1], x[nb*kqQ8Bytes-1]
	return dotQ4KAVX2(w, x, nb)
}

// DotQ4_KVec is DotQ4_K in the float order of ggml's x86 ggml_vec_dot_q4_K_q8_K (AVX2), bit for bit the
// scalar reference dotQ4_KVecRef.
func DotQ4_KVec(w, x []byte, n int) float32 {
	nb := kqBlocks(n)
	if nb == 0 {
		return 0
	}
	_, _ = w[nb*kqQ4Bytes-1], x[nb*kqQ8Bytes-1]
	return dotQ4KVecAVX2(w, x, nb)
}

// DotQ6_K returns the dot product of n elements (a multiple of 256) of Q6_K weights w with the Q8_K
// activation row x (AVX2), bit for bit the scalar reference dotQ6_KRef.
func DotQ6_K(w, x []byte, n int) float32 {
	nb := kqBlocks(n)
	if nb == 0 {
		return 0
	}
	_, _ = w[nb*kqQ6Bytes-1], x[nb*kqQ8Bytes-1]
	return dotQ6KAVX2(w, x, nb)
}

//go:noescape
func dotQ4KAVX2(w, x []byte, nb int) float32

//go:noescape
func dotQ4KVecAVX2(w, x []byte, nb int) float32

//go:noescape
func dotQ6KAVX2(w, x []byte, nb int) float32

// DotQ4_KVNNI is DotQ4_K on AVX-512 (BW, VL, VNNI; 512-bit registers).
func DotQ4_KVNNI(w, x []byte, n int) float32 {
	nb := kqBlocks(n)
	if nb == 0 {
		return 0
	}
	_, _ = w[nb*kqQ4Bytes-1], x[nb*kqQ8Bytes-1]
	return dotQ4KVNNI(w, x, nb)
}

// DotQ4_KVecVNNI is DotQ4_KVec on AVX-512 (BW, VL, VNNI; 512-bit registers).
func DotQ4_KVecVNNI(w, x []byte, n int) float32 {
	nb := kqBlocks(n)
	if nb == 0 {
		return 0
	}
	_, _ = w[nb*kqQ4Bytes-1], x[nb*kqQ8Bytes-1]
	return dotQ4KVecVNNI(w, x, nb)
}

// DotQ6_KVNNI is DotQ6_K on AVX-512 (BW, VL, VNNI; 512-bit registers).
func DotQ6_KVNNI(w, x []byte, n int) float32 {
	nb := kqBlocks(n)
	if nb == 0 {
		return 0
	}
	_, _ = w[nb*kqQ6Bytes-1], x[nb*kqQ8Bytes-1]
	return dotQ6KVNNI(w, x, nb)
}

//go:noescape
func dotQ4KVNNI(w, x []byte, nb int) float32

//go:noescape
func dotQ4KVecVNNI(w, x []byte, nb int) float32

//go:noescape
func dotQ6KVNNI(w, x []byte, nb int) float32
