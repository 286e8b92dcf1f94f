//go:build amd64

package kernels

import (
	"golang.org/x/sys/cpu"

	"github.com/wasmoe/wasmoe/internal/kernels/internal/amd64"
)

// avx2Set needs AVX2, FMA and F16C (every AVX2 CPU has the last two in practice; FMA is checked so that
// the set means "x86-64-v3").
var avx2Set = &kernelSet{
	name:     "avx2",
	level:    1,
	dotF32:   amd64.DotF32,
	dotF16:   amd64.DotF16,
	dotBF16:  amd64.DotBF16,
	dotQ8:    amd64.DotQ8,
	dotQ8x2:  amd64.DotQ8x2,
	dotQ8x8:  amd64.DotQ8x8,
	dotQ8Vec: amd64.DotQ8Vec,
	dotF8:    amd64.DotF8,
	quantQ8:  amd64.QuantizeQ8,
	axpy:     amd64.Axpy,
	axpyFMA:  amd64.AxpyFMA,
	axpyFMA4: amd64.AxpyFMA4,
	add:      amd64.Add,
	expSum:   amd64.ExpSumAVX2,
	f16ToF32: amd64.F16ToF32,
	roundF16: amd64.RoundF16,
	siluMul:  amd64.SiLUMulAVX2,
}

// avx512Set is avx2Set with the Q8_0 products on AVX-512 VNNI (VPDPBUSD on 256-bit registers) and SiLU on
// 512-bit registers.
var avx512Set = &kernelSet{
	name:     "avx512",
	level:    2,
	dotF32:   amd64.DotF32,
	dotF16:   amd64.DotF16,
	dotBF16:  amd64.DotBF16,
	dotQ8:    amd64.DotQ8VNNI,
	dotQ8x2:  amd64.DotQ8x2VNNI,
	dotQ8x8:  amd64.DotQ8x8VNNI,
	dotQ8Vec: amd64.DotQ8Vec,
	dotQ8I8:  dotQ8I8VNNI,
	dotF8:    amd64.DotF8,
	quantQ8:  amd64.QuantizeQ8,
	axpy:     amd64.Axpy,
	axpyFMA:  amd64.AxpyFMA,
	axpyFMA4: amd64.AxpyFMA4,
	add:      amd64.Add,
	expSum:   amd64.ExpSumAVX2,
	f16ToF32: amd64.F16ToF32,
	roundF16: amd64.RoundF16,
	siluMul:  amd64.SiLUMulAVX512,
}

// dotQ8I8VNNI is dotQ8I8Ref on AVX-512 VNNI: four vectors at a time, the rest one by one.
func dotQ8I8VNNI(out []float32, stride int, w []byte, xq []int8, xd []float32, xs []int32, nb, n int) {
	j := 0
	for ; j+4 <= n; j += 4 {
		amd64.DotQ8I8x4VNNI(out[j*stride:], stride, w, xq[j*nb*qk8:], xd[j*nb:], xs[j*nb:], nb)
	}
	for ; j < n; j++ {
		amd64.DotQ8I8VNNI(out[j*stride:], w, xq[j*nb*qk8:], xd[j*nb:], xs[j*nb:], nb)
	}
}

// packedI8 makes a typeTraits.dotI8 entry of a block type's one- and four-vector interleaved kernels:
// four vectors at a time, the rest one by one.
func packedI8(x1 func(out []float32, w, x []byte, nb int), x4 func(out []float32, stride int, w, x []byte, xStride, nb int)) func(out []float32, stride int, w, x []byte, xStride, nb, n int) {
	return func(out []float32, stride int, w, x []byte, xStride, nb, n int) {
		j := 0
		for ; j+4 <= n; j += 4 {
			x4(out[j*stride:], stride, w, x[j*xStride:], xStride, nb)
		}
		for ; j < n; j++ {
			x1(out[j*stride:], w, x[j*xStride:], nb)
		}
	}
}

// The interleaved kernels of the block types (AVX-512 VNNI only).
func init() {
	typeTable[Q4_K].dotI8[avx512Set.level] = packedI8(amd64.DotQ4KI8VNNI, amd64.DotQ4KI8x4VNNI)
	typeTable[Q5_0].dotI8[avx512Set.level] = packedI8(amd64.DotQ5_0I8VNNI, amd64.DotQ5_0I8x4VNNI)
}

// The dot kernels of the block types, per level: avx2, then avx512 (VNNI).
func init() {
	for t, k := range map[DType][2]func(w, x []byte, n int) float32{
		Q4_0:   {amd64.DotQ4_0, amd64.DotQ4_0VNNI},
		Q4_1:   {amd64.DotQ4_1, amd64.DotQ4_1VNNI},
		Q5_0:   {amd64.DotQ5_0, amd64.DotQ5_0VNNI},
		Q5_1:   {amd64.DotQ5_1, amd64.DotQ5_1VNNI},
		IQ4_NL: {amd64.DotIQ4_NL, amd64.DotIQ4_NLVNNI},
		Q4_K:   {amd64.DotQ4_K, amd64.DotQ4_KVNNI},
		Q5_K:   {amd64.DotQ5_K, nil},
		Q6_K:   {amd64.DotQ6_K, amd64.DotQ6_KVNNI},
	} {
		typeTable[t].dot[avx2Set.level] = k[0]
		typeTable[t].dot[avx512Set.level] = k[1]
	}
}

// The vec_dot-order kernels (see typeTraits.vecDot): avx2, then avx512 (VNNI).
func init() {
	typeTable[Q4_0].vecDot[avx2Set.level] = amd64.DotQ4_0Vec
	typeTable[Q4_0].vecDot[avx512Set.level] = amd64.DotQ4_0VecVNNI
	typeTable[Q4_K].vecDot[avx2Set.level] = amd64.DotQ4_KVec
	typeTable[Q4_K].vecDot[avx512Set.level] = amd64.DotQ4_KVecVNNI
}

// The activation quantizers with SIMD versions.
func init() {
	typeTable[Q8_K].actFromFloat[avx2Set.level] = amd64.QuantizeQ8_K
}

// The four-vector dot kernels of the block types, per level: avx2, then avx512 (VNNI).
func init() {
	for t, k := range map[DType][2]func(out []float32, stride int, w, x []byte, xStride, n int){
		Q4_K: {amd64.DotQ4_Kx4, amd64.DotQ4_Kx4VNNI},
		Q6_K: {amd64.DotQ6_Kx4, amd64.DotQ6_Kx4VNNI},
	} {
		typeTable[t].dotx4[avx2Set.level] = k[0]
		typeTable[t].dotx4[avx512Set.level] = k[1]
	}
}

// available lists the kernel sets this CPU can run, slowest first.
func available() []*kernelSet {
	sets := []*kernelSet{scalarSet}
	x := &cpu.X86
	if !x.HasAVX2 || !x.HasFMA || !x.HasF16C {
		return sets
	}
	sets = append(sets, avx2Set)
	if x.HasAVX512F && x.HasAVX512VL && x.HasAVX512BW && x.HasAVX512VNNI {
		sets = append(sets, avx512Set)
	}
	return sets
}
