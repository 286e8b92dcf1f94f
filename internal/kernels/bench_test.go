package kernels

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"testing"
)

// Benchmarks report weight bytes per second (b.SetBytes) so MB/s reads as the matrix read bandwidth.
// Every benchmark runs on the scalar kernels and on the set in use at start-up (the best this CPU has,
// or the one WASMOE_KERNELS names), to read the speed-up off side by side:
//
//	go test -run '^$' -bench 'MatVec|MatMul|Dot' -benchtime 20x ./internal/kernels/
//	WASMOE_KERNELS=avx2 go test -run '^$' -bench Dot ./internal/kernels/

// benchISAs lists the kernel sets to compare: scalar and the best one or the one WASMOE_KERNELS names.
func benchISAs() []string {
	all := ISAs()
	set := all[len(all)-1]
	if env := os.Getenv(isaEnv); slices.Contains(all, env) {
		set = env
	}
	if set == "scalar" {
		return []string{"scalar"}
	}
	return []string{"scalar", set}
}

// withISA runs the sub-benchmark with the named kernel set active.
func withISA(b *testing.B, name string, f func(b *testing.B)) {
	prev := ISA()
	if err := SetISA(name); err != nil {
		b.Fatal(err)
	}
	defer SetISA(prev)
	b.Run(name, f)
}

// benchMatrix fills a rows×cols matrix of type t quickly with random values of unit scale.
func benchMatrix(t DType, rows, cols int) Matrix {
	rb, _ := t.RowBytes(cols)
	data := make([]byte, rows*rb)
	r := newRand(uint64(rows*cols) + uint64(t))
	for i := 0; i < len(data); i += 8 {
		binary.LittleEndian.PutUint64(data[i:], r.Uint64()) // rows*rb is even; pad the last word
	}
	switch t {
	case F32: // keep exponents sane: every float is in [1, 2) with a random sign
		for i := 0; i+3 < len(data); i += 4 {
			data[i+3] = data[i+3]&0x80 | 0x3f
			data[i+2] |= 0x80
		}
	case F16, BF16:
		for i := 0; i+1 < len(data); i += 2 {
			data[i+1] = data[i+1]&0x80 | 0x3c
			if t == BF16 {
				data[i+1] = data[i+1]&0x80 | 0x3f
			}
		}
	case Q8_0:
		for i := 0; i < len(data); i += q8BlockSize {
			data[i], data[i+1] = 0x00, 0x20
		}
	}
	return Matrix{Type: t, Rows: rows, Cols: cols, Data: data}
}

var benchShapes = []struct{ rows, cols int }{{1536, 1536}, {8960, 1536}, {1536, 8960}}

func BenchmarkMatVec(b *testing.B) {
	type cfg struct {
		t          DType
		rows, cols int
	}
	var cfgs []cfg
	for _, t := range []DType{F32, F16, BF16, Q8_0} {
		for _, s := range benchShapes {
			cfgs = append(cfgs, cfg{t, s.rows, s.cols})
		}
	}
	cfgs = append(cfgs, cfg{Q8_0, 151936, 1536})
	for _, c := range cfgs {
		w := benchMatrix(c.t, c.rows, c.cols)
		x := randVec(newRand(1), c.cols, 1)
		out := make([]float32, c.rows)
		b.Run(fmt.Sprintf("%v/%dx%d", c.t, c.rows, c.cols), func(b *testing.B) {
			for _, isa := range benchISAs() {
				withISA(b, isa, func(b *testing.B) {
					for _, th := range []int{1, 2} {
						p := NewPool(th)
						b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
							b.SetBytes(int64(len(w.Data)))
							b.ReportAllocs()
							p.MatVec(out, w, x)
							for b.Loop() {
								p.MatVec(out, w, x)
							}
						})
						p.Close()
					}
				})
			}
		})
	}
}

// BenchmarkMatVecCold cycles through about 600 MB of copies of a 1536×8960 matrix (ffn_down of a 1.5B
// model), more than this machine's 260 MB last-level cache, so each call streams its weights from memory
// as decode does. The F32 case is the read-bandwidth yardstick: its kernel has compute to spare.
func BenchmarkMatVecCold(b *testing.B) {
	for _, t := range []DType{F32, Q8_0} {
		one, _ := t.RowBytes(8960)
		ws := make([]Matrix, (600<<20)/(1536*one)+1)
		for i := range ws {
			ws[i] = benchMatrix(t, 1536, 8960)
		}
		x := randVec(newRand(1), 8960, 1)
		out := make([]float32, 1536)
		b.Run(t.String(), func(b *testing.B) {
			for _, isa := range benchISAs() {
				withISA(b, isa, func(b *testing.B) {
					for _, th := range []int{1, 2} {
						p := NewPool(th)
						b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
							b.SetBytes(int64(len(ws[0].Data)))
							b.ReportAllocs()
							p.MatVec(out, ws[0], x)
							i := 1
							for b.Loop() {
								p.MatVec(out, ws[i%len(ws)], x)
								i++
							}
						})
						p.Close()
					}
				})
			}
		})
	}
}

// BenchmarkPoolRun measures the cost of dispatching an empty job to every thread and waiting for it.
func BenchmarkPoolRun(b *testing.B) {
	for _, th := range []int{1, 2} {
		p := NewPool(th)
		b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
			b.ReportAllocs()
			fn := func(lo, hi int) {}
			for b.Loop() {
				p.Run(th, fn)
			}
		})
		p.Close()
	}
}

func BenchmarkMatMul32(b *testing.B) {
	const n = 32
	for _, t := range []DType{F32, F16, BF16, Q8_0} {
		for _, s := range benchShapes[:2] {
			w := benchMatrix(t, s.rows, s.cols)
			x := randVec(newRand(2), n*s.cols, 1)
			out := make([]float32, n*s.rows)
			p := NewPool(0)
			b.Run(fmt.Sprintf("%v/%dx%d", t, s.rows, s.cols), func(b *testing.B) {
				for _, isa := range benchISAs() {
					withISA(b, isa, func(b *testing.B) {
						b.SetBytes(int64(len(w.Data)))
						b.ReportAllocs()
						p.MatMul(out, w, x, n)
						for b.Loop() {
							p.MatMul(out, w, x, n)
						}
						b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/vector")
					})
				}
			})
			p.Close()
		}
	}
}

// BenchmarkDot times one 4096-element dot product per kernel (bytes: the weight operand).
func BenchmarkDot(b *testing.B) {
	const n = 4096
	r := newRand(3)
	a, x := randVec(r, n, 1), randVec(r, n, 1)
	h, hx := make([]uint16, n), make([]float32, n)
	for i := range h {
		h[i], hx[i] = F32ToF16(a[i]), F16ToF32(F32ToF16(x[i]))
	}
	w, xq, xd := randQ8(r, n/qk8)
	xq8 := make([]int8, 8*n)
	xdT := make([]float32, 8*n/qk8)
	for j := range 8 {
		copy(xq8[j*n:], xq)
	}
	for i := range xdT {
		xdT[i] = xd[i/8]
	}
	out8 := make([]float32, 8)
	var sink float32
	for _, isa := range benchISAs() {
		withISA(b, isa, func(b *testing.B) {
			k := active.Load()
			b.Run("f32", func(b *testing.B) {
				b.SetBytes(4 * n)
				for b.Loop() {
					sink += k.dotF32(a, x)
				}
			})
			b.Run("f16", func(b *testing.B) {
				b.SetBytes(2 * n)
				for b.Loop() {
					sink += k.dotF16(h, hx)
				}
			})
			b.Run("bf16", func(b *testing.B) {
				b.SetBytes(2 * n)
				for b.Loop() {
					sink += k.dotBF16(h, hx)
				}
			})
			b.Run("q8_0", func(b *testing.B) {
				b.SetBytes(n / qk8 * q8BlockSize)
				for b.Loop() {
					sink += k.dotQ8(w, xq, xd)
				}
			})
			b.Run("q8_0x8", func(b *testing.B) {
				b.SetBytes(n / qk8 * q8BlockSize)
				for b.Loop() {
					k.dotQ8x8(out8, 1, w, xq8, xdT)
				}
			})
		})
	}
	_ = sink
}

// BenchmarkQuantizeAct times the per-call activation quantization MatVec does for Q8_0 weights.
func BenchmarkQuantizeAct(b *testing.B) {
	x := randVec(newRand(4), 8960, 1)
	qs, d := make([]int8, len(x)), make([]float32, len(x)/qk8)
	for _, isa := range benchISAs() {
		withISA(b, isa, func(b *testing.B) {
			k := active.Load()
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				k.quantQ8(qs, d, x)
			}
		})
	}
}
