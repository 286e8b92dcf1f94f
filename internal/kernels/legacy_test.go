package kernels

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"testing"
)

// legacyType describes one legacy weight type for the tests: ggml's type number, block bytes, whether its
// activations are Q8_1 (else Q8_0), and its functions.
type legacyType struct {
	name     string
	ggml     uint32
	size     int
	q8_1     bool
	dequant  func([]float32, []byte)
	quantize func([]byte, []float32)
	dot      func(w, x []byte, n int) float32
	levels   func(wb []byte) (q [32]int32, m float32) // a block's integer levels, and its offset m (0 if none)
}

var legacyTypes = []legacyType{
	{"Q4_0", 2, q4_0BlockSize, false, dequantQ4_0, quantizeQ4_0, dotQ4_0Ref, func(wb []byte) (q [32]int32, m float32) {
		for j, v := range wb[2:18] {
			q[j], q[j+16] = int32(v&15)-8, int32(v>>4)-8
		}
		return q, 0
	}},
	{"Q4_1", 3, q4_1BlockSize, true, dequantQ4_1, quantizeQ4_1, dotQ4_1Ref, func(wb []byte) (q [32]int32, m float32) {
		for j, v := range wb[4:20] {
			q[j], q[j+16] = int32(v&15), int32(v>>4)
		}
		return q, F16ToF32(binary.LittleEndian.Uint16(wb[2:]))
	}},
	{"Q5_0", 6, q5_0BlockSize, false, dequantQ5_0, quantizeQ5_0, dotQ5_0Ref, func(wb []byte) (q [32]int32, m float32) {
		q5Quants(&q, wb[2:6], wb[6:])
		for j := range q {
			q[j] -= 16
		}
		return q, 0
	}},
	{"Q5_1", 7, q5_1BlockSize, true, dequantQ5_1, quantizeQ5_1, dotQ5_1Ref, func(wb []byte) (q [32]int32, m float32) {
		q5Quants(&q, wb[4:8], wb[8:])
		return q, F16ToF32(binary.LittleEndian.Uint16(wb[2:]))
	}},
	{"IQ4_NL", 20, iq4nlBlockSize, false, dequantIQ4_NL, quantizeIQ4_NL, dotIQ4_NLRef, func(wb []byte) (q [32]int32, m float32) {
		for j, v := range wb[2:18] {
			q[j], q[j+16] = int32(iq4nlValues[v&15]), int32(iq4nlValues[v>>4])
		}
		return q, 0
	}},
}

// actSize is the packed block size of lt's activation type.
func (lt legacyType) actSize() int {
	if lt.q8_1 {
		return q8_1BlockSize
	}
	return q8BlockSize
}

// quantizeAct packs x in lt's activation type.
func (lt legacyType) quantizeAct(dst []byte, x []float32) {
	if lt.q8_1 {
		quantizeActQ8_1(dst, x)
	} else {
		quantizeActQ8_0(dst, x)
	}
}

// legacyGoldenRow is one row of testdata/ggml_legacy.bin.gz, written by tools/ggmlvectors/legacy.c.
type legacyGoldenRow struct {
	x     []float32    // input row
	act   [2][]byte    // x packed by ggml-cpu's from_float for Q8_0 and Q8_1
	q     [5][]byte    // x quantized by ggml_quantize_chunk, per legacyTypes entry
	deq   [5][]float32 // ggml's to_float of q (nil past the first rows)
	dotX  [5][]byte    // the activation row of the dot, packed by ggml-cpu
	dot   [5]float32   // ggml's vec_dot(q, dotX)
	nextX []float32    // the row the activation row comes from: the next input row cut or zero-padded
}

var legacyGolden = sync.OnceValues(func() ([]legacyGoldenRow, error) {
	raw, err := os.ReadFile("testdata/ggml_legacy.bin.gz")
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	p := 0
	take := func(n int) []byte {
		if p+n > len(data) {
			panic(fmt.Sprintf("golden file truncated at %d (+%d)", p, n))
		}
		b := data[p : p+n]
		p += n
		return b
	}
	u32 := func() uint32 { return binary.LittleEndian.Uint32(take(4)) }
	floats := func(n int) []float32 {
		b := take(4 * n)
		f := make([]float32, n)
		for i := range f {
			f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return f
	}
	if string(take(8)) != "GGMLLEG1" {
		return nil, fmt.Errorf("bad magic")
	}
	nr, ndeq := int(u32()), int(u32())
	rows := make([]legacyGoldenRow, nr)
	for i := range rows {
		rows[i].x = floats(int(u32()))
	}
	for a, want := range []uint32{8, 9} { // GGML_TYPE_Q8_0, GGML_TYPE_Q8_1
		if ty := u32(); ty != want {
			return nil, fmt.Errorf("activation section %d is type %d", a, ty)
		}
		bs := []int{q8BlockSize, q8_1BlockSize}[a]
		for i := range rows {
			rows[i].act[a] = take(len(rows[i].x) / 32 * bs)
		}
	}
	for k, lt := range legacyTypes {
		if ty := u32(); ty != lt.ggml {
			return nil, fmt.Errorf("section %s is type %d", lt.name, ty)
		}
		for i := range rows {
			r := &rows[i]
			n := len(r.x)
			r.q[k] = take(n / 32 * lt.size)
			if i < ndeq {
				r.deq[k] = floats(n)
			}
			r.dotX[k] = take(n / 32 * lt.actSize())
			r.dot[k] = floats(1)[0]
			next := rows[(i+1)%nr].x
			r.nextX = make([]float32, n)
			copy(r.nextX, next)
		}
	}
	if p != len(data) {
		return nil, fmt.Errorf("%d bytes left over", len(data)-p)
	}
	return rows, nil
})

// goldenRows loads the golden rows or fails t.
func goldenRows(t *testing.T) []legacyGoldenRow {
	t.Helper()
	rows, err := legacyGolden()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestLegacyGoldenQuantize(t *testing.T) {
	rows := goldenRows(t)
	for k, lt := range legacyTypes {
		t.Run(lt.name, func(t *testing.T) {
			bad := 0
			for i, r := range rows {
				got := make([]byte, len(r.q[k]))
				lt.quantize(got, r.x)
				for b := 0; b < len(r.x)/32; b++ {
					g, w := got[b*lt.size:(b+1)*lt.size], r.q[k][b*lt.size:(b+1)*lt.size]
					if !bytes.Equal(g, w) {
						if bad++; bad <= 5 {
							t.Errorf("row %d block %d: got % x, ggml % x (x %v)", i, b, g, w, r.x[b*32:(b+1)*32])
						}
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d blocks differ from ggml", bad)
			}
		})
	}
}

// sameFloats reports whether a and b hold the same bits, except that any two NaNs match.
func sameFloats(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

func TestLegacyGoldenDequant(t *testing.T) {
	rows := goldenRows(t)
	for k, lt := range legacyTypes {
		t.Run(lt.name, func(t *testing.T) {
			checked, bad := 0, 0
			for i, r := range rows {
				if r.deq[k] == nil {
					continue
				}
				got := make([]float32, len(r.x))
				lt.dequant(got, r.q[k])
				for j := range got {
					checked++
					if !sameFloats(got[j], r.deq[k][j]) {
						if bad++; bad <= 5 {
							t.Errorf("row %d value %d: got %g (%#08x), ggml %g (%#08x)", i, j,
								got[j], math.Float32bits(got[j]), r.deq[k][j], math.Float32bits(r.deq[k][j]))
						}
					}
				}
			}
			if checked < 1000 || bad > 0 {
				t.Errorf("%d of %d values differ", bad, checked)
			}
		})
	}
}

func TestLegacyGoldenActivations(t *testing.T) {
	rows := goldenRows(t)
	quant := []func([]byte, []float32){quantizeActQ8_0, quantizeActQ8_1}
	for a, name := range []string{"Q8_0", "Q8_1"} {
		t.Run(name, func(t *testing.T) {
			bad := 0
			for i, r := range rows {
				got := make([]byte, len(r.act[a]))
				quant[a](got, r.x)
				if !bytes.Equal(got, r.act[a]) {
					if bad++; bad <= 5 {
						t.Errorf("row %d: got % x\nggml % x", i, got, r.act[a])
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d rows differ", bad)
			}
		})
	}
	// The activation rows of the dots, quantized again here, are ggml's too.
	for k, lt := range legacyTypes {
		for i, r := range rows {
			got := make([]byte, len(r.dotX[k]))
			lt.quantizeAct(got, r.nextX)
			if !bytes.Equal(got, r.dotX[k]) {
				t.Fatalf("%s row %d: activation row differs from ggml's", lt.name, i)
			}
		}
	}
}

// legacyDotScale returns Σ_b (|dw·dx|·Σ_j |q_j·x_j| + |mw·sx|) over the blocks of a dot, in float64: a
// bound on every partial sum any evaluation order forms (ggml's AVX2 code scales and adds 8 lanes of
// partial integer sums per block), so the float32 rounding error of any order is a small multiple of it.
func legacyDotScale(lt legacyType, w, x []byte, n int) float64 {
	var s float64
	as := lt.actSize()
	for b := 0; b < n/32; b++ {
		wb, xb := w[b*lt.size:(b+1)*lt.size], x[b*as:(b+1)*as]
		q, m := lt.levels(wb)
		var sa int64
		for j, v := range xb[as-32:] {
			sa += int64(math.Abs(float64(q[j]) * float64(int8(v))))
		}
		dw := float64(F16ToF32(binary.LittleEndian.Uint16(wb)))
		dx := float64(F16ToF32(binary.LittleEndian.Uint16(xb)))
		s += math.Abs(dw*dx) * float64(sa)
		if lt.q8_1 {
			s += math.Abs(float64(m) * float64(F16ToF32(binary.LittleEndian.Uint16(xb[2:]))))
		}
	}
	return s
}

// legacyX86Order names the legacy dots whose scalar reference adds in ggml-cpu's x86 float order (the
// AVX2 code of the golden file's build): they must give ggml's vec_dot bit for bit.
var legacyX86Order = map[string]bool{"Q4_1": true, "Q5_0": true, "Q5_1": true}

// TestLegacyGoldenDot checks each reference dot against ggml's vec_dot: bit for bit where it follows
// ggml's x86 order, within float32 rounding of the partial sums otherwise.
func TestLegacyGoldenDot(t *testing.T) {
	rows := goldenRows(t)
	for k, lt := range legacyTypes {
		t.Run(lt.name, func(t *testing.T) {
			finite := 0
			for i, r := range rows {
				n := len(r.x)
				got := lt.dot(r.q[k], r.dotX[k], n)
				want := r.dot[k]
				if math.IsNaN(float64(want)) || math.IsInf(float64(want), 0) {
					// Infinite scales (huge rows): ggml multiplies each of 8 lanes of partial sums by
					// the scale, so a zero lane makes NaN where the exact block sum gives ±Inf.
					if !math.IsNaN(float64(got)) && !math.IsInf(float64(got), 0) {
						t.Errorf("row %d: got %g, ggml %g", i, got, want)
					}
					continue
				}
				finite++
				if legacyX86Order[lt.name] && !sameBits(got, want) {
					t.Errorf("row %d (n %d): got %g, ggml %g: not bit for bit", i, n, got, want)
				}
				// Each rounding is at most 2^-24 of a partial sum; allow one per lane and block.
				tol := float64(8+2*n/32)*0x1p-24*legacyDotScale(lt, r.q[k], r.dotX[k], n) + 1e-45
				if d := math.Abs(float64(got) - float64(want)); !(d <= tol) {
					t.Errorf("row %d (n %d): got %g, ggml %g, |diff| %g > %g", i, n, got, want, d, tol)
				}
			}
			if finite < len(rows)/2 {
				t.Errorf("only %d finite dots", finite)
			}
		})
	}
}

func TestLegacyRoundTripError(t *testing.T) {
	// Gaussian blocks: each value comes back within a known fraction of its block's step, and the RMS
	// error relative to the RMS value is in the range these formats give (measured: Q4_0 0.086, Q4_1
	// 0.078, Q5_0 0.043, Q5_1 0.038, IQ4_NL 0.077).
	const nb = 512
	cases := []struct {
		name     string
		step     func(xb []float32) float64 // the block's quantization step
		maxSteps float64                    // bound on |error|/step
		rmsLo    float64
		rmsHi    float64
	}{
		{"Q4_0", func(xb []float32) float64 { a, _ := absMaxFirst(xb); return float64(a) / 8 }, 1.01, 0.07, 0.10},
		{"Q4_1", func(xb []float32) float64 { lo, hi := minMax(xb); return float64(hi-lo) / 15 }, 0.52, 0.065, 0.09},
		{"Q5_0", func(xb []float32) float64 { a, _ := absMaxFirst(xb); return float64(a) / 16 }, 1.01, 0.035, 0.05},
		{"Q5_1", func(xb []float32) float64 { lo, hi := minMax(xb); return float64(hi-lo) / 31 }, 0.53, 0.03, 0.045},
		{"IQ4_NL", func(xb []float32) float64 { a, _ := absMaxFirst(xb); return float64(a) }, 0.12, 0.065, 0.09},
	}
	r := newRand(3)
	for k, lt := range legacyTypes {
		c := cases[k]
		if c.name != lt.name {
			t.Fatalf("case %s for type %s", c.name, lt.name)
		}
		x := randVec(r, 32*nb, 2)
		q := make([]byte, nb*lt.size)
		lt.quantize(q, x)
		y := make([]float32, len(x))
		lt.dequant(y, q)
		var se, sx float64
		for b := range nb {
			step := c.step(x[b*32 : (b+1)*32])
			for j := b * 32; j < (b+1)*32; j++ {
				e := float64(x[j] - y[j])
				se += e * e
				sx += float64(x[j]) * float64(x[j])
				if math.Abs(e) > c.maxSteps*step {
					t.Errorf("%s block %d value %d: %g comes back as %g (step %g)", lt.name, b, j-b*32, x[j], y[j], step)
				}
			}
		}
		if rel := math.Sqrt(se / sx); rel < c.rmsLo || rel > c.rmsHi {
			t.Errorf("%s: RMS error %.4f of RMS value, want %g..%g", lt.name, rel, c.rmsLo, c.rmsHi)
		}
	}
}

func TestQuantizeActQ8_0MatchesRef(t *testing.T) {
	// Where 127/amax is finite the packed quantizer is quantizeActQ8_0Ref's arithmetic.
	r := newRand(5)
	const nb = 64
	x := randVec(r, 32*nb, 1)
	for b := 0; b < nb; b += 4 {
		scale := float32(math.Pow(10, float64(b/4-8)))
		for j := b * 32; j < (b+1)*32; j++ {
			x[j] *= scale
		}
	}
	packed := make([]byte, nb*q8BlockSize)
	quantizeActQ8_0(packed, x)
	qs := make([]int8, len(x))
	d := make([]float32, nb)
	quantizeActQ8_0Ref(qs, d, x)
	for b := range nb {
		blk := packed[b*q8BlockSize : (b+1)*q8BlockSize]
		if got := F16ToF32(binary.LittleEndian.Uint16(blk)); !sameBits(got, d[b]) {
			t.Errorf("block %d: scale %g, ref %g", b, got, d[b])
		}
		for j, v := range blk[2:] {
			if int8(v) != qs[b*32+j] {
				t.Fatalf("block %d quant %d: %d, ref %d", b, j, int8(v), qs[b*32+j])
			}
		}
	}
}

func TestQuantizeActTinyBlock(t *testing.T) {
	// amax 1e-38: ggml's id = 127/amax overflows to +Inf, every x·id is ±Inf or NaN, and VCVTPS2DQ
	// turns each into MinInt32, saturated to −128; d rounds to fp16 zero. Q8_1's s sums 32 MinInt32
	// (wrapping to 0).
	x := make([]float32, 32)
	x[3], x[9] = 1e-38, -5e-39
	b0 := make([]byte, q8BlockSize)
	quantizeActQ8_0(b0, x)
	b1 := make([]byte, q8_1BlockSize)
	quantizeActQ8_1(b1, x)
	for j := range 32 {
		if int8(b0[2+j]) != -128 || int8(b1[4+j]) != -128 {
			t.Fatalf("quant %d: %d, %d, want -128", j, int8(b0[2+j]), int8(b1[4+j]))
		}
	}
	if b0[0]|b0[1]|b1[0]|b1[1]|b1[2]|b1[3] != 0 {
		t.Errorf("scales % x, % x, want zeros", b0[:2], b1[:4])
	}
}
