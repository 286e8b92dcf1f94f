package wasm

import (
	"context"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/builtin"
)

// An engine this binary does not have is refused, and the error lists the ones it has.
func TestUnknownEngine(t *testing.T) {
	_, err := NewRuntime(context.Background(), Config{Engine: "v8"})
	if err == nil || !strings.Contains(err.Error(), `"v8"`) || !strings.Contains(err.Error(), strings.Join(Engines(), ", ")) {
		t.Fatalf("engine v8: %v", err)
	}
	if Engines()[0] != EngineWazero {
		t.Fatalf("Engines() = %v: wazero, the default, comes first", Engines())
	}
}

// A module that fails to compile or fails the ABI check is refused and not kept; a good one is kept once.
func TestCompileKeepsOnlyGoodModules(t *testing.T) {
	r := newRuntime(t)
	ctx := context.Background()
	for _, bad := range [][]byte{[]byte("\x00asm\x01\x00\x00\x00 not a section"), builtin.Tokenizer} {
		if _, err := r.compile(ctx, bad, samplerKind); err == nil {
			t.Fatalf("%q compiled as a sampler", bad[:8])
		}
	}
	if n := len(r.compiled); n != 0 {
		t.Fatalf("%d refused modules kept", n)
	}
	for range 2 {
		if _, err := r.compile(ctx, builtin.Sampler, samplerKind); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.compiled); n != 1 {
		t.Fatalf("%d modules kept, want the sampler once", n)
	}
}
