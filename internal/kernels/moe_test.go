package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// randExperts returns E experts of width I over D, their gate, up and down matrices of types gt, ut, dt.
func randExperts(seed uint64, E, D, I int, gt, ut, dt DType) *Experts {
	e := &Experts{Gate: make([]Matrix, E), Up: make([]Matrix, E), Down: make([]Matrix, E)}
	for i := range E {
		s := seed + uint64(3*i)
		e.Gate[i] = randMatrix(s, gt, I, D)
		e.Up[i] = randMatrix(s+1, ut, I, D)
		e.Down[i] = randMatrix(s+2, dt, D, I)
	}
	return e
}

// randRouting returns n tokens' k distinct expert ids out of E and their weights. With skew, the ids come
// from the first few experts only, so that most experts get no token and some get many.
func randRouting(r *rand.Rand, n, E, k int, skew bool) ([]int32, []float32) {
	ids, w := make([]int32, n*k), make([]float32, n*k)
	pool := E
	if skew {
		pool = min(E, k+2)
	}
	for t := range n {
		for j, id := range r.Perm(pool)[:k] {
			ids[t*k+j], w[t*k+j] = int32(id), float32(r.Float64())
		}
	}
	return ids, w
}

// moeDims returns expert sizes D, I for weights of type t: small, and whole blocks of t.
func moeDims(t DType) (int, int) {
	if t.BlockSize() > 32 {
		return 256, 512
	}
	return 64, 96
}

// naiveMoE is the per-token loop MoE must match bit for bit: for each token and each of its experts in
// turn, three MatVecs with SiLUMul between, then out += float32(w·y) starting from zero.
func naiveMoE(p *Pool, out, x []float32, n int, e *Experts, ids []int32, weights []float32, k int) {
	D, I := e.Gate[0].Cols, e.Gate[0].Rows
	gate, up, y := make([]float32, I), make([]float32, I), make([]float32, D)
	for t := range n {
		xt, ot := x[t*D:(t+1)*D], out[t*D:(t+1)*D]
		clear(ot)
		for j := range k {
			id := ids[t*k+j]
			p.MatVec(gate, e.Gate[id], xt)
			p.MatVec(up, e.Up[id], xt)
			SiLUMul(gate, up)
			p.MatVec(y, e.Down[id], gate)
			w := weights[t*k+j]
			for i, v := range y {
				ot[i] += float32(w * v)
			}
		}
	}
}

// dequantMatrix returns w's values as float64, row-major.
func dequantMatrix(t *testing.T, w Matrix) []float64 {
	rb, _ := w.Type.RowBytes(w.Cols)
	row := make([]float32, w.Cols)
	out := make([]float64, 0, w.Rows*w.Cols)
	for r := range w.Rows {
		if err := DequantizeRow(w.Type, row, w.Data[r*rb:(r+1)*rb]); err != nil {
			t.Fatal(err)
		}
		for _, v := range row {
			out = append(out, float64(v))
		}
	}
	return out
}

// refMoE64 computes MoE in float64 over the dequantized weights, with no activation rounding.
func refMoE64(t *testing.T, x []float32, n int, e *Experts, ids []int32, weights []float32, k int) []float64 {
	D, I := e.Gate[0].Cols, e.Gate[0].Rows
	deq := map[int32][3][]float64{}
	out := make([]float64, n*D)
	h := make([]float64, I)
	for tok := range n {
		xt := x[tok*D : (tok+1)*D]
		for j := range k {
			id := ids[tok*k+j]
			m, ok := deq[id]
			if !ok {
				m = [3][]float64{dequantMatrix(t, e.Gate[id]), dequantMatrix(t, e.Up[id]), dequantMatrix(t, e.Down[id])}
				deq[id] = m
			}
			for r := range I {
				var g, u float64
				for c, v := range xt {
					g += m[0][r*D+c] * float64(v)
					u += m[1][r*D+c] * float64(v)
				}
				h[r] = g / (1 + math.Exp(-g)) * u
			}
			for r := range D {
				var y float64
				for c, v := range h {
					y += m[2][r*I+c] * v
				}
				out[tok*D+r] += float64(weights[tok*k+j]) * y
			}
		}
	}
	return out
}

// checkNear fails unless got is within tol of want relative to want's largest magnitude.
func checkNear(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	var scale float64
	for _, v := range want {
		scale = max(scale, math.Abs(v))
	}
	for i, v := range want {
		if d := math.Abs(float64(got[i]) - v); !(d <= tol*scale) {
			t.Fatalf("%s: out[%d] = %v, float64 %v (scale %v)", what, i, got[i], v, scale)
		}
	}
}

// checkSame fails unless got and want hold the same bits.
func checkSame(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if !sameBits(got[i], want[i]) {
			t.Fatalf("%s: out[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// moeTol bounds MoE's error against float64, relative to the output's largest magnitude (measured: 2e-7,
// 4e-4, 3.4e-3 and 1.3e-2 for F32, F16, BF16 and Q8_0; every other type meets 8-bit activations as Q8_0 does).
var moeTol = map[DType]float64{F32: 2e-6, F16: 2e-3, BF16: 1e-2, Q8_0: 3e-2, Q4_0: 3e-2, Q4_1: 3e-2, Q5_0: 3e-2, Q5_1: 3e-2,
	IQ4_NL: 3e-2, Q2_K: 3e-2, Q3_K: 3e-2, Q4_K: 3e-2, Q5_K: 3e-2, Q6_K: 3e-2, IQ4_XS: 3e-2}

// MoE must equal the naive per-token loop bit for bit, for every weight type, batch size, expert count,
// experts per token, kernel set and thread count, and the float64 product within the types' rounding.
func TestMoEMatchesNaive(t *testing.T) {
	pools := []*Pool{NewPool(1), NewPool(2), NewPool(3)}
	for _, p := range pools {
		defer p.Close()
	}
	for _, ty := range matTypes {
		D, I := moeDims(ty)
		Es, ns := []int{4, 8, 64}, []int{1, 2, 3, 7, 16, 33}
		if D > 64 { // superblock types: fewer, larger cases
			Es, ns = []int{8}, []int{1, 3, 9, 33}
		}
		for _, E := range Es {
			e := randExperts(uint64(E), E, D, I, ty, ty, ty)
			for _, k := range []int{1, 2, 6} {
				if k > E {
					continue
				}
				for _, n := range ns {
					for _, skew := range []bool{false, true} {
						r := newRand(uint64(1000*E + 10*k + n))
						x := randVec(r, n*D, 1)
						ids, w := randRouting(r, n, E, k, skew)
						what := fmt.Sprintf("%v E=%d k=%d n=%d skew=%v", ty, E, k, n, skew)
						want := make([]float32, n*D)
						naiveMoE(pools[0], want, x, n, e, ids, w, k)
						if !skew {
							checkNear(t, what, want, refMoE64(t, x, n, e, ids, w, k), moeTol[ty])
						}
						eachISA(t, func(t *testing.T) {
							for _, p := range pools {
								var s MoEScratch
								got := make([]float32, n*D+1)
								got[n*D] = 42
								p.MoE(got, x, n, e, ids, w, k, &s)
								checkSame(t, fmt.Sprintf("%s threads=%d", what, p.Threads()), got, want)
								if got[n*D] != 42 {
									t.Fatalf("%s: wrote past n·D", what)
								}
							}
						})
					}
				}
			}
		}
	}
}

// The float64 check of TestMoEMatchesNaive must be able to fail: a 1% change of one weight moves an F32
// result past the F32 tolerance, and a wrong expert past even the Q8_0 one.
func TestMoEReferenceCatchesErrors(t *testing.T) {
	const D, I, n, k = 64, 96, 3, 2
	p := NewPool(2)
	defer p.Close()
	e := randExperts(5, 8, D, I, F32, F32, F32)
	r := newRand(6)
	x := randVec(r, n*D, 1)
	ids, w := randRouting(r, n, 8, k, false)
	got := make([]float32, n*D)
	p.MoE(got, x, n, e, ids, w, k, &MoEScratch{})
	checkNear(t, "unchanged", got, refMoE64(t, x, n, e, ids, w, k), moeTol[F32])
	wrongID := append([]int32(nil), ids...)
	wrongID[1] = (wrongID[1] + 1) % 8
	if wrongID[1] == wrongID[0] {
		wrongID[1] = (wrongID[1] + 1) % 8
	}
	wrongW := append([]float32(nil), w...)
	wrongW[5] *= 1.01
	for _, c := range []struct {
		name string
		ref  []float64
		tol  float64
	}{
		{"wrong expert", refMoE64(t, x, n, e, wrongID, w, k), moeTol[Q8_0]},
		{"weight off by 1%", refMoE64(t, x, n, e, ids, wrongW, k), moeTol[F32]},
	} {
		var scale, worst float64
		for j, v := range c.ref {
			scale = max(scale, math.Abs(v))
			worst = max(worst, math.Abs(float64(got[j])-v))
		}
		if worst <= c.tol*scale {
			t.Errorf("%s: largest difference %v of %v would pass", c.name, worst, scale)
		}
	}
}

// Odd cases: mixed weight types across matrices and experts; a token that names one expert twice;
// identical tokens all sent to one expert (more rows than a group of eight, the rest idle); shapes that
// span several of MatMul's row tiles.
func TestMoEOddRoutings(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	mixed := randExperts(11, 6, 64, 96, Q8_0, F16, BF16)
	mixed.Gate[1], mixed.Up[2], mixed.Down[3] = randMatrix(50, F32, 96, 64), randMatrix(51, Q8_0, 96, 64), randMatrix(52, F32, 64, 96)
	mixed.Gate[4], mixed.Up[4] = randMatrix(53, BF16, 96, 64), randMatrix(54, BF16, 96, 64)
	wide := map[DType]*Experts{}
	for _, ty := range matTypes {
		wide[ty] = randExperts(12, 3, 256, 1024, ty, ty, ty)
	}
	type tc struct {
		name string
		e    *Experts
		n, k int
		ids  []int32
	}
	cases := []tc{
		{"mixed types", mixed, 9, 3, nil},
		{"repeated id", mixed, 3, 2, []int32{2, 2, 0, 5, 4, 4}},
	}
	same := make([]int32, 33*2)
	for i := range 33 {
		same[2*i], same[2*i+1] = 3, 1
	}
	cases = append(cases, tc{"one expert, identical tokens", mixed, 33, 2, same})
	for _, ty := range matTypes {
		cases = append(cases, tc{"wide " + ty.String(), wide[ty], 10, 2, nil})
	}
	for _, c := range cases {
		E, D := len(c.e.Gate), c.e.Gate[0].Cols
		r := newRand(uint64(len(c.name)))
		ids, w := randRouting(r, c.n, E, c.k, false)
		if c.ids != nil {
			ids = c.ids
		}
		x := randVec(r, c.n*D, 1)
		if strings.Contains(c.name, "identical") {
			for tok := 1; tok < c.n; tok++ {
				copy(x[tok*D:(tok+1)*D], x[:D])
			}
		}
		want := make([]float32, c.n*D)
		naiveMoE(p, want, x, c.n, c.e, ids, w, c.k)
		eachISA(t, func(t *testing.T) {
			got := make([]float32, c.n*D)
			p.MoE(got, x, c.n, c.e, ids, w, c.k, &MoEScratch{})
			checkSame(t, c.name, got, want)
		})
	}
}

// A token's result does not depend on its batch: MoE of one token at a time (the decode path) gives the
// bits of the batch call, with one scratch reused across sizes.
func TestMoEOneTokenIsBatch(t *testing.T) {
	const E, n, k = 16, 13, 6
	p := NewPool(2)
	defer p.Close()
	for _, ty := range matTypes {
		D, I := moeDims(ty)
		e := randExperts(21, E, D, I, ty, ty, ty)
		r := newRand(22)
		x := randVec(r, n*D, 1)
		ids, w := randRouting(r, n, E, k, false)
		batch, one := make([]float32, n*D), make([]float32, D)
		var s MoEScratch
		p.MoE(batch, x, n, e, ids, w, k, &s)
		for tok := range n {
			p.MoE(one, x[tok*D:(tok+1)*D], 1, e, ids[tok*k:(tok+1)*k], w[tok*k:(tok+1)*k], k, &s)
			checkSame(t, fmt.Sprintf("%v token %d", ty, tok), one, batch[tok*D:(tok+1)*D])
		}
	}
}

// In steady state MoE allocates nothing, for one token and for a batch.
func TestMoENoAllocs(t *testing.T) {
	const E = 16
	p := NewPool(2)
	defer p.Close()
	for _, ty := range matTypes {
		D, I := moeDims(ty)
		e := randExperts(31, E, D, I, ty, ty, ty)
		r := newRand(32)
		for _, n := range []int{1, 17} {
			x := randVec(r, n*D, 1)
			ids, w := randRouting(r, n, E, 6, false)
			out := make([]float32, n*D)
			var s MoEScratch
			p.MoE(out, x, n, e, ids, w, 6, &s)
			if a := testing.AllocsPerRun(20, func() { p.MoE(out, x, n, e, ids, w, 6, &s) }); a != 0 {
				t.Errorf("%v n=%d: %v allocs", ty, n, a)
			}
		}
	}
}

func TestMoEPanics(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	e := randExperts(41, 4, 64, 96, Q8_0, Q8_0, Q8_0)
	bad := randExperts(41, 4, 64, 96, Q8_0, Q8_0, Q8_0)
	bad.Down[2] = randMatrix(1, Q8_0, 64, 64)
	x, out := make([]float32, 2*64), make([]float32, 2*64)
	cases := []struct {
		name string
		e    *Experts
		out  []float32
		ids  []int32
		n    int
	}{
		{"expert id too large", e, out, []int32{0, 4}, 2},
		{"negative expert id", e, out, []int32{-1, 0}, 2},
		{"short ids", e, out, []int32{0}, 2},
		{"short out", e, out[:127], []int32{0, 1}, 2},
		{"short x", e, out, []int32{0, 1, 2}, 3},
		{"down shape", bad, out, []int32{1, 2}, 2},
	}
	for _, c := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			p.MoE(c.out, x, c.n, c.e, c.ids, []float32{1, 1, 1}, 1, &MoEScratch{})
		}()
	}
	p.MoE(out, x, 2, bad, []int32{0, 3}, []float32{1, 1}, 1, &MoEScratch{}) // the odd expert is idle
}

func TestExpertsCheck(t *testing.T) {
	if err := randExperts(1, 3, 64, 32, F16, F16, F16).Check(); err != nil {
		t.Fatal(err)
	}
	short := randExperts(1, 3, 64, 32, F16, F16, F16)
	short.Down = short.Down[:2]
	wrong := randExperts(1, 3, 64, 32, F16, F16, F16)
	wrong.Up[1] = randMatrix(1, F16, 32, 32)
	for _, e := range []*Experts{{}, short, wrong} {
		if err := e.Check(); err == nil {
			t.Errorf("%d experts with a bad shape passed", len(e.Gate))
		}
	}
}

// BenchmarkMoE times DeepSeek-V2-Lite's routed experts (D=2048, Ie=1408, 64 experts, 6 per token, Q8_0,
// about 590 MB of weights) against the per-token loop: decode (n=1, a different token and so different
// experts each time, as in generation) and batches of 32 and 128 tokens (every expert busy):
//
//	go test -run '^$' -bench MoE -benchtime 20x ./internal/kernels/
func BenchmarkMoE(b *testing.B) {
	const D, I, E, k, tokens = 2048, 1408, 64, 6, 64
	e := &Experts{Gate: make([]Matrix, E), Up: make([]Matrix, E), Down: make([]Matrix, E)}
	for i := range E {
		e.Gate[i], e.Up[i], e.Down[i] = benchMatrix(Q8_0, I, D), benchMatrix(Q8_0, I, D), benchMatrix(Q8_0, D, I)
	}
	p := NewPool(0)
	defer p.Close()
	r := newRand(1)
	x := randVec(r, tokens*D, 1)
	ids, w := randRouting(r, tokens, E, k, false)
	out := make([]float32, 2*tokens*D)
	for _, n := range []int{1, 32, 128} {
		// Calls cycle through the 64 tokens, n at a time (the batch of 128 takes them twice).
		xs, is, ws := x, ids, w
		if n > tokens {
			xs, is, ws = slices.Concat(x, x), slices.Concat(ids, ids), slices.Concat(w, w)
		}
		step := func(i int) int { return i * n % tokens }
		for _, impl := range []string{"grouped", "naive"} {
			b.Run(fmt.Sprintf("n=%d/%s", n, impl), func(b *testing.B) {
				var s MoEScratch
				i := 0
				for b.Loop() {
					t := step(i)
					if impl == "grouped" {
						p.MoE(out, xs[t*D:], n, e, is[t*k:], ws[t*k:], k, &s)
					} else {
						naiveMoE(p, out, xs[t*D:], n, e, is[t*k:], ws[t*k:], k)
					}
					i++
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/token")
			})
		}
	}
}

// TestMoEF8 runs FP8 experts (DeepSeek-V3's checkpoints, with block scales and F32 activations) through the
// dispatch and the naive loop: bit for bit equal.
func TestMoEF8(t *testing.T) {
	const E, D, I, k = 6, 160, 136, 2 // not multiples of the 128 scale blocks
	r := newRand(7)
	var e Experts
	for range E {
		e.Gate = append(e.Gate, QuantizeF8(randVec(r, I*D, 0.5), I, D))
		e.Up = append(e.Up, QuantizeF8(randVec(r, I*D, 0.5), I, D))
		e.Down = append(e.Down, QuantizeF8(randVec(r, D*I, 0.5), D, I))
	}
	p := NewPool(2)
	defer p.Close()
	for _, n := range []int{1, 3, 16} {
		x := randVec(r, n*D, 1)
		ids, w := randRouting(r, n, E, k, false)
		want := make([]float32, n*D)
		naiveMoE(p, want, x, n, &e, ids, w, k)
		var s MoEScratch
		got := make([]float32, n*D)
		p.MoE(got, x, n, &e, ids, w, k, &s)
		checkSame(t, fmt.Sprintf("F8 n=%d", n), got, want)
	}
}
