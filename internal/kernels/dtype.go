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

// Known reports whether t is a ggml type this table describes (F8_E4M3, wasmoe's own, is not).
func (t DType) Known() bool { return typeTable[t] != nil && t < F8_E4M3 }

// BlockSize is the number of elements in one block (1 for plain float types).
func (t DType) BlockSize() int {
	if tr := typeTable[t]; tr != nil {
		return tr.block
	}
	return 0
}

// TypeSize is the number of bytes in one block.
func (t DType) TypeSize() int {
	if tr := typeTable[t]; tr != nil {
		return tr.size
	}
	return 0
}

// String is ggml's name for the type.
func (t DType) String() string {
	if tr := typeTable[t]; tr != nil {
		return tr.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// RowBytes returns the bytes of a row of n elements, or an error if n is not a whole number of blocks.
func (t DType) RowBytes(n int) (int, error) {
	tr := typeTable[t]
	if tr == nil {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(t))
	}
	if n%tr.block != 0 {
		return 0, fmt.Errorf("row of %d elements is not a multiple of the %s block size %d", n, tr.name, tr.block)
	}
	return n / tr.block * tr.size, nil
}
