// Package quantize rewrites a model's weights in a llama-quantize preset (Q4_K_M, Q8_0, …): the same
// per-tensor type choice as llama.cpp's src/llama-quant.cpp (without an importance matrix), the same
// metadata, streamed one tensor at a time from a GGUF file or a Hugging Face directory (BF16, F16, F32 or
// DeepSeek-V3's FP8 with block scales) into a new GGUF file.
package quantize

import (
	"fmt"
	"strings"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// FileType is llama.cpp's llama_ftype, the value of general.file_type.
type FileType uint32

// The llama_ftype values of the presets (include/llama.h).
const (
	FtypeAllF32   FileType = 0
	FtypeF16      FileType = 1
	FtypeQ4_0     FileType = 2
	FtypeQ4_1     FileType = 3
	FtypeQ8_0     FileType = 7
	FtypeQ5_0     FileType = 8
	FtypeQ5_1     FileType = 9
	FtypeQ2_K     FileType = 10
	FtypeQ3_K_S   FileType = 11
	FtypeQ3_K_M   FileType = 12
	FtypeQ3_K_L   FileType = 13
	FtypeQ4_K_S   FileType = 14
	FtypeQ4_K_M   FileType = 15
	FtypeQ5_K_S   FileType = 16
	FtypeQ5_K_M   FileType = 17
	FtypeQ6_K     FileType = 18
	FtypeIQ2_XXS  FileType = 19
	FtypeIQ2_XS   FileType = 20
	FtypeQ2_K_S   FileType = 21
	FtypeIQ3_XS   FileType = 22
	FtypeIQ3_XXS  FileType = 23
	FtypeIQ1_S    FileType = 24
	FtypeIQ4_NL   FileType = 25
	FtypeIQ3_S    FileType = 26
	FtypeIQ3_M    FileType = 27
	FtypeIQ2_S    FileType = 28
	FtypeIQ2_M    FileType = 29
	FtypeIQ4_XS   FileType = 30
	FtypeIQ1_M    FileType = 31
	FtypeBF16     FileType = 32
	FtypeMXFP4MoE FileType = 38
)

// Preset is one of llama-quantize's type names: the file type it writes and the tensor type most
// matrices get (llama_ftype_get_default_type).
type Preset struct {
	Name     string
	FileType FileType
	Default  kernels.DType
}

// Presets are the presets wasmoe writes, in llama-quantize's order (tools/quantize/quantize.cpp
// QUANT_OPTIONS), aliases included. The presets that need an importance matrix (IQ1/IQ2/IQ3_XXS, Q2_K_S)
// and the ternary, MXFP4 and Q1/Q2_0 ones are not offered.
var Presets = []Preset{
	{"Q4_0", FtypeQ4_0, kernels.Q4_0},
	{"Q4_1", FtypeQ4_1, kernels.Q4_1},
	{"Q5_0", FtypeQ5_0, kernels.Q5_0},
	{"Q5_1", FtypeQ5_1, kernels.Q5_1},
	{"Q2_K", FtypeQ2_K, kernels.Q2_K},
	{"Q3_K", FtypeQ3_K_M, kernels.Q3_K}, // alias for Q3_K_M
	{"Q3_K_S", FtypeQ3_K_S, kernels.Q3_K},
	{"Q3_K_M", FtypeQ3_K_M, kernels.Q3_K},
	{"Q3_K_L", FtypeQ3_K_L, kernels.Q3_K},
	{"IQ4_NL", FtypeIQ4_NL, kernels.IQ4_NL},
	{"IQ4_XS", FtypeIQ4_XS, kernels.IQ4_XS},
	{"Q4_K", FtypeQ4_K_M, kernels.Q4_K}, // alias for Q4_K_M
	{"Q4_K_S", FtypeQ4_K_S, kernels.Q4_K},
	{"Q4_K_M", FtypeQ4_K_M, kernels.Q4_K},
	{"Q5_K", FtypeQ5_K_M, kernels.Q5_K}, // alias for Q5_K_M
	{"Q5_K_S", FtypeQ5_K_S, kernels.Q5_K},
	{"Q5_K_M", FtypeQ5_K_M, kernels.Q5_K},
	{"Q6_K", FtypeQ6_K, kernels.Q6_K},
	{"Q8_0", FtypeQ8_0, kernels.Q8_0},
	{"F16", FtypeF16, kernels.F16},
	{"BF16", FtypeBF16, kernels.BF16},
	{"F32", FtypeAllF32, kernels.F32},
}

// ParsePreset returns the preset named name (case-insensitive, as llama-quantize matches them), or an
// error listing the known names.
func ParsePreset(name string) (Preset, error) {
	for _, p := range Presets {
		if strings.EqualFold(p.Name, name) {
			return p, nil
		}
	}
	names := make([]string, len(Presets))
	for i, p := range Presets {
		names[i] = p.Name
	}
	return Preset{}, fmt.Errorf("unknown quantization type %q (known: %s)", name, strings.Join(names, ", "))
}

// isQuantized is ggml_is_quantized for the presets' default types: everything but the float types.
func isQuantized(t kernels.DType) bool {
	return t != kernels.F32 && t != kernels.F16 && t != kernels.BF16
}
