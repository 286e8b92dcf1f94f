package kernels

import (
	"runtime"
	"slices"
	"testing"
)

func TestSetISA(t *testing.T) {
	prev := ISA()
	defer SetISA(prev)
	names := ISAs()
	if names[0] != "scalar" || !slices.Contains(names, prev) {
		t.Fatalf("ISAs() = %v with %q active", names, prev)
	}
	for _, n := range names {
		if err := SetISA(n); err != nil || ISA() != n {
			t.Fatalf("SetISA(%q): %v, ISA() = %q", n, err, ISA())
		}
	}
	if err := SetISA("bogus"); err == nil || ISA() != names[len(names)-1] {
		t.Fatalf("SetISA(bogus): %v, ISA() = %q", err, ISA())
	}
	if runtime.GOARCH != "amd64" && !slices.Equal(names, []string{"scalar"}) {
		t.Fatalf("ISAs() = %v off amd64", names)
	}
}
