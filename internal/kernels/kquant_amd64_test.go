//go:build amd64

package kernels

import (
	"bytes"
	"math"
	"testing"

	"golang.org/x/sys/cpu"

	"github.com/wasmoe/wasmoe/internal/kernels/internal/amd64"
)

// needAVX2 skips t unless the CPU runs the AVX2 + F16C kernels.
func needAVX2(t *testing.T) {
	t.Helper()
	if !cpu.X86.HasAVX2 || !cpu.X86.HasF16C {
		t.Skip("no AVX2/F16C")
	}
}

// kq5TestRows returns activation rows for the SIMD tests: the golden rows plus edge cases (a tie between
// +amax and -amax, where the first wins; a lone Inf; a NaN among finite values; all zeros but one tiny value).
func kq5TestRows(t *testing.T) [][]float32 {
	var rows [][]float32
	for _, row := range loadKQGoldens(t) {
		rows = append(rows, row.a, row.w)
	}
	r := newRand(11)
	for k := 0; k < 4; k++ {
		x := randVec(r, 2*qkK, 1)
		switch k {
		case 0:
			x[17], x[200] = -3, 3
			x[300], x[301] = 4, -4
		case 1:
			x[5] = float32(math.Inf(-1))
		case 2:
			x[9] = float32(math.NaN())
		case 3:
			clear(x)
			x[qkK+77] = 1e-30
		}
		rows = append(rows, x)
	}
	return rows
}

// TestQuantizeQ8_KAVX2 checks the AVX2 Q8_K quantizer byte for byte against quantizeActQ8_K.
func TestQuantizeQ8_KAVX2(t *testing.T) {
	needAVX2(t)
	for i, x := range kq5TestRows(t) {
		want := make([]byte, len(x)/qkK*q8KBlockSize)
		got := bytes.Repeat([]byte{0xa5}, len(want))
		quantizeActQ8_K(want, x)
		amd64.QuantizeQ8_K(got, x)
		for b := 0; b < len(want); b += q8KBlockSize {
			if e := b + q8KBlockSize; !bytes.Equal(got[b:e], want[b:e]) {
				t.Errorf("row %d block %d:\n got %x\nwant %x", i, b/q8KBlockSize, got[b:e], want[b:e])
			}
		}
	}
}

// TestDotQ5_KAVX2 checks the AVX2 Q5_K dot bit for bit against dotQ5_KRef, on ggml's Q5_K rows and on
// rows quantized here, against every test activation row of the same length.
func TestDotQ5_KAVX2(t *testing.T) {
	needAVX2(t)
	var ws, xs [][]byte
	for _, row := range loadKQGoldens(t) {
		ws = append(ws, row.types[Q5_K].q)
		xs = append(xs, row.act)
	}
	for _, x := range kq5TestRows(t) {
		w := make([]byte, len(x)/qkK*q5KBlockSize)
		quantizeQ5_K(w, x)
		a := make([]byte, len(x)/qkK*q8KBlockSize)
		quantizeActQ8_K(a, x)
		ws, xs = append(ws, w), append(xs, a)
	}
	checked := 0
	for i, w := range ws {
		n := len(w) / q5KBlockSize * qkK
		for j, x := range xs {
			if len(x) != n/qkK*q8KBlockSize {
				continue
			}
			want, got := dotQ5_KRef(w, x, n), amd64.DotQ5_K(w, x, n)
			if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
				t.Fatalf("weights %d · activations %d: got %g, want %g", i, j, got, want)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Fatalf("only %d pairs checked", checked)
	}
}
