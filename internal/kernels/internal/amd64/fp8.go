//go:build amd64

package amd64

// f8Block is the number of FP8 weights that share one scale along a row.
const f8Block = 128

// DotF8 returns the dot product of the FP8 E4M3 weights w with float32 activations x over len(scale)
// whole 128-element blocks, block b's sum multiplied by scale[b] (AVX2 + F16C).
func DotF8(w []byte, x []float32, scale []float32) float32 {
	n := len(scale) * f8Block
	_, _ = w[:n], x[:n]
	return dotF8AVX2(w, x, scale)
}

//go:noescape
func dotF8AVX2(w []byte, x []float32, scale []float32) float32
