package kernels

import (
	"slices"
	"strings"
	"testing"
)

// The supported types are the list, each found by its ggml name in any case, and writable.
func TestTypeTable(t *testing.T) {
	want := []DType{F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, BF16, F8_E4M3}
	if got := SupportedTypes(); !slices.Equal(got, want) {
		t.Fatalf("SupportedTypes() = %v, want %v", got, want)
	}
	for _, ty := range want {
		for _, name := range []string{ty.String(), strings.ToLower(ty.String())} {
			if got, ok := ParseType(name); !ok || got != ty {
				t.Errorf("ParseType(%q) = %v, %v; want %v", name, got, ok, ty)
			}
		}
		if Writable(ty) != (ty != F8_E4M3) {
			t.Errorf("Writable(%v) = %v", ty, Writable(ty))
		}
	}
	for _, name := range []string{"", "q9_0", "Q4_K_M", "F8"} {
		if ty, ok := ParseType(name); ok {
			t.Errorf("ParseType(%q) = %v, want none", name, ty)
		}
	}
	if Writable(IQ2_XXS) || Supported(IQ2_XXS) || Supported(Q8_K) || Supported(Q8_1) {
		t.Error("a type without kernels is supported or writable")
	}
}
