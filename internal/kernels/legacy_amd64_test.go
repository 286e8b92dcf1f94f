//go:build amd64

package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wasmoe/wasmoe/internal/kernels/internal/amd64"
	"golang.org/x/sys/cpu"
)

// legacySIMD lists the assembly dots of each legacy type, AVX2 then VNNI, in legacyTypes order.
var legacySIMD = [][2]func(w, x []byte, n int) float32{
	{amd64.DotQ4_0, amd64.DotQ4_0VNNI},
	{amd64.DotQ4_1, amd64.DotQ4_1VNNI},
	{amd64.DotQ5_0, amd64.DotQ5_0VNNI},
	{amd64.DotQ5_1, amd64.DotQ5_1VNNI},
	{amd64.DotIQ4_NL, amd64.DotIQ4_NLVNNI},
}

// legacyISAs names the two assembly variants and reports whether this CPU runs each.
var legacyISAs = []struct {
	name string
	ok   func() bool
}{
	{"AVX2", func() bool { return cpu.X86.HasAVX2 && cpu.X86.HasF16C }},
	{"VNNI", func() bool {
		return cpu.X86.HasAVX2 && cpu.X86.HasF16C && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI
	}},
}

// randLegacyRow returns nb random blocks of weight type lt (random quant bytes, finite fp16 scales and
// offsets) and nb packed activation blocks with random int8 quants, −128 included, and finite fp16 d and s.
func randLegacyRow(r *rand.Rand, lt legacyType, nb int) (w, x []byte) {
	f16 := func(scale float64) uint16 { return F32ToF16(float32(r.NormFloat64() * scale)) }
	w = make([]byte, nb*lt.size)
	for i := range w {
		w[i] = byte(r.Uint32())
	}
	x = make([]byte, nb*lt.actSize())
	for i := range x {
		x[i] = byte(r.Uint32())
	}
	for b := range nb {
		wb, xb := w[b*lt.size:], x[b*lt.actSize():]
		binary.LittleEndian.PutUint16(wb, f16(0.01))
		binary.LittleEndian.PutUint16(xb, f16(0.05))
		if lt.q8_1 {
			binary.LittleEndian.PutUint16(wb[2:], f16(0.1))
			binary.LittleEndian.PutUint16(xb[2:], f16(20))
		}
	}
	return w, x
}

func TestLegacyDotSIMD(t *testing.T) {
	r := newRand(11)
	for v, isa := range legacyISAs {
		if !isa.ok() {
			t.Logf("%s: CPU lacks the features, skipped", isa.name)
			continue
		}
		for k, lt := range legacyTypes {
			dot := legacySIMD[k][v]
			t.Run(lt.name+"/"+isa.name, func(t *testing.T) {
				for _, nb := range []int{0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 64, 128, 133} {
					for rep := range 4 {
						w, x := randLegacyRow(r, lt, nb)
						if rep == 3 {
							// Extremes: all quants −128 or 127 in the activations, all-ones weight bytes.
							for b := range nb {
								xb := x[b*lt.actSize()+lt.actSize()-32 : (b+1)*lt.actSize()]
								for j := range xb {
									xb[j] = byte(0x80 ^ (b & 1 * 0xff))
								}
								for j := 2; j < lt.size; j++ {
									if !lt.q8_1 || j >= 4 {
										w[b*lt.size+j] = 0xff ^ byte(b&2*0x77)
									}
								}
							}
						}
						n := nb * 32
						want := lt.dot(w, x, n)
						if got := dot(w, x, n); !sameBits(got, want) {
							t.Fatalf("%d blocks (rep %d): got %g, reference %g", nb, rep, got, want)
						}
					}
				}
			})
		}
	}
}

func TestLegacyDotSIMDGolden(t *testing.T) {
	// On ggml's own rows (including infinite scales and NaN-making ones) the assembly matches the reference too.
	rows := goldenRows(t)
	for v, isa := range legacyISAs {
		if !isa.ok() {
			continue
		}
		for k, lt := range legacyTypes {
			for i, row := range rows {
				n := len(row.x)
				want := lt.dot(row.q[k], row.dotX[k], n)
				got := legacySIMD[k][v](row.q[k], row.dotX[k], n)
				if !sameFloats(got, want) {
					t.Errorf("%s %s row %d: got %g, reference %g", lt.name, isa.name, i, got, want)
				}
			}
		}
	}
}

func TestLegacyDotSIMDBounds(t *testing.T) {
	if !legacyISAs[0].ok() {
		t.Skip("no AVX2")
	}
	for k, lt := range legacyTypes {
		w := make([]byte, 4*lt.size)
		x := make([]byte, 4*lt.actSize())
		for _, c := range []struct {
			w, x []byte
		}{{w[:len(w)-1], x}, {w, x[:len(x)-1]}} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s: short row did not panic", lt.name)
					}
				}()
				legacySIMD[k][0](c.w, c.x, 128)
			}()
		}
	}
}

func BenchmarkLegacyDot(b *testing.B) {
	const n = 4096
	r := newRand(1)
	for k, lt := range legacyTypes {
		w, x := randLegacyRow(r, lt, n/32)
		impls := []struct {
			name string
			f    func(w, x []byte, n int) float32
			ok   bool
		}{
			{"ref", lt.dot, true},
			{"AVX2", legacySIMD[k][0], legacyISAs[0].ok()},
			{"VNNI", legacySIMD[k][1], legacyISAs[1].ok()},
		}
		for _, im := range impls {
			if !im.ok {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s", lt.name, im.name), func(b *testing.B) {
				var s float32
				for b.Loop() {
					s += im.f(w, x, n)
				}
				if math.IsNaN(float64(s)) {
					b.Log("NaN")
				}
				b.ReportMetric(float64(len(w))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}
