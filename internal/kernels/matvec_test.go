package kernels

import (
	"fmt"
	"math"
	"testing"
)

// matTypes are the weight types MatMul multiplies and QuantizeRow writes: every supported type but F8_E4M3,
// which fp8_test.go covers.
var matTypes = func() (ts []DType) {
	for _, t := range SupportedTypes() {
		if t != F8_E4M3 {
			ts = append(ts, t)
		}
	}
	return ts
}()

// fits reports whether rows of cols values are whole blocks of t.
func fits(t DType, cols int) bool { return cols%t.BlockSize() == 0 }

// randMatrix returns a rows×cols matrix of type t with random weights.
func randMatrix(seed uint64, t DType, rows, cols int) Matrix {
	r := newRand(seed)
	return Matrix{Type: t, Rows: rows, Cols: cols, Data: encode(t, randVec(r, rows*cols, 0.5))}
}

// refMatMul computes MatMul's result with the scalar reference kernels, one output at a time.
func refMatMul(w Matrix, x []float32, n int) []float32 {
	rb, _ := w.Type.RowBytes(w.Cols)
	out := make([]float32, n*w.Rows)
	c := w.Cols
	for i := 0; i < n; i++ {
		xi := x[i*c : (i+1)*c]
		var xq []int8
		var xd []float32
		var xh []float32
		var xb []byte
		tr := typeTable[w.Type]
		if pt, ok := tr.act.packedType(); ok {
			n, _ := pt.RowBytes(c)
			xb = make([]byte, n)
			typeTable[pt].actFromFloat[0](xb, xi)
		}
		switch w.Type {
		case Q8_0:
			xq, xd = make([]int8, c), make([]float32, c/qk8)
			quantizeActQ8_0Ref(xq, xd, xi)
		case F16, BF16:
			xh = make([]float32, c)
			for j, v := range xi {
				xh[j] = F16ToF32(F32ToF16(v))
				if w.Type == BF16 {
					xh[j] = BF16ToF32(F32ToBF16(v))
				}
			}
		}
		for r := 0; r < w.Rows; r++ {
			row := w.Data[r*rb : (r+1)*rb]
			var v float32
			switch w.Type {
			case F32:
				v = dotF32Ref(f32View(row), xi)
			case F16:
				v = dotF16Ref(u16View(row), xh)
			case BF16:
				v = dotBF16Ref(u16View(row), xh)
			case Q8_0:
				v = dotQ8Ref(row, xq, xd)
			case Q4_0, Q4_K: // llama.cpp's x86 build repacks these unless 3D or Rows%8 != 0; then vec_dot
				if w.VecDot || w.Rows%8 != 0 {
					v = tr.vecDot[0](row, xb, c)
				} else {
					v = tr.dot[0](row, xb, c)
				}
			default:
				v = tr.dot[0](row, xb, c)
			}
			out[i*w.Rows+r] = v
		}
	}
	return out
}

// MatMul must equal the scalar reference bit for bit, for every kernel set, thread count and batch size.
func TestMatMulMatchesReference(t *testing.T) {
	shapes := []struct{ rows, cols int }{{1, 32}, {37, 64}, {5, 96}, {64, 160}, {129, 256}, {3, 1536}, {9, 512}}
	pools := map[int]*Pool{}
	for _, th := range []int{1, 2, 3, 5} {
		pools[th] = NewPool(th)
		defer pools[th].Close()
	}
	for _, ty := range matTypes {
		for si, s := range shapes {
			if !fits(ty, s.cols) {
				continue
			}
			w := randMatrix(uint64(100+si), ty, s.rows, s.cols)
			for _, n := range []int{1, 3, 8, 9, 17} {
				x := randVec(newRand(uint64(n)), n*s.cols, 1)
				want := refMatMul(w, x, n)
				eachISA(t, func(t *testing.T) {
					for th, p := range pools {
						got := make([]float32, n*s.rows+1)
						got[n*s.rows] = 42
						p.MatMul(got, w, x, n)
						if got[n*s.rows] != 42 {
							t.Fatalf("%v %dx%d n=%d: wrote past n·Rows", ty, s.rows, s.cols, n)
						}
						for i := range want {
							if !sameBits(got[i], want[i]) {
								t.Fatalf("%v %dx%d n=%d threads=%d: out[%d] = %v, reference %v",
									ty, s.rows, s.cols, n, th, i, got[i], want[i])
							}
						}
					}
				})
			}
		}
	}
}

// MatVec is MatMul with n = 1, and MatMul of n vectors is n MatVecs.
func TestMatVecIsMatMulOfOne(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	const c = 256
	for _, ty := range matTypes {
		w := randMatrix(7, ty, 45, c)
		x := randVec(newRand(8), 11*c, 1)
		all := make([]float32, 11*45)
		p.MatMul(all, w, x, 11)
		for i := range 11 {
			one, vec := make([]float32, 45), make([]float32, 45)
			p.MatMul(one, w, x[i*c:(i+1)*c], 1)
			p.MatVec(vec, w, x[i*c:(i+1)*c])
			for r := range 45 {
				if !sameBits(one[r], vec[r]) || !sameBits(vec[r], all[i*45+r]) {
					t.Fatalf("%v vector %d row %d: MatVec %v, MatMul(1) %v, MatMul(11) %v", ty, i, r, vec[r], one[r], all[i*45+r])
				}
			}
		}
	}
}

// The results must also be the matrix product: compare with float64 over the dequantized weights, within
// the error of the activation's conversion.
func TestMatVecAgainstFloat64(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	tol := map[DType]float64{F32: 1e-6, F16: 2e-3, BF16: 1e-2} // the 8-bit activations: 2e-2
	for _, ty := range matTypes {
		if _, ok := tol[ty]; !ok {
			tol[ty] = 2e-2
		}
		w := randMatrix(9, ty, 33, 512)
		x := randVec(newRand(10), 512, 1)
		out := make([]float32, 33)
		p.MatVec(out, w, x)
		rb, _ := ty.RowBytes(512)
		row := make([]float32, 512)
		for r := range 33 {
			if err := DequantizeRow(ty, row, w.Data[r*rb:]); err != nil {
				t.Fatal(err)
			}
			var exact, mag float64
			for j, v := range row {
				exact += float64(v) * float64(x[j])
				mag += math.Abs(float64(v) * float64(x[j]))
			}
			if math.Abs(float64(out[r])-exact) > tol[ty]*mag {
				t.Errorf("%v row %d: %v, float64 %v (|terms| %v)", ty, r, out[r], exact, mag)
			}
		}
	}
}

func TestMatMulPanics(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	good := randMatrix(1, Q8_0, 4, 64)
	cases := []struct {
		name   string
		w      Matrix
		out, x int
		n      int
	}{
		{"unsupported type", Matrix{Type: IQ4_XS + 100, Rows: 4, Cols: 64, Data: make([]byte, 4*36)}, 4, 64, 1},
		{"cols not whole blocks", Matrix{Type: Q8_0, Rows: 4, Cols: 40, Data: make([]byte, 1000)}, 4, 40, 1},
		{"short data", Matrix{Type: Q8_0, Rows: 4, Cols: 64, Data: good.Data[:len(good.Data)-1]}, 4, 64, 1},
		{"short out", good, 7, 128, 2},
		{"short x", good, 8, 127, 2},
	}
	for _, c := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			p.MatMul(make([]float32, c.out), c.w, make([]float32, c.x), c.n)
		}()
	}
}

// In steady state MatVec, MatMul, PagedAttention and Run allocate nothing.
func TestNoAllocs(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	for _, ty := range matTypes {
		w := randMatrix(3, ty, 64, 256)
		x := randVec(newRand(4), 16*256, 1)
		out := make([]float32, 16*64)
		for _, n := range []int{1, 16} {
			p.MatMul(out, w, x, n)
			if a := testing.AllocsPerRun(20, func() { p.MatMul(out, w, x, n) }); a != 0 {
				t.Errorf("%v MatMul n=%d: %v allocs", ty, n, a)
			}
		}
		if a := testing.AllocsPerRun(20, func() { p.MatVec(out, w, x) }); a != 0 {
			t.Errorf("%v MatVec: %v allocs", ty, a)
		}
	}
	q, kv := randVec(newRand(5), 8*64, 1), randVec(newRand(6), 50*2*64, 1)
	pages := contiguous(kv, kv, 50)
	att, scratch := make([]float32, 8*64), make([]float32, 8*50)
	if a := testing.AllocsPerRun(20, func() { p.PagedAttention(att, q, pages, 50, 8, 2, 64, 0.125, scratch) }); a != 0 {
		t.Errorf("Attention: %v allocs", a)
	}
	fn := func(lo, hi int) {}
	if a := testing.AllocsPerRun(20, func() { p.Run(100, fn) }); a != 0 {
		t.Errorf("Run: %v allocs", a)
	}
}

func ExamplePool_MatVec() {
	p := NewPool(2)
	defer p.Close()
	// A 2×32 Q8_0 matrix: row 0 all ones, row 1 counting 0..31.
	rows := make([]float32, 64)
	for j := range 32 {
		rows[j], rows[32+j] = 1, float32(j)
	}
	w := Matrix{Type: Q8_0, Rows: 2, Cols: 32, Data: make([]byte, 2*34)}
	QuantizeRowQ8_0(w.Data, rows)
	x := make([]float32, 32)
	for j := range x {
		x[j] = 1
	}
	out := make([]float32, 2)
	p.MatVec(out, w, x)
	fmt.Printf("%.3f %.3f\n", out[0], out[1])
	// Output: 31.996 496.063
}
