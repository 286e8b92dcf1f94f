package kernels

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"math"
	"os"
	"testing"
)

// TestQ4_KGemvOrderLlamaCpp checks dotQ4_KRef bit for bit against llama.cpp's repacked gemv. The fixture
// testdata/ggml_q4k_gemv.bin.gz is a tensor dump of llama.cpp's zen4 build of ggml-cpu running the
// deepseek2-q4_k_m golden model token by token (step 0, layer 0, whose 256×512 ffn_down.weight is
// repacked): 512 float32 inputs of ffn_down (ffn_swiglu-0), the first 64 float32 outputs (ffn_out-0), then
// those 64 Q4_K rows of the model file. The old single-accumulator order missed about half of them.
func TestQ4_KGemvOrderLlamaCpp(t *testing.T) {
	const cols, rows = 512, 64
	raw := readGz(t, "testdata/ggml_q4k_gemv.bin.gz")
	if len(raw) != 4*cols+4*rows+rows*cols/kqSuper*kqQ4Bytes {
		t.Fatalf("fixture has %d bytes", len(raw))
	}
	x, want := f32sLE(raw[:4*cols]), f32sLE(raw[4*cols:4*cols+4*rows])
	w := raw[4*cols+4*rows:]
	xq := make([]byte, cols/kqSuper*kqQ8Bytes)
	quantizeActQ8_K(xq, x)
	rb := cols / kqSuper * kqQ4Bytes
	vecAgree := 0
	for r := range rows {
		if got := dotQ4_KRef(w[r*rb:], xq, cols); !sameBits(got, want[r]) {
			t.Errorf("row %d: dotQ4_KRef %v, llama.cpp %v", r, got, want[r])
		}
		if sameBits(dotQ4_KVecRef(w[r*rb:], xq, cols), want[r]) {
			vecAgree++
		}
	}
	if vecAgree == rows {
		t.Fatal("vec_dot's order agrees on every row too: the fixture tells the orders apart nowhere")
	}
}

// TestQ4_KVecDotGolden checks dotQ4_KVecRef bit for bit against ggml-cpu's ggml_vec_dot_q4_K_q8_K on the
// K-quant golden rows (the file's build ran the x86 AVX2 code), and that the gemv order differs there.
func TestQ4_KVecDotGolden(t *testing.T) {
	checked, gemvDiffer := 0, 0
	for i, row := range loadKQGoldens(t) {
		g := row.types[Q4_K]
		if math.IsNaN(float64(g.dot)) || math.IsInf(float64(g.dot), 0) {
			continue
		}
		checked++
		if got := dotQ4_KVecRef(g.q, row.act, row.n); !sameBits(got, g.dot) {
			t.Errorf("row %d: got %v, ggml %v", i, got, g.dot)
		}
		if !sameBits(dotQ4_KRef(g.q, row.act, row.n), g.dot) {
			gemvDiffer++
		}
	}
	if checked == 0 || gemvDiffer == 0 {
		t.Fatalf("%d finite golden dots, %d where the gemv order differs: the test tells nothing", checked, gemvDiffer)
	}
}

// TestMatMulQ4_KOrders checks that MatMul multiplies a Q4_K matrix in the gemv order (dotQ4_KRef) when
// llama.cpp's x86 build would repack it (rows a multiple of 8, not marked VecDot), interleaved or not,
// and in vec_dot's order (dotQ4_KVecRef) otherwise, on every kernel set, bit for bit.
func TestMatMulQ4_KOrders(t *testing.T) {
	const cols, n = 512, 5
	x := randVec(newRand(62), n*cols, 1)
	rb, _ := Q4_K.RowBytes(cols)
	xb := make([]byte, cols/kqSuper*kqQ8Bytes)
	p := NewPool(2)
	defer p.Close()
	for _, tc := range []struct {
		rows          int
		vecDot, gemv  bool
		interleaveToo bool
	}{{24, false, true, true}, {24, true, false, false}, {13, false, false, false}} {
		w := randMatrix(61, Q4_K, tc.rows, cols)
		w.VecDot = tc.vecDot
		dot := dotQ4_KVecRef
		if tc.gemv {
			dot = dotQ4_KRef
		}
		want := make([]float32, n*tc.rows)
		for i := range n {
			quantizeActQ8_K(xb, x[i*cols:(i+1)*cols])
			for r := range tc.rows {
				want[i*tc.rows+r] = dot(w.Data[r*rb:(r+1)*rb], xb, cols)
			}
		}
		ws := []Matrix{w}
		if il := Interleave(w); il.Interleaved != nil {
			if !tc.interleaveToo {
				t.Fatalf("%d rows, VecDot %v: Interleave made a copy for a vec_dot-order matrix", tc.rows, tc.vecDot)
			}
			ws = append(ws, il)
		}
		for _, m := range ws {
			for _, k := range available() {
				withSet(t, k, func() {
					got := make([]float32, n*tc.rows)
					p.MatMul(got, m, x, n)
					for i, v := range want {
						if !sameBits(got[i], v) {
							t.Fatalf("%d rows, VecDot %v, interleaved %v on %s: out[%d] = %v, want %v",
								tc.rows, tc.vecDot, m.Interleaved != nil, k.name, i, got[i], v)
						}
					}
				})
			}
		}
	}
}

// readGz returns the gunzipped contents of the file at path.
func readGz(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, zr); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// f32sLE returns b read as little-endian float32 values.
func f32sLE(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
