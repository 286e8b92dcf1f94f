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

// ExpSumAVX2 sets x[i] = e^(x[i] − m) with ggml_v_expf's arithmetic (kernels.expGGML's bits), 16 values at
// a time, and returns the float64 sum of the 16s' float32 folds (kernels.expSumRef); len(x) must be a
// multiple of 16.
func ExpSumAVX2(x []float32, m float32) float64 {
	if len(x) == 0 {
		return 0
	}
	if len(x)%16 != 0 {
		panic("amd64: ExpSumAVX2 of a length that is not a multiple of 16")
	}
	return expSumAVX2(&x[0], len(x), m)
}

//go:noescape
func expSumAVX2(x *float32, n int, m float32) float64
