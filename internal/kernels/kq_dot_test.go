//go:build amd64

package kernels

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/wasmoe/wasmoe/internal/kernels/internal/amd64"
)

// kqKernel is one SIMD K-quant dot kernel under test, with the CPU features it needs.
type kqKernel struct {
	name string
	ok   bool
	one  func(w, x []byte, n int) float32
}

// hasAVX2 and hasVNNI say whether this CPU runs the AVX2 and the AVX-512 VNNI kernels.
var (
	hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	hasVNNI = hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI
)

// q4KKernels and q6KKernels list the SIMD kernels of each type.
var (
	q4KKernels = []kqKernel{
		{"avx2", hasAVX2, amd64.DotQ4_K},
		{"vnni", hasVNNI, amd64.DotQ4_KVNNI},
	}
	q6KKernels = []kqKernel{
		{"avx2", hasAVX2, amd64.DotQ6_K},
		{"vnni", hasVNNI, amd64.DotQ6_KVNNI},
	}
)

// randHalf returns the bits of a random finite fp16 value (any sign, exponent and mantissa, subnormals
// included).
func randHalf(r *rand.Rand) uint16 {
	for {
		if h := uint16(r.Uint32()); h&0x7c00 != 0x7c00 {
			return h
		}
	}
}

// randQ4K returns nb random block_q4_K: random bytes with finite random d and dmin.
func randQ4K(r *rand.Rand, nb int) []byte {
	w := make([]byte, nb*kqQ4Bytes)
	for i := range w {
		w[i] = byte(r.Uint32())
	}
	for b := range nb {
		binary.LittleEndian.PutUint16(w[b*kqQ4Bytes:], randHalf(r))
		binary.LittleEndian.PutUint16(w[b*kqQ4Bytes+2:], randHalf(r))
	}
	return w
}

// randQ6K returns nb random block_q6_K: random bytes with a finite random d.
func randQ6K(r *rand.Rand, nb int) []byte {
	w := make([]byte, nb*kqQ6Bytes)
	for i := range w {
		w[i] = byte(r.Uint32())
	}
	for b := range nb {
		binary.LittleEndian.PutUint16(w[b*kqQ6Bytes+208:], randHalf(r))
	}
	return w
}

// randQ8K returns nb random block_q8_K: qs uniform in [-128, 127], bsums their group sums, d a random
// float32 of either sign between 2^-12 and 2^4.
func randQ8K(r *rand.Rand, nb int) []byte {
	x := make([]byte, nb*kqQ8Bytes)
	for b := range nb {
		xb := x[b*kqQ8Bytes : (b+1)*kqQ8Bytes]
		d := float32(math.Ldexp(1+r.Float64(), r.IntN(16)-12))
		if r.IntN(2) == 0 {
			d = -d
		}
		binary.LittleEndian.PutUint32(xb, math.Float32bits(d))
		for i := range kqSuper {
			xb[4+i] = byte(r.Uint32())
		}
		setBsums(xb)
	}
	return x
}

// setBsums writes bsums[i] = Σ qs[16i..16i+15] into the block_q8_K xb.
func setBsums(xb []byte) {
	for i := range 16 {
		var s int16
		for l := range 16 {
			s += int16(int8(xb[4+16*i+l]))
		}
		binary.LittleEndian.PutUint16(xb[260+2*i:], uint16(s))
	}
}

func TestDotKQuantSIMDMatchesReference(t *testing.T) {
	r := newRand(41)
	for _, tc := range []struct {
		typ     string
		bytes   int
		gen     func(*rand.Rand, int) []byte
		ref     func(w, x []byte, n int) float32
		kernels []kqKernel
	}{
		{"q4_K", kqQ4Bytes, randQ4K, dotQ4_KRef, q4KKernels},
		{"q6_K", kqQ6Bytes, randQ6K, dotQ6_KRef, q6KKernels},
	} {
		for _, k := range tc.kernels {
			t.Run(tc.typ+"/"+k.name, func(t *testing.T) {
				if !k.ok {
					t.Skip("CPU lacks the feature")
				}
				for nb := 0; nb <= 16; nb++ {
					for range 8 {
						w, x := tc.gen(r, nb), randQ8K(r, nb)
						n := nb * kqSuper
						if got, want := k.one(w, x, n), tc.ref(w, x, n); !sameBits(got, want) {
							t.Fatalf("nb=%d: got %v, reference %v", nb, got, want)
						}
					}
				}
			})
		}
	}
}

// half64 decodes fp16 bits into a float64 (independently of F16ToF32).
func half64(h uint16) float64 {
	e, m := int(h>>10&31), float64(h&1023)
	v := math.Ldexp(m, -24) // subnormal
	if e != 0 {
		v = math.Ldexp(1024+m, e-25)
	}
	if h&0x8000 != 0 {
		v = -v
	}
	return v
}

// q8KModel returns the activation values x.d·qs[i] of the Q8_K row x in float64.
func q8KModel(x []byte, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		xb := x[i/kqSuper*kqQ8Bytes:]
		v[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(xb))) * float64(int8(xb[4+i%kqSuper]))
	}
	return v
}

// q4KModel dequantizes n Q4_K elements in float64 as ggml's dequantize_row_q4_K does (y = d·sc·q − dmin·m),
// and also returns each element's two terms' magnitudes |d·sc·q| + |dmin·m| for an error bound.
func q4KModel(w []byte, n int) (y, mag []float64) {
	scaleMin := func(j int, q []byte) (float64, float64) {
		if j < 4 {
			return float64(q[j] & 63), float64(q[j+4] & 63)
		}
		return float64(q[j+4]&0xF | (q[j-4]>>6)<<4), float64(q[j+4]>>4 | (q[j]>>6)<<4)
	}
	for b := 0; b < n/256; b++ {
		blk := w[b*144:]
		d, dmin := half64(binary.LittleEndian.Uint16(blk)), half64(binary.LittleEndian.Uint16(blk[2:]))
		q := blk[16:]
		for j, is := 0, 0; j < 256; j, is = j+64, is+2 {
			sc1, m1 := scaleMin(is, blk[4:])
			sc2, m2 := scaleMin(is+1, blk[4:])
			for l := range 32 {
				a, c := d*sc1*float64(q[l]&0xF), dmin*m1
				y, mag = append(y, a-c), append(mag, math.Abs(a)+math.Abs(c))
			}
			for l := range 32 {
				a, c := d*sc2*float64(q[l]>>4), dmin*m2
				y, mag = append(y, a-c), append(mag, math.Abs(a)+math.Abs(c))
			}
			q = q[32:]
		}
	}
	return y, mag
}

// q6KModel dequantizes n Q6_K elements in float64 as ggml's dequantize_row_q6_K does.
func q6KModel(w []byte, n int) []float64 {
	y := make([]float64, n)
	for b := 0; b < n/256; b++ {
		blk := w[b*210:]
		d := half64(binary.LittleEndian.Uint16(blk[208:]))
		ql, qh, sc, out := blk[0:], blk[128:], blk[192:], y[b*256:]
		for h := 0; h < 256; h += 128 {
			for l := range 32 {
				is := l / 16
				q1 := int(ql[l]&0xF|(qh[l]>>0&3)<<4) - 32
				q2 := int(ql[l+32]&0xF|(qh[l]>>2&3)<<4) - 32
				q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				out[h+l] = d * float64(int8(sc[is])) * float64(q1)
				out[h+l+32] = d * float64(int8(sc[is+2])) * float64(q2)
				out[h+l+64] = d * float64(int8(sc[is+4])) * float64(q3)
				out[h+l+96] = d * float64(int8(sc[is+6])) * float64(q4)
			}
			ql, qh, sc = ql[64:], qh[32:], sc[8:]
		}
	}
	return y
}

func TestDotKQuantReferenceMatchesModel(t *testing.T) {
	r := newRand(42)
	for nb := 1; nb <= 16; nb++ {
		for range 4 {
			n := nb * kqSuper
			x := randQ8K(r, nb)
			xv := q8KModel(x, n)
			w4, w6 := randQ4K(r, nb), randQ6K(r, nb)
			y4, mag4 := q4KModel(w4, n)
			y6 := q6KModel(w6, n)
			var want4, bound4, want6, bound6 float64
			for i := range n {
				want4 += y4[i] * xv[i]
				bound4 += mag4[i] * math.Abs(xv[i])
				want6 += y6[i] * xv[i]
				bound6 += math.Abs(y6[i] * xv[i])
			}
			// A few float32 roundings per superblock and one per accumulation step: 2^-24·(5+nb) of the
			// sum of magnitudes, with room to spare.
			tol := 1e-7 * float64(5+nb)
			if got := float64(dotQ4_KRef(w4, x, n)); math.Abs(got-want4) > tol*bound4 {
				t.Fatalf("q4_K nb=%d: reference %v, model %v (bound %v)", nb, got, want4, tol*bound4)
			}
			if got := float64(dotQ6_KRef(w6, x, n)); math.Abs(got-want6) > tol*bound6 {
				t.Fatalf("q6_K nb=%d: reference %v, model %v (bound %v)", nb, got, want6, tol*bound6)
			}
		}
	}
}

// TestDotKQuantExtremes runs the sums at their largest magnitudes. None can leave int32 or saturate:
// VPMADDUBSW pairs are at most 2·15·128 (Q4_K) or 2·63·128 = 16128 (Q6_K) < 2^15; per superblock Q4_K
// |sumi| ≤ 8·63·(32·15·128) = 30965760 < 2^25 and |summ| ≤ 8·63·(32·128) < 2^21; Q6_K
// |Σ s·Σ q·qs| ≤ 16·128·(16·63·128) < 2^29 and |32·Σ s·bsums| ≤ 32·16·128·2048 = 2^27 (bsums of real
// qs), far below 2^31. Every case here has d = x.d = 1, so the exact integer result is the expected value.
func TestDotKQuantExtremes(t *testing.T) {
	const nb = 3
	for _, qv := range []int8{-128, 127} {
		x := make([]byte, nb*kqQ8Bytes)
		for b := range nb {
			xb := x[b*kqQ8Bytes:]
			binary.LittleEndian.PutUint32(xb, math.Float32bits(1))
			for i := range kqSuper {
				xb[4+i] = byte(qv)
			}
			setBsums(xb)
		}
		// Q4_K: every scale and min 63, every quant 15 (all bytes 0xff), d = dmin = 1.
		w4 := make([]byte, nb*kqQ4Bytes)
		for i := range w4 {
			w4[i] = 0xff
		}
		for b := range nb {
			binary.LittleEndian.PutUint32(w4[b*kqQ4Bytes:], 0x3c003c00)
		}
		want4 := float32(nb * (8*63*32*15*int(qv) - 8*63*32*int(qv)))
		check(t, "q4_K", q4KKernels, dotQ4_KRef, w4, x, nb, want4)
		// Q6_K: quants 0 or 63, scales -128 or 127.
		for _, q6 := range []byte{0, 63} {
			for _, s := range []int8{-128, 127} {
				w6 := make([]byte, nb*kqQ6Bytes)
				for b := range nb {
					blk := w6[b*kqQ6Bytes:]
					for i := range 128 {
						blk[i] = q6&15 | (q6&15)<<4
					}
					for i := range 64 {
						h := q6 >> 4
						blk[128+i] = h | h<<2 | h<<4 | h<<6
					}
					for i := range 16 {
						blk[192+i] = byte(s)
					}
					binary.LittleEndian.PutUint16(blk[208:], 0x3c00)
				}
				want6 := float32(nb * 16 * int(s) * 16 * (int(q6) - 32) * int(qv))
				check(t, "q6_K", q6KKernels, dotQ6_KRef, w6, x, nb, want6)
			}
		}
	}
}

// check asserts that the reference and every kernel return want for nb superblocks of w against x.
func check(t *testing.T, typ string, ks []kqKernel, ref func(w, x []byte, n int) float32, w, x []byte, nb int, want float32) {
	t.Helper()
	n := nb * kqSuper
	if got := ref(w, x, n); got != want {
		t.Fatalf("%s reference: got %v, want %v", typ, got, want)
	}
	for _, k := range ks {
		if !k.ok {
			continue
		}
		if got := k.one(w, x, n); got != want {
			t.Fatalf("%s %s: got %v, want %v", typ, k.name, got, want)
		}
	}
}

// BenchmarkDotKQuant times each K-quant kernel on one row of n = 4096 (L1-resident, as BenchmarkDot) and
// streaming through 64 MiB of rows (memory-bound), reporting GB/s of weight bytes, next to the Q8_0
// kernels on the same n.
func BenchmarkDotKQuant(b *testing.B) {
	const n = 4096
	r := newRand(43)
	x := randQ8K(r, n/kqSuper)
	for _, tc := range []struct {
		typ     string
		row     int
		gen     func(*rand.Rand, int) []byte
		ref     func(w, x []byte, n int) float32
		kernels []kqKernel
	}{
		{"q4_K", n / kqSuper * kqQ4Bytes, randQ4K, dotQ4_KRef, q4KKernels},
		{"q6_K", n / kqSuper * kqQ6Bytes, randQ6K, dotQ6_KRef, q6KKernels},
	} {
		w := tc.gen(r, n/kqSuper)
		big := tc.gen(r, (64<<20)/tc.row*(n/kqSuper))
		rows := len(big) / tc.row
		var sink float32
		bench := func(name string, bytes int, f func()) { kqBench(b, tc.typ+"/"+name, bytes, f) }
		bench("ref", tc.row, func() { sink += tc.ref(w, x, n) })
		for _, k := range tc.kernels {
			if !k.ok {
				continue
			}
			bench(k.name, tc.row, func() { sink += k.one(w, x, n) })
			i := 0
			bench(k.name+"/stream", tc.row, func() {
				sink += k.one(big[i*tc.row:], x, n)
				if i++; i == rows {
					i = 0
				}
			})
		}
		_ = sink
	}
	// The Q8_0 kernel at the same n, for comparison (34 bytes per 32 elements).
	wq, xq, xd := randQ8(r, n/qk8)
	bigq, _, _ := randQ8(r, (64<<20)/q8BlockSize)
	q8row := n / qk8 * q8BlockSize
	for _, k := range []struct {
		name string
		ok   bool
		dot  func(w []byte, xq []int8, xd []float32) float32
	}{{"avx2", hasAVX2, amd64.DotQ8}, {"vnni", hasVNNI, amd64.DotQ8VNNI}} {
		if !k.ok {
			continue
		}
		var sink float32
		kqBench(b, "q8_0/"+k.name, q8row, func() { sink += k.dot(wq, xq, xd) })
		i, rows := 0, len(bigq)/q8row
		kqBench(b, "q8_0/"+k.name+"/stream", q8row, func() {
			sink += k.dot(bigq[i*q8row:], xq, xd)
			if i++; i == rows {
				i = 0
			}
		})
		_ = sink
	}
}

// kqBench runs f as the sub-benchmark name, reporting GB/s of the given bytes per call.
func kqBench(b *testing.B, name string, bytes int, f func()) {
	b.Run(name, func(b *testing.B) {
		b.SetBytes(int64(bytes))
		start := time.Now()
		for b.Loop() {
			f()
		}
		b.ReportMetric(float64(bytes)*float64(b.N)/time.Since(start).Seconds()/1e9, "GB/s")
	})
}
