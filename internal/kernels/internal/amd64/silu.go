//go:build amd64

package amd64

// SiLUMulAVX512 sets gate[i] = silu(gate[i])·up[i] for i < len(gate)&^15, 16 values at a time, with
// ggml_v_silu and ggml_v_expf's arithmetic (kernels.siluMulRef's bits), and returns how many it did.
func SiLUMulAVX512(gate, up []float32) int {
	n := len(gate) &^ 15
	if n == 0 {
		return 0
	}
	_ = up[n-1]
	siluMulAVX512(&gate[0], &up[0], n)
	return n
}

//go:noescape
func siluMulAVX512(gate, up *float32, n int)

// SiLUMulAVX2 is SiLUMulAVX512 on 8 values at a time with AVX2 and FMA (i < len(gate)&^7), the same bits.
func SiLUMulAVX2(gate, up []float32) int {
	n := len(gate) &^ 7
	if n == 0 {
		return 0
	}
	_ = up[n-1]
	siluMulAVX2(&gate[0], &up[0], n)
	return n
}

//go:noescape
func siluMulAVX2(gate, up *float32, n int)
