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

// The K-quant golden vectors: testdata/ggml_kquants.bin.gz, written by tools/ggmlvectors/kquants.c from
// libggml (its header comment gives the format and the command). The input rows are not stored: genKQRow
// regenerates them with the generator's arithmetic, and the file's hash of them proves the two agree.

// kqGoldenType is one type's golden output for one row.
type kqGoldenType struct {
	q      []byte  // ggml_quantize_chunk(type, weights, imatrix NULL)
	dqHash uint64  // fnv1a64 of ggml's to_float(q), as float32 bits
	dot    float32 // ggml-cpu's vec_dot(q, act)
}

// kqGoldenRow is one row of the golden file: the regenerated inputs and ggml's outputs.
type kqGoldenRow struct {
	n            int
	wkind, akind uint32
	w, a         []float32
	act          []byte // the activation row as ggml's Q8_K
	types        map[DType]kqGoldenType
}

var kqGolden struct {
	once sync.Once
	rows []kqGoldenRow
	err  string
}

// loadKQGoldens reads and checks the golden file once per test binary.
func loadKQGoldens(t *testing.T) []kqGoldenRow {
	t.Helper()
	kqGolden.once.Do(func() { kqGolden.rows, kqGolden.err = readKQGoldens() })
	if kqGolden.err != "" {
		t.Fatal(kqGolden.err)
	}
	return kqGolden.rows
}

// readKQGoldens parses testdata/ggml_kquants.bin.gz; it returns an error message instead of failing so
// that the sync.Once above stays simple.
func readKQGoldens() ([]kqGoldenRow, string) {
	f, err := os.Open("testdata/ggml_kquants.bin.gz")
	if err != nil {
		return nil, err.Error()
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err.Error()
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err.Error()
	}
	r := bytes.NewReader(raw)
	var hdr struct {
		Magic         [8]byte
		Nrows, Ntypes uint32
	}
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil || string(hdr.Magic[:]) != "KQGOLD01" {
		return nil, "ggml_kquants: bad header"
	}
	types := make([]uint32, hdr.Ntypes)
	if err := binary.Read(r, binary.LittleEndian, types); err != nil {
		return nil, err.Error()
	}
	rows := make([]kqGoldenRow, hdr.Nrows)
	for i := range rows {
		var rh struct {
			N, Wkind, Akind      uint32
			Wseed, Aseed, Inhash uint64
		}
		if err := binary.Read(r, binary.LittleEndian, &rh); err != nil {
			return nil, err.Error()
		}
		row := kqGoldenRow{n: int(rh.N), wkind: rh.Wkind, akind: rh.Akind, types: map[DType]kqGoldenType{}}
		row.w = genKQRow(row.n, rh.Wkind, rh.Wseed)
		row.a = genKQRow(row.n, rh.Akind, rh.Aseed)
		if h := fnvFloats(fnvFloats(fnvOffset, row.w), row.a); h != rh.Inhash {
			return nil, fmt.Sprintf("ggml_kquants: regenerated inputs of row %d differ from the generator's", i)
		}
		row.act = make([]byte, row.n/qkK*q8KBlockSize)
		if _, err := io.ReadFull(r, row.act); err != nil {
			return nil, err.Error()
		}
		for _, ty := range types {
			dt := DType(ty)
			var g kqGoldenType
			g.q = make([]byte, row.n/qkK*dt.TypeSize())
			if _, err := io.ReadFull(r, g.q); err != nil {
				return nil, err.Error()
			}
			if err := binary.Read(r, binary.LittleEndian, &g.dqHash); err != nil {
				return nil, err.Error()
			}
			if err := binary.Read(r, binary.LittleEndian, &g.dot); err != nil {
				return nil, err.Error()
			}
			row.types[dt] = g
		}
		rows[i] = row
	}
	if r.Len() != 0 {
		return nil, "ggml_kquants: trailing bytes"
	}
	return rows, ""
}

const fnvOffset = 0xcbf29ce484222325

// fnvFloats continues an FNV-1a 64 hash over the little-endian bits of v.
func fnvFloats(h uint64, v []float32) uint64 {
	for _, f := range v {
		b := math.Float32bits(f)
		for k := 0; k < 4; k++ {
			h ^= uint64(byte(b >> (8 * k)))
			h *= 0x100000001b3
		}
	}
	return h
}

// kqRand is splitmix64, the generator's sm_next.
type kqRand struct{ s uint64 }

func (r *kqRand) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (r *kqRand) u24() int64 { return int64(r.next() >> 40) }

// gauss mirrors the generator's Irwin-Hall(4) draw.
func (r *kqRand) gauss() float32 {
	s := r.u24()
	s += r.u24()
	s += r.u24()
	s += r.u24()
	return float32(s-2<<24) * 0x1p-24
}

// genKQRow mirrors gen_row in tools/ggmlvectors/kquants.c: n values of distribution kind from seed.
func genKQRow(n int, kind uint32, seed uint64) []float32 {
	r := &kqRand{seed}
	v := make([]float32, n)
	scale := float32(1)
	for i := range v {
		g := r.gauss()
		switch kind {
		case 0:
			v[i] = g
		case 1:
			v[i] = g * 0x1p-6
			if r.next()%64 == 0 {
				v[i] *= 16
			}
		case 2:
			v[i] = float32(r.u24()-1<<23) * 0x1p-13
		case 3:
			v[i] = g * 0x1p-24
		case 4:
			v[i] = g * 0x1p16
		case 5:
			if g < 0 {
				v[i] = g
			} else {
				v[i] = -g
			}
		case 6:
			v[i] = g + 3
		case 7:
			if i%16 == 0 {
				scale = 1
				if i < 256 || r.next()%4 == 0 {
					scale = 0
				}
			}
			v[i] = g * scale
		case 8:
			if i%32 == 0 {
				scale = math.Float32frombits(uint32(127+int(r.next()%17)-8) << 23)
			}
			v[i] = g * scale
		case 9:
			v[i] = float32(int(r.next()%33)-16) * 0.5
		case 10:
			v[i] = g * 0x1p24
		case 11:
			v[i] = g * 0x1p-60
		}
	}
	return v
}

// kqFuncs are the functions under test for one type; dot is nil where another file owns it. x86 marks a
// dot that adds in the float order of ggml-cpu's x86 vec_dot (the AVX2 code the golden file's build ran),
// which must then give ggml's result bit for bit.
type kqFuncs struct {
	t        DType
	dequant  func(dst []float32, src []byte)
	quantize func(dst []byte, src []float32)
	dot      func(w, x []byte, n int) float32
	x86      bool
}

// kqTypes lists the K-quant types with their functions (the Q4_K and Q6_K dots live in kq_dot.go).
var kqTypes = []kqFuncs{
	{t: Q2_K, dequant: dequantQ2_K, quantize: quantizeQ2_K, dot: dotQ2_KRef},
	{t: Q3_K, dequant: dequantQ3_K, quantize: quantizeQ3_K, dot: dotQ3_KRef, x86: true},
	{t: Q4_K, dequant: dequantQ4_K, quantize: quantizeQ4_K, dot: dotQ4_KVecRef, x86: true},
	{t: Q5_K, dequant: dequantQ5_K, quantize: quantizeQ5_K, dot: dotQ5_KRef, x86: true},
	{t: Q6_K, dequant: dequantQ6_K, quantize: quantizeQ6_K, dot: dotQ6_KRef, x86: true},
	{t: IQ4_XS, dequant: dequantIQ4_XS, quantize: quantizeIQ4_XS, dot: dotIQ4_XSRef},
}

// TestKQuantGoldenQuantize checks every quantizer byte for byte against ggml_quantize_chunk.
func TestKQuantGoldenQuantize(t *testing.T) {
	rows := loadKQGoldens(t)
	for _, f := range kqTypes {
		t.Run(f.t.String(), func(t *testing.T) {
			bad := 0
			for i, row := range rows {
				want := row.types[f.t].q
				got := make([]byte, len(want))
				f.quantize(got, row.w)
				for b := 0; b < len(want); b += f.t.TypeSize() {
					e := b + f.t.TypeSize()
					if !bytes.Equal(got[b:e], want[b:e]) {
						bad++
						if bad <= 5 {
							t.Errorf("row %d (kind %d, n %d) block %d:\n got %x\nwant %x", i, row.wkind, row.n, b/f.t.TypeSize(), got[b:e], want[b:e])
						}
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d blocks differ", bad)
			}
		})
	}
}

// TestKQuantGoldenDequantize checks every dequantizer bit for bit against ggml's to_float of ggml's bytes.
func TestKQuantGoldenDequantize(t *testing.T) {
	rows := loadKQGoldens(t)
	for _, f := range kqTypes {
		t.Run(f.t.String(), func(t *testing.T) {
			for i, row := range rows {
				g := row.types[f.t]
				got := make([]float32, row.n)
				f.dequant(got, g.q)
				if h := fnvFloats(fnvOffset, got); h != g.dqHash {
					t.Errorf("row %d (kind %d, n %d): dequantized floats differ from ggml's (hash %x, want %x)", i, row.wkind, row.n, h, g.dqHash)
				}
			}
		})
	}
}

// TestKQuantGoldenQ8_K checks quantizeActQ8_K byte for byte against ggml-cpu's Q8_K from_float.
func TestKQuantGoldenQ8_K(t *testing.T) {
	for i, row := range loadKQGoldens(t) {
		got := make([]byte, len(row.act))
		quantizeActQ8_K(got, row.a)
		for b := 0; b < len(got); b += q8KBlockSize {
			if e := b + q8KBlockSize; !bytes.Equal(got[b:e], row.act[b:e]) {
				t.Errorf("row %d (kind %d) block %d:\n got %x\nwant %x", i, row.akind, b/q8KBlockSize, got[b:e], row.act[b:e])
			}
		}
	}
}

// TestKQuantGoldenDots checks the scalar reference dots against ggml-cpu's vec_dot, to float32 rounding:
// |got - want| ≤ 2^-18 · Σ|w_j·x_j| (about 4e-6 of the sum of the products' magnitudes), and bit for bit
// where the reference follows ggml's x86 float order. It also
// checks the golden vec_dot of every type (those without a dot here included) against a float64 dot of
// ggml's own dequantized rows, so the file's dots are known to be right for whoever tests against them.
func TestKQuantGoldenDots(t *testing.T) {
	rows := loadKQGoldens(t)
	for _, f := range kqTypes {
		t.Run(f.t.String(), func(t *testing.T) {
			checked := 0
			for i, row := range rows {
				g := row.types[f.t]
				want, mag := dotDequant64(f, g.q, row.act, row.n)
				if math.IsInf(mag, 0) || math.IsNaN(mag) {
					continue // fp16 scales overflowed: ggml's result is Inf or NaN and there is nothing to compare
				}
				tol := 0x1p-18 * mag
				if d := math.Abs(float64(g.dot) - want); !(d <= tol) {
					t.Errorf("row %d (kinds %d/%d): ggml's vec_dot %g, float64 dot of its dequantized rows %g", i, row.wkind, row.akind, g.dot, want)
				}
				if f.dot != nil {
					got := f.dot(g.q, row.act, row.n)
					if f.x86 && got != g.dot {
						t.Errorf("row %d (kinds %d/%d): dot %g, ggml %g: not bit for bit", i, row.wkind, row.akind, got, g.dot)
					}
					if d := math.Abs(float64(got) - float64(g.dot)); !(d <= tol) {
						t.Errorf("row %d (kinds %d/%d): dot %g, ggml %g (tolerance %g)", i, row.wkind, row.akind, got, g.dot, tol)
					}
				}
				checked++
			}
			if checked < len(rows)/2 {
				t.Errorf("only %d of %d rows had finite dots", checked, len(rows))
			}
		})
	}
}

// dotDequant64 is the dot of the dequantized weights w with the Q8_K activations x in float64, and
// Σ|w_j·x_j|, the scale of the rounding errors a float32 evaluation may make.
func dotDequant64(f kqFuncs, w, x []byte, n int) (dot, mag float64) {
	wf := make([]float32, n)
	f.dequant(wf, w)
	for b := 0; b < n/qkK; b++ {
		blk := x[b*q8KBlockSize:]
		d := float64(math.Float32frombits(binary.LittleEndian.Uint32(blk)))
		for j := 0; j < qkK; j++ {
			p := float64(wf[b*qkK+j]) * d * float64(int8(blk[4+j]))
			dot += p
			mag += math.Abs(p)
		}
	}
	return dot, mag
}
