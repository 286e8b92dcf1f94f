// Package kernels holds the numeric kernels of wasmoe: tensor element types and their block formats,
// dequantization, dot products, matrix-vector and matrix-matrix products on a persistent worker pool, and the
// small per-token operations (norms, RoPE, softmax, attention). Kernels know nothing of models or files.
package kernels

import "fmt"

// DType is a tensor element type, numbered as ggml numbers them (so GGUF type ids map directly), plus
// F8_E4M3, which ggml does not have.
type DType uint32

// The ggml types. Only some have kernels (see Supported); the rest are listed so that files holding them can be
// read and reported.
const (
	F32     DType = 0
	F16     DType = 1
	Q4_0    DType = 2
	Q4_1    DType = 3
	Q5_0    DType = 6
	Q5_1    DType = 7
	Q8_0    DType = 8
	Q8_1    DType = 9
	Q2_K    DType = 10
	Q3_K    DType = 11
	Q4_K    DType = 12
	Q5_K    DType = 13
	Q6_K    DType = 14
	Q8_K    DType = 15
	IQ2_XXS DType = 16
	IQ2_XS  DType = 17
	IQ3_XXS DType = 18
	IQ1_S   DType = 19
	IQ4_NL  DType = 20
	IQ3_S   DType = 21
	IQ2_S   DType = 22
	IQ4_XS  DType = 23
	I8      DType = 24
	I16     DType = 25
	I32     DType = 26
	I64     DType = 27
	F64     DType = 28
	IQ1_M   DType = 29
	BF16    DType = 30
	TQ1_0   DType = 34
	TQ2_0   DType = 35
	MXFP4   DType = 39

	// F8_E4M3 is FP8 E4M3 (torch.float8_e4m3fn), one byte per element, with float32 scales per 128×128
	// block held in Matrix.Scale (DeepSeek-V3's safetensors weights). It is not a ggml type: its number is
	// outside ggml's range and Known reports false for it, so no GGUF file can claim it.
	F8_E4M3 DType = 1000
)

// traits is one row of the type table: elements per block, bytes per block, name.
type traits struct {
	block, size int
	name        string
}

var typeTable = map[DType]traits{
	F32: {1, 4, "F32"}, F16: {1, 2, "F16"}, Q4_0: {32, 18, "Q4_0"}, Q4_1: {32, 20, "Q4_1"},
	Q5_0: {32, 22, "Q5_0"}, Q5_1: {32, 24, "Q5_1"}, Q8_0: {32, 34, "Q8_0"}, Q8_1: {32, 36, "Q8_1"},
	Q2_K: {256, 84, "Q2_K"}, Q3_K: {256, 110, "Q3_K"}, Q4_K: {256, 144, "Q4_K"}, Q5_K: {256, 176, "Q5_K"},
	Q6_K: {256, 210, "Q6_K"}, Q8_K: {256, 292, "Q8_K"}, IQ2_XXS: {256, 66, "IQ2_XXS"}, IQ2_XS: {256, 74, "IQ2_XS"},
	IQ3_XXS: {256, 98, "IQ3_XXS"}, IQ1_S: {256, 50, "IQ1_S"}, IQ4_NL: {32, 18, "IQ4_NL"}, IQ3_S: {256, 110, "IQ3_S"},
	IQ2_S: {256, 82, "IQ2_S"}, IQ4_XS: {256, 136, "IQ4_XS"}, I8: {1, 1, "I8"}, I16: {1, 2, "I16"}, I32: {1, 4, "I32"},
	I64: {1, 8, "I64"}, F64: {1, 8, "F64"}, IQ1_M: {256, 56, "IQ1_M"}, BF16: {1, 2, "BF16"},
	TQ1_0: {256, 54, "TQ1_0"}, TQ2_0: {256, 66, "TQ2_0"}, MXFP4: {32, 17, "MXFP4"},
	F8_E4M3: {1, 1, "F8_E4M3"},
}

// Known reports whether t is a ggml type this table describes (F8_E4M3, wasmoe's own, is not).
func (t DType) Known() bool { _, ok := typeTable[t]; return ok && t < F8_E4M3 }

// BlockSize is the number of elements in one block (1 for plain float types).
func (t DType) BlockSize() int { return typeTable[t].block }

// TypeSize is the number of bytes in one block.
func (t DType) TypeSize() int { return typeTable[t].size }

// String is ggml's name for the type.
func (t DType) String() string {
	if tr, ok := typeTable[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// RowBytes returns the bytes of a row of n elements, or an error if n is not a whole number of blocks.
func (t DType) RowBytes(n int) (int, error) {
	tr, ok := typeTable[t]
	if !ok {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(t))
	}
	if n%tr.block != 0 {
		return 0, fmt.Errorf("row of %d elements is not a multiple of the %s block size %d", n, tr.name, tr.block)
	}
	return n / tr.block * tr.size, nil
}
