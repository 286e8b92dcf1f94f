package kernels

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// f8Independent decodes an E4M3 code by assembling float32 bits (normal values) or dividing (subnormals),
// sharing nothing with F8E4M3ToF32.
func f8Independent(b byte) float32 {
	sign, e, m := uint32(b>>7), uint32(b>>3)&15, uint32(b)&7
	var v float32
	switch {
	case e == 15 && m == 7:
		return float32(math.NaN())
	case e == 0:
		v = float32(m) / 512
	default:
		v = math.Float32frombits((e-7+127)<<23 | m<<20)
	}
	if sign == 1 {
		v = -v
	}
	return v
}

// The examples of spec §6.1 and §10.
func TestF8E4M3Examples(t *testing.T) {
	for _, c := range []struct {
		b    byte
		want float32
	}{
		{0x38, 1}, {0x40, 2}, {0x01, 0x1p-9}, {0x7E, 448}, {0xFE, -448}, {0x00, 0}, {0x08, 0x1p-6},
		{0x07, 7 * 0x1p-9}, {0xB8, -1}, {0x3C, 1.5}, {0x77, 240},
	} {
		if got := F8E4M3ToF32(c.b); got != c.want {
			t.Errorf("F8E4M3ToF32(%#02x) = %v, want %v", c.b, got, c.want)
		}
	}
	if got := F8E4M3ToF32(0x80); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("F8E4M3ToF32(0x80) = %v, want -0", got)
	}
	for _, b := range []byte{0x7F, 0xFF} {
		if got := F8E4M3ToF32(b); got == got {
			t.Errorf("F8E4M3ToF32(%#02x) = %v, want NaN", b, got)
		}
	}
}

// All 256 codes against the independent decoder, and the table MatMul uses against both.
func TestF8E4M3AllCodes(t *testing.T) {
	nan := 0
	for i := range 256 {
		b := byte(i)
		got, want := F8E4M3ToF32(b), f8Independent(b)
		if want != want {
			nan++
			if got == got || f8Table[b] == f8Table[b] {
				t.Errorf("%#02x: got %v, table %v, want NaN", b, got, f8Table[b])
			}
			continue
		}
		if !sameBits(got, want) || !sameBits(f8Table[b], want) {
			t.Errorf("%#02x: got %v, table %v, want %v", b, got, f8Table[b], want)
		}
		if math.Abs(float64(got)) > 448 {
			t.Errorf("%#02x: %v is past the largest finite value", b, got)
		}
	}
	if nan != 2 {
		t.Errorf("%d NaN codes, want 2", nan)
	}
}

// f8Nearest rounds v by brute force: the finite code nearest to v, ties to the even code, saturating at
// ±448.
func f8Nearest(v float32) byte {
	sign := byte(0)
	a := float64(v)
	if math.Signbit(a) {
		sign, a = 0x80, -a
	}
	best := byte(0)
	for c := byte(1); c <= 0x7E; c++ {
		d, bd := math.Abs(float64(f8Independent(c))-a), math.Abs(float64(f8Independent(best))-a)
		if d < bd || d == bd && c&1 == 0 {
			best = c
		}
	}
	return sign | best
}

func TestF32ToF8E4M3(t *testing.T) {
	var vals []float32
	for c := range 0x7F { // every finite code, the midpoints between neighbours, and their neighbours
		v := f8Independent(byte(c))
		vals = append(vals, v, -v, math.Nextafter32(v, 1000), math.Nextafter32(v, -1))
		if c < 0x7E {
			mid := (v + f8Independent(byte(c+1))) / 2
			vals = append(vals, mid, -mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1000))
		}
	}
	r := newRand(21)
	for range 20000 {
		vals = append(vals, float32(r.NormFloat64()*math.Pow(2, float64(r.IntN(24)-14))))
	}
	vals = append(vals, 463.99, 464, 465, 1e30, 0x1p-140, -0x1p-11, 0x1p-10, 3*0x1p-11)
	for _, v := range vals {
		if got, want := F32ToF8E4M3(v), f8Nearest(v); got != want {
			t.Fatalf("F32ToF8E4M3(%v) = %#02x (%v), nearest is %#02x (%v)", v, got, F8E4M3ToF32(got), want,
				F8E4M3ToF32(want))
		}
	}
	for c := range 256 {
		if c&0x7F != 0x7F && F32ToF8E4M3(F8E4M3ToF32(byte(c))) != byte(c) {
			t.Errorf("code %#02x does not round-trip", c)
		}
	}
	for _, c := range []struct {
		v    float32
		want byte
	}{{float32(math.Inf(1)), 0x7E}, {float32(math.Inf(-1)), 0xFE}, {float32(math.NaN()), 0x7F}} {
		if got := F32ToF8E4M3(c.v); got != c.want {
			t.Errorf("F32ToF8E4M3(%v) = %#02x, want %#02x", c.v, got, c.want)
		}
	}
}

// dotF8Ref is the reference F8 dot product: the order of fp8.go written out, one element at a time, with
// the independent decoder.
func dotF8Ref(w []byte, x []float32, scale []float32) float32 {
	var acc float32
	for b, s := range scale {
		lo, hi := b*F8Block, min((b+1)*F8Block, len(w))
		var lane [32]float32
		np := lo + (hi-lo)&^31
		for j := lo; j < np; j++ {
			lane[(j-lo)%32] += float32(f8Independent(w[j]) * x[j])
		}
		sum := fold32(&lane)
		for j := np; j < hi; j++ {
			sum += float32(f8Independent(w[j]) * x[j])
		}
		acc += float32(s * sum)
	}
	return acc
}

// Every kernel set's F8 dot equals the reference bit for bit on every finite code (subnormals included),
// for rows of whole and partial blocks, and a NaN code makes the result NaN.
func TestDotF8(t *testing.T) {
	r := newRand(80)
	for _, n := range []int{0, 1, 31, 32, 33, 127, 128, 129, 200, 256, 300, 1408} {
		w, scale := make([]byte, n), make([]float32, f8Blocks(n))
		for i := range w {
			if w[i] = byte(r.IntN(256)); w[i]&0x7F == 0x7F {
				w[i] = byte(i) & 0x87 // a subnormal code instead of NaN
			}
		}
		for i := range scale {
			scale[i] = float32(r.ExpFloat64())
		}
		x := randVec(r, n, 3)
		want := dotF8Ref(w, x, scale)
		eachISA(t, func(t *testing.T) {
			k := active.Load()
			if got := dotF8(k, w, x, scale); !sameBits(got, want) {
				t.Fatalf("n=%d: %v, reference %v", n, got, want)
			}
			if n >= 130 {
				for _, c := range []byte{0x7F, 0xFF} {
					nw := append([]byte(nil), w...)
					nw[(n-3)/128*128+1] = c // a whole block if there is one, else the partial one
					if got := dotF8(k, nw, x, scale); got == got {
						t.Fatalf("n=%d: NaN code %#02x gave %v", n, c, got)
					}
				}
			}
		})
	}
}

// f8Shapes are not multiples of 128 on purpose: they end in partial blocks.
var f8Shapes = []struct{ rows, cols int }{{1, 1}, {3, 7}, {129, 200}, {300, 130}, {257, 385}, {40, 1000}, {128, 256}}

// f8Ref64 computes w·x in float64 from the weights dequantized in float64 (fp8 value times block scale).
func f8Ref64(w Matrix, x []float32, r int) (exact, mag float64) {
	nbc := (w.Cols + 127) / 128
	for j := range w.Cols {
		v := float64(f8Independent(w.Data[r*w.Cols+j])) * float64(w.Scale[r/128*nbc+j/128])
		exact += v * float64(x[j])
		mag += math.Abs(v * float64(x[j]))
	}
	return exact, mag
}

func TestQuantizeF8(t *testing.T) {
	for si, s := range f8Shapes {
		r := newRand(uint64(30 + si))
		x := randVec(r, s.rows*s.cols, 0.7)
		if s.rows > 128 { // a block far from unit scale, and an all-zero block
			for i := range 128 {
				x[128*s.cols+i%s.cols] *= 1e-5
			}
		}
		if s.cols > 128 {
			for i := range min(s.rows, 128) {
				clear(x[i*s.cols+128 : i*s.cols+min(256, s.cols)])
			}
		}
		w := QuantizeF8(x, s.rows, s.cols)
		nbr, nbc := (s.rows+127)/128, (s.cols+127)/128
		if w.Type != F8_E4M3 || len(w.Data) != s.rows*s.cols || len(w.Scale) != nbr*nbc {
			t.Fatalf("%dx%d: type %v, %d bytes, %d scales", s.rows, s.cols, w.Type, len(w.Data), len(w.Scale))
		}
		for br := range nbr {
			for bc := range nbc {
				var amax float32
				at := -1
				for i := br * 128; i < min(br*128+128, s.rows); i++ {
					for j := bc * 128; j < min(bc*128+128, s.cols); j++ {
						if a := float32(math.Abs(float64(x[i*s.cols+j]))); a > amax {
							amax, at = a, i*s.cols+j
						}
					}
				}
				want := amax / 448
				if amax == 0 {
					want = 1
				}
				if got := w.Scale[br*nbc+bc]; got != want {
					t.Fatalf("%dx%d block (%d,%d): scale %v, want amax/448 = %v", s.rows, s.cols, br, bc, got, want)
				}
				if at >= 0 && w.Data[at]&0x7F != 0x7E {
					t.Fatalf("%dx%d block (%d,%d): its largest value %v is code %#02x, want ±448", s.rows, s.cols, br, bc, x[at], w.Data[at])
				}
			}
		}
		deq := make([]float32, s.cols)
		for i := range s.rows {
			if err := w.DequantizeRow(deq, i); err != nil {
				t.Fatal(err)
			}
			for j, v := range x[i*s.cols : (i+1)*s.cols] {
				sc := w.Scale[i/128*nbc+j/128]
				// Half an E4M3 step: 2^-4 relative for normal values, 2^-10·scale for subnormal ones.
				bound := math.Abs(float64(v))/16 + float64(sc)/1024 + 1e-6*math.Abs(float64(v))
				if err := math.Abs(float64(deq[j]) - float64(v)); err > bound {
					t.Fatalf("%dx%d [%d][%d]: %v quantizes to %v (error %g > %g)", s.rows, s.cols, i, j, v, deq[j], err, bound)
				}
			}
		}
	}
	for _, c := range []struct {
		name       string
		x          []float32
		rows, cols int
	}{
		{"length", make([]float32, 5), 2, 3}, {"cols", nil, 0, 0},
		{"inf", []float32{1, float32(math.Inf(1))}, 1, 2}, {"nan", []float32{float32(math.NaN())}, 1, 1},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			QuantizeF8(c.x, c.rows, c.cols)
		}()
	}
}

// Matrix.DequantizeRow is fp8·scale rounded once, and DequantizeRow of the raw bytes is fp8 alone.
func TestDequantizeRowF8(t *testing.T) {
	w := QuantizeF8(randVec(newRand(40), 260*300, 2), 260, 300)
	got, raw := make([]float32, 301), make([]float32, 300)
	for _, r := range []int{0, 127, 128, 259} {
		got[300] = 42
		if err := w.DequantizeRow(got, r); err != nil {
			t.Fatal(err)
		}
		if err := DequantizeRow(F8_E4M3, raw, w.Data[r*300:(r+1)*300]); err != nil {
			t.Fatal(err)
		}
		for j := range 300 {
			q := f8Independent(w.Data[r*300+j])
			want := float32(float64(q) * float64(w.Scale[r/128*3+j/128]))
			if !sameBits(got[j], want) || !sameBits(raw[j], q) {
				t.Fatalf("row %d col %d: %v and raw %v, want %v and %v", r, j, got[j], raw[j], want, q)
			}
		}
		if got[300] != 42 {
			t.Fatal("DequantizeRow wrote past Cols")
		}
	}
	if err := DequantizeRow(F8_E4M3, raw, w.Data[:299]); err == nil {
		t.Error("DequantizeRow of 300 F8 values from 299 bytes gave no error")
	}
	bad := w
	bad.Scale = bad.Scale[1:]
	for name, err := range map[string]error{
		"row -1":     w.DequantizeRow(got, -1),
		"row 260":    w.DequantizeRow(got, 260),
		"short dst":  w.DequantizeRow(got[:299], 0),
		"bad scales": bad.DequantizeRow(got, 0),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	q8 := randMatrix(41, Q8_0, 3, 64)
	want := make([]float32, 64)
	if err := DequantizeRow(Q8_0, want, q8.Data[2*68:]); err != nil {
		t.Fatal(err)
	}
	if err := q8.DequantizeRow(got, 2); err != nil || got[5] != want[5] || got[63] != want[63] {
		t.Errorf("Q8_0 row 2: %v, %v / %v", err, got[:64], want)
	}
}

func TestF8DType(t *testing.T) {
	if F8_E4M3.Known() || !Supported(F8_E4M3) || F8_E4M3.String() != "F8_E4M3" || F8_E4M3.BlockSize() != 1 {
		t.Errorf("F8_E4M3: Known %v, Supported %v, %q, block %d", F8_E4M3.Known(), Supported(F8_E4M3),
			F8_E4M3.String(), F8_E4M3.BlockSize())
	}
	if n, err := F8_E4M3.RowBytes(1408); n != 1408 || err != nil {
		t.Errorf("RowBytes(1408) = %d, %v", n, err)
	}
}

// F8 MatMul equals the scalar reference bit for bit (every thread count, batch size and kernel set), and
// the float64 product of the dequantized weights to float32 rounding.
func TestMatMulF8(t *testing.T) {
	pools := map[int]*Pool{}
	for _, th := range []int{1, 2, 3} {
		pools[th] = NewPool(th)
		defer pools[th].Close()
	}
	for si, s := range f8Shapes {
		w := QuantizeF8(randVec(newRand(uint64(50+si)), s.rows*s.cols, 0.5), s.rows, s.cols)
		for _, n := range []int{1, 3, 9} {
			x := randVec(newRand(uint64(60+n)), n*s.cols, 1)
			want := make([]float32, n*s.rows)
			for i := range n {
				xi := x[i*s.cols : (i+1)*s.cols]
				for r := range s.rows {
					want[i*s.rows+r] = dotF8Ref(w.Data[r*s.cols:(r+1)*s.cols], xi, w.f8RowScales(r))
					exact, mag := f8Ref64(w, xi, r)
					if d := math.Abs(float64(want[i*s.rows+r]) - exact); d > 1e-5*mag {
						t.Fatalf("%dx%d n=%d out[%d][%d]: reference %v, float64 %v (|terms| %v)", s.rows, s.cols, n, i, r,
							want[i*s.rows+r], exact, mag)
					}
				}
			}
			eachISA(t, func(t *testing.T) {
				for th, p := range pools {
					got := make([]float32, n*s.rows+1)
					got[n*s.rows] = 42
					if n == 1 {
						p.MatVec(got, w, x)
					} else {
						p.MatMul(got, w, x, n)
					}
					if got[n*s.rows] != 42 {
						t.Fatalf("%dx%d n=%d: wrote past n·Rows", s.rows, s.cols, n)
					}
					for i := range want {
						if !sameBits(got[i], want[i]) {
							t.Fatalf("%dx%d n=%d threads=%d: out[%d] = %v, reference %v", s.rows, s.cols, n, th, i, got[i], want[i])
						}
					}
				}
			})
		}
	}
}

// A matrix whose scales do not fit its shape, or a non-F8 matrix with scales, is refused.
func TestMatMulF8Panics(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	w := QuantizeF8(make([]float32, 130*129), 130, 129)
	for name, m := range map[string]Matrix{
		"no scales":    {Type: F8_E4M3, Rows: 130, Cols: 129, Data: w.Data},
		"short scales": {Type: F8_E4M3, Rows: 130, Cols: 129, Data: w.Data, Scale: w.Scale[:3]},
		"long scales":  {Type: F8_E4M3, Rows: 130, Cols: 129, Data: w.Data, Scale: make([]float32, 5)},
		"short data":   {Type: F8_E4M3, Rows: 130, Cols: 129, Data: w.Data[1:], Scale: w.Scale},
		"F32 scales":   {Type: F32, Rows: 2, Cols: 4, Data: make([]byte, 32), Scale: []float32{}},
	} {
		func() {
			defer func() {
				if e := recover(); e == nil || !strings.Contains(fmt.Sprint(e), "kernels:") {
					t.Errorf("%s: panic %v", name, e)
				}
			}()
			p.MatVec(make([]float32, 130), m, make([]float32, 129))
		}()
	}
}

func TestNoAllocsF8(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	w := QuantizeF8(randVec(newRand(70), 200*300, 1), 200, 300)
	x, out := randVec(newRand(71), 16*300, 1), make([]float32, 16*200)
	for _, n := range []int{1, 16} {
		p.MatMul(out, w, x, n)
		if a := testing.AllocsPerRun(20, func() { p.MatMul(out, w, x, n) }); a != 0 {
			t.Errorf("F8 MatMul n=%d: %v allocs", n, a)
		}
	}
}

// BenchmarkMatVecF8 compares F8_E4M3 with BF16 on the expert shapes of DeepSeek-V2-Lite (gate/up and down):
//
//	go test -run '^$' -bench MatVecF8 -benchtime 20x ./internal/kernels/
func BenchmarkMatVecF8(b *testing.B) {
	for _, s := range []struct{ rows, cols int }{{2048, 1408}, {1408, 2048}} {
		x := randVec(newRand(1), s.cols, 1)
		out := make([]float32, s.rows)
		f8 := QuantizeF8(randVec(newRand(2), s.rows*s.cols, 1), s.rows, s.cols)
		for _, w := range []Matrix{f8, benchMatrix(BF16, s.rows, s.cols)} {
			for _, th := range []int{1, 2} {
				p := NewPool(th)
				b.Run(fmt.Sprintf("%v/%dx%d/threads=%d", w.Type, s.rows, s.cols, th), func(b *testing.B) {
					b.SetBytes(int64(len(w.Data)))
					b.ReportAllocs()
					p.MatVec(out, w, x)
					for b.Loop() {
						p.MatVec(out, w, x)
					}
				})
				p.Close()
			}
		}
	}
}
