package kernels

import (
	"encoding/binary"
	"math"
	"strings"
)

// typeTraits is one row of the type table: everything the kernels know about one tensor type, as ggml's
// type_traits and type_traits_cpu are for ggml. MatMul, MoE, DequantizeRow and the loaders read this table;
// no other code switches on a weight type, and adding a type means adding its row here.
//
// A device backend registers against the same table: it would add, per type, its own matmul entry point
// next to dot (see RATIONALE.md, "One table per type").
type typeTraits struct {
	name        string
	block, size int // elements and bytes per block

	// toFloat expands len(dst) elements (whole blocks) from src; nil means the type has no kernels.
	toFloat func(dst []float32, src []byte)
	// fromFloat writes whole blocks of src as llama-quantize writes the type without an importance
	// matrix; nil means wasmoe cannot write the type.
	fromFloat func(dst []byte, src []float32)

	// act is how MatMul brings the input vectors to the type it multiplies with (ggml's vec_dot_type).
	act actKind
	// actFromFloat quantizes one activation row into this type's blocks as ggml-cpu does on x86 (its
	// type_traits_cpu from_float), per kernel set level with dot's fallback; set on the types other types'
	// activations are brought to. Every entry gives the bytes actFromFloat[0] gives.
	actFromFloat [levels]func(dst []byte, src []float32)

	// loop is MatMul's row loop for the type (see matJob.run).
	loop rowLoop
	// dot is the dot product of a row of n weights with one packed activation row, per kernel set level
	// (see kernelSet.level); a nil entry falls back to the level below. Every entry returns bit for bit
	// what dot[0], the scalar reference, returns.
	dot [levels]func(w, x []byte, n int) float32
	// dotx4, where set, writes to out[j·stride], j = 0..3, the dot products of a row of n weights with the
	// four packed activation rows x[j·xStride:], each bit for bit what dot returns; per level with the
	// same fallback as dot. MatMul uses it for groups of four vectors when one is registered.
	dotx4 [levels]func(out []float32, stride int, w, x []byte, xStride, n int)
	// vecDot, where set, is dot in the float order of ggml-cpu's x86 vec_dot, for a type whose dot follows
	// its repacked gemv instead (Q4_0, Q4_K): MatMul uses it on a weight llama.cpp does not repack (see
	// vecOrder). Per level with dot's fallback; every entry returns what vecDot[0] returns.
	vecDot [levels]func(w, x []byte, n int) float32

	// interleave, where set, lays out one group of 8 rows of rowBytes each (rows) for the type's
	// interleaved kernels into dst, ilSize bytes per block of the group (see Interleave).
	interleave func(dst, rows []byte, rowBytes int)
	ilSize     int
	// dotI8, where set, computes one interleaved group of 8 rows (nb blocks) against the n packed
	// activation rows x[j·xStride:] into out[j·stride + r], r = 0..7, each bit for bit what dot returns on
	// the row; per level with dot's fallback. (Q8_0's interleaved kernel is kernelSet.dotQ8I8.)
	dotI8 [levels]func(out []float32, stride int, w, x []byte, xStride, nb, n int)
}

// rowLoop names one of MatMul's row loops (a value, not a func, so that MoE's jobs stay on the stack).
type rowLoop uint8

const (
	loopPacked rowLoop = iota // the type's dot kernel against packed activation rows
	loopF32
	loopHalf // F16 and BF16
	loopQ8   // Q8_0 with 8-vector and 2-row kernels
	loopF8
)

// actKind names the form MatMul's input vectors take for a weight type.
type actKind uint8

const (
	actF32     actKind = iota // the float32 inputs as they are (F32, F8_E4M3)
	actF16                    // rounded to fp16, held as float32
	actBF16                   // rounded to bf16, held as float32
	actQ8Split                // Q8_0 quants and scales in separate slices (Q8_0 weights' 8-vector kernels)
	actQ8_0                   // whole Q8_0 blocks, one row per vector
	actQ8_1                   // whole Q8_1 blocks
	actQ8_K                   // whole Q8_K blocks
	actQ8Sums                 // whole Q8_0 blocks, then each block's 8 lane sums × −16 (Q5_0; q5_0_interleave.go)
	actKinds
)

// packedType returns the block type of a packed activation kind (actQ8_0, actQ8_1, actQ8_K, actQ8Sums),
// and false for the other kinds.
func (k actKind) packedType() (DType, bool) {
	switch k {
	case actQ8_0, actQ8Sums:
		return Q8_0, true
	case actQ8_1:
		return Q8_1, true
	case actQ8_K:
		return Q8_K, true
	}
	return 0, false
}

// rowBytes is the size of one packed activation row of cols values (a multiple of the block) of kind k.
func (k actKind) rowBytes(cols int) int {
	if k == actQ8Sums {
		return q8SumsRowBytes(cols)
	}
	t, _ := k.packedType()
	n, _ := t.RowBytes(cols)
	return n
}

// levels is the number of kernel set levels: scalar, avx2, avx512.
const levels = 3

// actFor returns the activation quantizer of kernel set k for the type, as dotFor does.
func (tr *typeTraits) actFor(k *kernelSet) func(dst []byte, src []float32) {
	for l := k.level; l >= 0; l-- {
		if tr.actFromFloat[l] != nil {
			return tr.actFromFloat[l]
		}
	}
	return nil
}

// dotFor returns the dot kernel of kernel set k for the type: the one registered at k's level, or the
// nearest one below.
func (tr *typeTraits) dotFor(k *kernelSet) func(w, x []byte, n int) float32 {
	for l := k.level; l >= 0; l-- {
		if tr.dot[l] != nil {
			return tr.dot[l]
		}
	}
	return nil
}

// vecDotFor returns the vec_dot-order dot kernel of kernel set k for the type, as dotFor does, or nil if
// the type has none.
func (tr *typeTraits) vecDotFor(k *kernelSet) func(w, x []byte, n int) float32 {
	for l := k.level; l >= 0; l-- {
		if tr.vecDot[l] != nil {
			return tr.vecDot[l]
		}
	}
	return nil
}

// vecOrder reports whether MatMul multiplies w in vec_dot's order: the type has a vecDot and llama.cpp
// would not repack w, because it is marked VecDot or its row count is not a multiple of 8 (the condition
// of ggml_repack_get_optimal_repack_type for the x86 repacked types); or w is a Q8_0 matrix marked VecDot
// (kernelSet.dotQ8Vec). Such a matrix gets no interleaved copy.
func (tr *typeTraits) vecOrder(w Matrix) bool {
	return tr.vecDot[0] != nil && (w.VecDot || w.Rows%8 != 0) || tr.loop == loopQ8 && w.VecDot
}

// dotx4For returns the four-vector dot kernel of kernel set k for the type: the one registered at k's
// level, or the nearest one below, or nil if there is none.
func (tr *typeTraits) dotx4For(k *kernelSet) func(out []float32, stride int, w, x []byte, xStride, n int) {
	for l := k.level; l >= 0; l-- {
		if tr.dotx4[l] != nil {
			return tr.dotx4[l]
		}
	}
	return nil
}

// dotI8For returns the interleaved kernel of kernel set k for the type: the one registered at k's level
// or the nearest SIMD one below; the scalar reference only for the scalar set (a SIMD set without an
// interleaved kernel is faster on the rows). nil when there is none.
func (tr *typeTraits) dotI8For(k *kernelSet) func(out []float32, stride int, w, x []byte, xStride, nb, n int) {
	for l := k.level; l >= min(k.level, 1); l-- {
		if tr.dotI8[l] != nil {
			return tr.dotI8[l]
		}
	}
	return nil
}

// typeTable is the type table. Types with a nil toFloat are listed so that files holding them can be read
// and reported.
var typeTable = map[DType]*typeTraits{
	F32: {name: "F32", block: 1, size: 4, toFloat: f32FromBytes, fromFloat: f32ToBytes, act: actF32,
		loop: loopF32},
	F16: {name: "F16", block: 1, size: 2, toFloat: f16ToF32Row, fromFloat: f16FromFloat, act: actF16,
		loop: loopHalf},
	BF16: {name: "BF16", block: 1, size: 2, toFloat: bf16ToF32Row, fromFloat: bf16FromFloat, act: actBF16,
		loop: loopHalf},
	Q8_0: {name: "Q8_0", block: 32, size: 34, toFloat: dequantQ8_0, fromFloat: QuantizeRowQ8_0, act: actQ8Split,
		loop: loopQ8, actFromFloat: [levels]func([]byte, []float32){quantizeActQ8_0},
		interleave: interleaveQ8, ilSize: q8GroupBlockBytes},
	F8_E4M3: {name: "F8_E4M3", block: 1, size: 1, toFloat: dequantF8Unscaled, act: actF32, loop: loopF8},

	Q4_0: {name: "Q4_0", block: 32, size: 18, toFloat: dequantQ4_0, fromFloat: quantizeQ4_0, act: actQ8_0,
		dot:    [levels]func(w, x []byte, n int) float32{dotQ4_0Ref},
		vecDot: [levels]func(w, x []byte, n int) float32{dotQ4_0VecRef}},
	Q4_1: {name: "Q4_1", block: 32, size: 20, toFloat: dequantQ4_1, fromFloat: quantizeQ4_1, act: actQ8_1,
		dot: [levels]func(w, x []byte, n int) float32{dotQ4_1Ref}},
	Q5_0: {name: "Q5_0", block: 32, size: 22, toFloat: dequantQ5_0, fromFloat: quantizeQ5_0, act: actQ8Sums,
		dot:        [levels]func(w, x []byte, n int) float32{dotQ5_0Ref},
		interleave: interleaveQ5_0, ilSize: q5_0GroupBytes,
		dotI8: [levels]func(out []float32, stride int, w, x []byte, xStride, nb, n int){dotQ5_0I8Ref}},
	Q5_1: {name: "Q5_1", block: 32, size: 24, toFloat: dequantQ5_1, fromFloat: quantizeQ5_1, act: actQ8_1,
		dot: [levels]func(w, x []byte, n int) float32{dotQ5_1Ref}},
	IQ4_NL: {name: "IQ4_NL", block: 32, size: 18, toFloat: dequantIQ4_NL, fromFloat: quantizeIQ4_NL, act: actQ8_0,
		dot: [levels]func(w, x []byte, n int) float32{dotIQ4_NLRef}},
	Q8_1: {name: "Q8_1", block: 32, size: 36, actFromFloat: [levels]func([]byte, []float32){quantizeActQ8_1}},
	Q2_K: {name: "Q2_K", block: 256, size: 84, toFloat: dequantQ2_K, fromFloat: quantizeQ2_K, act: actQ8_K,
		dot: [levels]func(w, x []byte, n int) float32{dotQ2_KRef}},
	Q3_K: {name: "Q3_K", block: 256, size: 110, toFloat: dequantQ3_K, fromFloat: quantizeQ3_K, act: actQ8_K,
		dot: [levels]func(w, x []byte, n int) float32{dotQ3_KRef}},
	Q4_K: {name: "Q4_K", block: 256, size: 144, toFloat: dequantQ4_K, fromFloat: quantizeQ4_K, act: actQ8_K,
		dot:        [levels]func(w, x []byte, n int) float32{dotQ4_KRef},
		vecDot:     [levels]func(w, x []byte, n int) float32{dotQ4_KVecRef},
		interleave: interleaveQ4K, ilSize: q4KGroupBytes,
		dotI8: [levels]func(out []float32, stride int, w, x []byte, xStride, nb, n int){dotQ4KI8Ref}},
	Q5_K: {name: "Q5_K", block: 256, size: 176, toFloat: dequantQ5_K, fromFloat: quantizeQ5_K, act: actQ8_K,
		dot: [levels]func(w, x []byte, n int) float32{dotQ5_KRef}},
	Q6_K: {name: "Q6_K", block: 256, size: 210, toFloat: dequantQ6_K, fromFloat: quantizeQ6_K, act: actQ8_K,
		dot: [levels]func(w, x []byte, n int) float32{dotQ6_KRef}},
	IQ4_XS: {name: "IQ4_XS", block: 256, size: 136, toFloat: dequantIQ4_XS, fromFloat: quantizeIQ4_XS, act: actQ8_K,
		dot: [levels]func(w, x []byte, n int) float32{dotIQ4_XSRef}},
	Q8_K:    {name: "Q8_K", block: 256, size: 292, actFromFloat: [levels]func([]byte, []float32){quantizeActQ8_K}},
	IQ2_XXS: {name: "IQ2_XXS", block: 256, size: 66}, IQ2_XS: {name: "IQ2_XS", block: 256, size: 74},
	IQ3_XXS: {name: "IQ3_XXS", block: 256, size: 98}, IQ1_S: {name: "IQ1_S", block: 256, size: 50},
	IQ3_S: {name: "IQ3_S", block: 256, size: 110},
	IQ2_S: {name: "IQ2_S", block: 256, size: 82},
	I8:    {name: "I8", block: 1, size: 1}, I16: {name: "I16", block: 1, size: 2}, I32: {name: "I32", block: 1, size: 4},
	I64: {name: "I64", block: 1, size: 8}, F64: {name: "F64", block: 1, size: 8},
	IQ1_M: {name: "IQ1_M", block: 256, size: 56}, TQ1_0: {name: "TQ1_0", block: 256, size: 54},
	TQ2_0: {name: "TQ2_0", block: 256, size: 66}, MXFP4: {name: "MXFP4", block: 32, size: 17},
}

// Supported reports whether the kernels can dequantize and multiply tensors of type t.
func Supported(t DType) bool {
	tr := typeTable[t]
	return tr != nil && tr.toFloat != nil && (tr.loop != loopPacked || tr.dot[0] != nil)
}

// Writable reports whether wasmoe can quantize float values to type t (QuantizeRow).
func Writable(t DType) bool {
	tr := typeTable[t]
	return tr != nil && tr.fromFloat != nil && t != F8_E4M3
}

// SupportedTypes lists the types with kernels, in ggml's numbering order (F8_E4M3 last).
func SupportedTypes() []DType {
	var ts []DType
	for t := DType(0); t <= F8_E4M3; t++ {
		if Supported(t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// ParseType returns the type ggml names name (case-insensitive: "q4_k", "Q8_0", "bf16"), and whether there
// is one.
func ParseType(name string) (DType, bool) {
	for t, tr := range typeTable {
		if strings.EqualFold(tr.name, name) {
			return t, true
		}
	}
	return 0, false
}

// f32FromBytes reads little-endian float32 values.
func f32FromBytes(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// f32ToBytes writes little-endian float32 values.
func f32ToBytes(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

// f16FromFloat writes src rounded to fp16, little-endian.
func f16FromFloat(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(v))
	}
}

// bf16ToF32Row widens little-endian bf16 values.
func bf16ToF32Row(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// bf16FromFloat writes src rounded to bf16, little-endian.
func bf16FromFloat(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
	}
}

// dequantQ8_0 expands Q8_0 blocks: value j of a block is d·qs[j].
func dequantQ8_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qk8; b++ {
		blk := src[b*q8BlockSize : (b+1)*q8BlockSize]
		d := F16ToF32(binary.LittleEndian.Uint16(blk))
		for j, q := range blk[2:] {
			dst[b*qk8+j] = d * float32(int8(q))
		}
	}
}

// dequantF8Unscaled expands FP8 E4M3 bytes to the values they hold, without block scales.
func dequantF8Unscaled(dst []float32, src []byte) {
	for i, q := range src[:len(dst)] {
		dst[i] = f8Table[q]
	}
}
