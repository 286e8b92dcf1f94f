package gguf

import (
	"bytes"
	"errors"
	"testing"

	"github.com/wasmoe/wasmoe/internal/kernels"
)

// TestAddTensorFunc checks that tensors produced at write time give the same bytes as tensors added whole,
// and that a fill error stops the write with the tensor's name.
func TestAddTensorFunc(t *testing.T) {
	_, want := sample(t)
	w, _ := sample(t)
	w.tensors, w.fills, w.size = nil, nil, 0
	for _, tt := range []struct {
		name string
		typ  kernels.DType
		dims []uint64
		fill func([]byte)
	}{
		{"a", kernels.F32, []uint64{3, 2}, func(b []byte) {
			for i := range b {
				b[i] = byte(i)
			}
		}},
		{"b.weight", kernels.Q8_0, []uint64{64}, func(b []byte) { clear(b); b[5] = 9 }},
	} {
		if err := w.AddTensorFunc(tt.name, tt.typ, tt.dims, func(b []byte) error { tt.fill(b); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	var got bytes.Buffer
	if _, err := w.WriteTo(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("streamed file differs from the file built in memory (%d vs %d bytes)", got.Len(), len(want))
	}
	boom := errors.New("boom")
	w.fills[1] = func([]byte) error { return boom }
	if _, err := w.WriteTo(&bytes.Buffer{}); !errors.Is(err, boom) {
		t.Fatalf("fill error: %v", err)
	}
}
