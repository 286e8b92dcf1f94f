package kernels

import "math"

// SiLU as ggml-cpu computes it on AVX-512 (ggml_vec_swiglu_f32 over ggml_v_silu and ggml_v_expf in
// ggml/src/ggml-cpu/vec.h): e^x by a range reduction x = n·ln2 + b (n = round(x·log2 e), ln2 split in two
// parts), a degree-5 polynomial in b evaluated with fused multiply-adds, and a scale by 2^n; |n| > 192 gives
// 0 or +Inf. Its error is within a few ulp of e^x; llama.cpp itself uses it, so swiglu matches llama.cpp's
// to the bit where llama.cpp takes this path (its AVX2 build uses another approximation of the same
// accuracy). The scalar functions here are the reference; the AVX2 and AVX-512 kernels (kernelSet.siluMul)
// give the same bits, so results depend neither on the kernel set nor on how a row is split. The scalar
// reference is about 5x slower than math.Exp (exact float32 fused multiply-adds emulated in float64).

// The constants of ggml_v_expf, each exactly a float32.
const (
	expRound = 0x1.8p23       // adding it rounds to an integer
	expLog2e = 0x1.715476p+0  // log2 e
	expLn2Hi = 0x1.62e4p-1    // ln 2, high part
	expLn2Lo = 0x1.7f7d1cp-20 // ln 2, low part
	expC5    = 0x1.0e4020p-7
	expC4    = 0x1.573e2ep-5
	expC3    = 0x1.555e66p-3
	expC2    = 0x1.fffdb6p-2
	expC1    = 0x1.ffffecp-1
)

// expGGML is ggml_v_expf for one value, bit for bit (the float32 fused multiply-adds exact, see fma32).
func expGGML(x float32) float32 {
	z := fma32(x, expLog2e, expRound)
	n := z - expRound
	b := fma32(-n, expLn2Lo, fma32(-n, expLn2Hi, x))
	if n != n {
		return float32(math.NaN())
	}
	if abs32(n) > 192 {
		if n <= 0 {
			return 0
		}
		return float32(math.Inf(1))
	}
	u := b * b
	j := fma32(fma32(fma32(expC5, b, expC4), u, fma32(expC3, b, expC2)), u, fma32(expC1, b, 1))
	return float32(float64(j) * math.Float64frombits(uint64(int64(n)+1023)<<52)) // VSCALEFPS: j·2^n rounded once
}

// fma32 is a·b + c with one rounding to float32, as VFMADD*PS computes it. The product is exact in
// float64; the sum is rounded to odd there (round to nearest, then, if inexact and even, one step towards
// the exact value), which makes the final rounding to float32 correct; infinities and NaNs pass through.
func fma32(a, b, c float32) float32 {
	p, q := float64(float64(a)*float64(b)), float64(c) // the conversion forbids fusing p into s
	s := p + q
	if math.IsInf(s, 0) || s != s { // an infinite or NaN operand: no rounding to correct
		return float32(s)
	}
	bb := s - p
	e := (p - (s - bb)) + (q - bb) // the exact error of s (TwoSum)
	sb, eb := math.Float64bits(s), math.Float64bits(e)
	nz := eb << 1
	m := (^sb & 1) & ((nz | -nz) >> 63) // 1 when s is even and inexact
	sd := (sb ^ eb) >> 63               // 1 when the exact value is nearer zero than s
	return float32(math.Float64frombits(sb + m - 2*m*sd))
}

// siluMulRef sets gate[i] = silu(gate[i])·up[i] with silu(g) = g/(1 + expGGML(0 − g)), in ggml_v_silu's
// order.
func siluMulRef(gate, up []float32) {
	up = up[:len(gate)]
	for i, g := range gate {
		gate[i] = g / (1 + expGGML(0-g)) * up[i]
	}
}
