package kernels

import (
	"fmt"
	"math"
)

// FP8 E4M3 weights (torch.float8_e4m3fn, spec §6.1–6.2) stay one byte per element in memory. A Matrix of
// type F8_E4M3 carries, in Scale, one float32 multiplier per F8Block×F8Block block of the matrix (DeepSeek's
// weight_scale_inv): W[i][j] = fp8(X[i][j]) · Scale[(i/128)·ceil(Cols/128) + j/128]. Edge blocks are partial.
//
// MatMul multiplies such a matrix by float32 activations as they are (no conversion of x). The float order
// is part of the definition, the one of dot.go applied block by block: for each 128-column block of a row,
// element j of the block goes into lane j%32 of 32 float32 partial sums (the product fp8·x, then the add;
// never a fused multiply-add), the lanes fold pairwise (k += k+16, then k+8, k+4, k+2, k+1), the products of
// a partial block's len%32 tail are added one by one, and the block sum times the block's scale is added to
// a float32 accumulator, blocks in order. Every kernel set returns bit for bit what dotF8Ref (in the tests)
// returns, except that a NaN weight code yields a NaN whose bits may differ.

// F8Block is the side of the square blocks that share one scale in an F8_E4M3 Matrix.
const F8Block = 128

// f8MaxFinite is the largest finite E4M3 value (codes 0x7E, 0xFE).
const f8MaxFinite = 448

// F8E4M3ToF32 decodes an FP8 E4M3 value (torch.float8_e4m3fn): bit 7 is the sign, bits 6..3 the exponent
// e (bias 7), bits 2..0 the mantissa m. e == 0 is subnormal, ±m·2^-9; e == 15 with m == 7 is NaN (there are
// no infinities); everything else is ±2^(e-7)·(1 + m/8), at most ±448. The conversion is exact.
func F8E4M3ToF32(b byte) float32 {
	e, m := int(b>>3&15), float64(b&7)
	var v float64
	switch {
	case e == 15 && m == 7:
		v = math.NaN()
	case e == 0:
		v = math.Ldexp(m, -9)
	default:
		v = math.Ldexp(8+m, e-10)
	}
	if b&0x80 != 0 {
		v = -v
	}
	return float32(v)
}

// F32ToF8E4M3 rounds a float32 to the nearest FP8 E4M3 value, ties to even, as torch's conversion to
// float8_e4m3fn does, except that it saturates: every magnitude above 448 (infinities included) becomes
// ±448 where torch gives NaN. NaN stays NaN; the sign of zero is kept.
func F32ToF8E4M3(f float32) byte {
	sign := byte(math.Float32bits(f)>>24) & 0x80
	a := math.Abs(float64(f))
	switch {
	case a != a:
		return sign | 0x7F
	case a >= f8MaxFinite:
		return sign | 0x7E
	case a < 0x1p-6: // subnormal range: the code is the multiple of 2^-9 itself (8 carries into e = 1)
		return sign | byte(math.RoundToEven(a*512))
	}
	frac, exp := math.Frexp(a) // a = frac·2^exp, frac in [0.5, 1): e = exp-1, mantissa·8 = frac·16
	q := int(math.RoundToEven(frac * 16))
	return sign | byte((exp+6)<<3+q-8) // q == 16 carries into the exponent
}

// f8Table maps every E4M3 code to its value.
var f8Table = func() (t [256]float32) {
	for i := range t {
		t[i] = F8E4M3ToF32(byte(i))
	}
	return t
}()

// f8Blocks returns the number of F8Block-sized blocks that cover n.
func f8Blocks(n int) int { return (n + F8Block - 1) / F8Block }

// QuantizeF8 quantizes the rows×cols float32 matrix x (row-major) to FP8 E4M3 with F8Block×F8Block block
// scales, as DeepSeek-V3's checkpoints are made: per block, scale = amax/448 (the value stored as
// weight_scale_inv), each element becomes F32ToF8E4M3(x/scale) (so the block's largest magnitude maps to
// ±448). A block whose scale would be 0 (all zeros, or all below 1e-42) gets scale 1. It panics if len(x) != rows·cols, rows < 0,
// cols <= 0 or x holds an infinity or NaN.
func QuantizeF8(x []float32, rows, cols int) Matrix {
	if rows < 0 || cols <= 0 || len(x) != rows*cols {
		panic(fmt.Sprintf("kernels: QuantizeF8 of %d values as %dx%d", len(x), rows, cols))
	}
	nbc := f8Blocks(cols)
	w := Matrix{Type: F8_E4M3, Rows: rows, Cols: cols, Data: make([]byte, rows*cols),
		Scale: make([]float32, f8Blocks(rows)*nbc)}
	for i, v := range x {
		if math.IsInf(float64(v), 0) || v != v {
			panic(fmt.Sprintf("kernels: QuantizeF8: element [%d][%d] is %v", i/cols, i%cols, v))
		}
	}
	for br := range f8Blocks(rows) {
		r0, r1 := br*F8Block, min((br+1)*F8Block, rows)
		for bc := range nbc {
			c0, c1 := bc*F8Block, min((bc+1)*F8Block, cols)
			var amax float32
			for r := r0; r < r1; r++ {
				for _, v := range x[r*cols+c0 : r*cols+c1] {
					amax = max(amax, abs32(v))
				}
			}
			s := amax / f8MaxFinite
			if s == 0 {
				s = 1
			}
			w.Scale[br*nbc+bc] = s
			for r := r0; r < r1; r++ {
				for c := c0; c < c1; c++ {
					w.Data[r*cols+c] = F32ToF8E4M3(x[r*cols+c] / s)
				}
			}
		}
	}
	return w
}

// f8RowScales returns the scales of row r of the F8_E4M3 matrix w: one per 128-column block.
func (w Matrix) f8RowScales(r int) []float32 {
	nbc := f8Blocks(w.Cols)
	return w.Scale[r/F8Block*nbc : (r/F8Block+1)*nbc]
}

// dequantizeF8Row writes the values of the FP8 row w, with its block scales, into dst[:len(w)].
func dequantizeF8Row(dst []float32, w []byte, scale []float32) {
	dst = dst[:len(w)]
	for b, s := range scale {
		lo, hi := b*F8Block, min((b+1)*F8Block, len(w))
		for j, q := range w[lo:hi] {
			dst[lo+j] = f8Table[q] * s
		}
	}
}

// dotF8 is the dot product of the FP8 row w, with its block scales, and x[:len(w)] on the kernel set k:
// k's kernel takes the whole blocks, the partial one at the end (if any) is added here, in order.
func dotF8(k *kernelSet, w []byte, x []float32, scale []float32) float32 {
	full := len(w) / F8Block
	acc := k.dotF8(w, x, scale[:full])
	if full < len(scale) {
		lo := full * F8Block
		acc += float32(scale[full] * dotF8Block(w[lo:], x[lo:len(w)]))
	}
	return acc
}

// dotF8Blocks is the portable kernel of dotF8: len(scale) whole blocks.
func dotF8Blocks(w []byte, x []float32, scale []float32) float32 {
	var acc float32
	for b, s := range scale {
		lo := b * F8Block
		acc += float32(s * dotF8Block(w[lo:lo+F8Block], x[lo:lo+F8Block]))
	}
	return acc
}

// dotF8Block is the unscaled dot product of one block (at most F8Block elements) of FP8 weights with
// x[:len(w)], in the order at the top of this file: it sums the 32 lanes 8 at a time and folds them in
// registers, as fold32 would.
func dotF8Block(w []byte, x []float32) float32 {
	x = x[:len(w)]
	np := len(w) &^ 31
	c0, c1, c2, c3, c4, c5, c6, c7 := f8Lanes(w, x, 16, np)
	a0, a1, a2, a3, a4, a5, a6, a7 := f8Lanes(w, x, 0, np)
	a0, a1, a2, a3, a4, a5, a6, a7 = a0+c0, a1+c1, a2+c2, a3+c3, a4+c4, a5+c5, a6+c6, a7+c7 // k += k+16, k < 8
	c0, c1, c2, c3, c4, c5, c6, c7 = f8Lanes(w, x, 24, np)
	b0, b1, b2, b3, b4, b5, b6, b7 := f8Lanes(w, x, 8, np)
	b0, b1, b2, b3, b4, b5, b6, b7 = b0+c0, b1+c1, b2+c2, b3+c3, b4+c4, b5+c5, b6+c6, b7+c7 // k += k+16, 8 ≤ k < 16
	a0, a1, a2, a3, a4, a5, a6, a7 = a0+b0, a1+b1, a2+b2, a3+b3, a4+b4, a5+b5, a6+b6, a7+b7 // k += k+8
	a0, a1, a2, a3 = a0+a4, a1+a5, a2+a6, a3+a7
	a0, a1 = a0+a2, a1+a3
	s := a0 + a1
	t := &f8Table
	for i := np; i < len(w); i++ {
		s += float32(t[w[i]] * x[i])
	}
	return s
}

// f8Lanes returns lanes g … g+7 of a block's 32 partial sums: lane g+k adds the products of the elements
// g+k, g+k+32, … below np, in that order.
func f8Lanes(w []byte, x []float32, g, np int) (s0, s1, s2, s3, s4, s5, s6, s7 float32) {
	t := &f8Table
	for i := g; i < np; i += 32 {
		w, x := w[i:i+8:i+8], x[i:i+8:i+8]
		s0 += float32(t[w[0]] * x[0])
		s1 += float32(t[w[1]] * x[1])
		s2 += float32(t[w[2]] * x[2])
		s3 += float32(t[w[3]] * x[3])
		s4 += float32(t[w[4]] * x[4])
		s5 += float32(t[w[5]] * x[5])
		s6 += float32(t[w[6]] * x[6])
		s7 += float32(t[w[7]] * x[7])
	}
	return
}

// runF8 computes rows [r0, r1) of an F8_E4M3 MatMul against the F32 inputs.
func (m *matJob) runF8(r0, r1 int) {
	c, rows := m.w.Cols, m.w.Rows
	for i := 0; i < m.n; i++ {
		xi := m.x[i*c : (i+1)*c]
		for r := r0; r < r1; r++ {
			m.out[i*rows+r] = dotF8(m.k, m.row(r), xi, m.w.f8RowScales(r))
		}
	}
}
