package wasm

import (
	"context"
	"strings"
	"testing"
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
