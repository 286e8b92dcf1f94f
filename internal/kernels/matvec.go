package kernels

import "fmt"

// Matrix is a row-major weight matrix: Rows rows of Cols elements of Type (Cols is GGUF's ne[0], the
// input dimension; quant blocks run along it). Data holds at least Rows·RowBytes(Cols) bytes and may be
// an mmap view; it is only read.
//
// A Q8_0, Q4_K or Q5_0 matrix may also carry Interleaved, a copy of its first Rows&^7 rows in the layout
// of the interleaved kernels (see Interleave); MatMul and MoE read it where the kernel set has those
// kernels.
//
// VecDot marks a weight that llama.cpp multiplies with ggml-cpu's vec_dot rather than a repacked gemv (a
// 3D weight of a plain MUL_MAT, such as deepseek2's per-head attn_k_b and attn_v_b): for a type whose
// two float orders differ (Q4_0, Q4_K, Q8_0), MatMul then adds in vec_dot's, as it does for a Q4_0 or
// Q4_K matrix whose Rows is not a multiple of 8 (which llama.cpp does not repack either).
//
// An F8_E4M3 matrix also needs Scale, its block multipliers (DeepSeek's weight_scale_inv), row-major
// [ceil(Rows/128)][ceil(Cols/128)]: W[i][j] = fp8(Data[i·Cols+j]) · Scale[(i/128)·ceil(Cols/128) + j/128].
// Scale is nil for every other type. It may be a view too; it is only read.
type Matrix struct {
	Type        DType
	Rows, Cols  int
	Data        []byte
	Scale       []float32
	Interleaved []byte
	VecDot      bool
}

// tileBytes is roughly how many bytes of weight rows MatMul keeps hot in cache while it runs every input
// vector over them.
const tileBytes = 32 << 10

// MatVec computes out[r] = dot(row r of w, x) for every row; len(x) >= w.Cols and len(out) >= w.Rows.
// It is MatMul with n = 1 and gives identical results. See MatMul for the arithmetic.
func (p *Pool) MatVec(out []float32, w Matrix, x []float32) { p.MatMul(out, w, x, 1) }

// MatMul multiplies w by n input vectors, x[i·Cols:(i+1)·Cols], into out[i·Rows + r]. The arithmetic is
// that of llama.cpp's CPU matmul: each input vector is first brought to the weight's vec_dot type as the
// type table says (Q8_0 blocks for Q8_0 weights, quantized as ggml-cpu does on x86; Q8_K blocks for the
// K-quants; fp16 for F16; bf16 for BF16; F32 as is), then every output is one dot product with the
// type's kernel (see dot.go and each type's file for the exact float order). F8_E4M3 weights, which
// ggml lacks, meet the F32 inputs as they are, with their block scales (see fp8.go). Every output depends
// only on its row and its vector, so results do not depend on n, the thread count or the kernel set.
//
// The rows are split across the pool's threads in contiguous chunks; each thread walks its rows in tiles
// and runs all n vectors over a tile before the next, so each weight row is read from memory once per call.
// It panics if w is not valid (its type not Supported, Data too short, Scale not what its type needs) or a slice is too short.
func (p *Pool) MatMul(out []float32, w Matrix, x []float32, n int) {
	rowBytes := w.check()
	if n <= 0 {
		return
	}
	if len(x) < n*w.Cols || len(out) < n*w.Rows {
		panic(fmt.Sprintf("kernels: MatMul of %dx%d by %d vectors needs %d inputs and %d outputs, have %d and %d",
			w.Rows, w.Cols, n, n*w.Cols, n*w.Rows, len(x), len(out)))
	}
	p.lock()
	defer p.mu.Unlock()
	k := active.Load()
	tr := typeTable[w.Type]
	p.act.sums = w.Interleaved != nil && k.dotQ8I8 != nil && !w.VecDot
	p.act.prepare(p, k, tr.act, x[:n*w.Cols], w.Cols, n)
	p.mat = newMatJob(k, tr, out, w, rowBytes, n, x, &p.act)
	p.parallel(w.Rows, &p.mat)
	p.mat = matJob{}
}

// check validates w and returns its row size in bytes; it panics if w is not valid.
func (w Matrix) check() int {
	rowBytes, err := w.validate()
	if err != nil {
		panic(err.Error())
	}
	return rowBytes
}

// Validate reports what is wrong with w, if anything: a type with no kernel, data too short for its
// shape, or block scales that do not fit (required for F8_E4M3, forbidden otherwise).
func (w Matrix) Validate() error {
	_, err := w.validate()
	return err
}

// validate returns w's row size in bytes, or what is wrong with w.
func (w Matrix) validate() (int, error) {
	if !Supported(w.Type) {
		return 0, fmt.Errorf("kernels: no matmul kernel for %v", w.Type)
	}
	rowBytes, err := w.Type.RowBytes(w.Cols)
	if err != nil {
		return 0, fmt.Errorf("kernels: %w", err)
	}
	if w.Rows < 0 || w.Cols <= 0 || len(w.Data) < w.Rows*rowBytes {
		return 0, fmt.Errorf("kernels: %v matrix %dx%d needs %d bytes, has %d", w.Type, w.Rows, w.Cols,
			w.Rows*rowBytes, len(w.Data))
	}
	if w.Type == F8_E4M3 {
		if want := f8Blocks(w.Rows) * f8Blocks(w.Cols); len(w.Scale) != want {
			return 0, fmt.Errorf("kernels: F8_E4M3 matrix %dx%d needs %d block scales, has %d", w.Rows, w.Cols,
				want, len(w.Scale))
		}
	} else if w.Scale != nil {
		return 0, fmt.Errorf("kernels: %v matrix has block scales; only F8_E4M3 takes them", w.Type)
	}
	return rowBytes, w.validateInterleaved(rowBytes)
}

// matJob is one MatMul: rows [lo, hi) of w against all n prepared vectors.
type matJob struct {
	k        *kernelSet
	loop     rowLoop
	dot      func(w, x []byte, n int) float32                             // loopPacked's kernel
	dotx4    func(out []float32, stride int, w, x []byte, xStride, n int) // loopPacked's 4-vector kernel, or nil
	dotI8    func(out []float32, stride int, w, x []byte, xStride, nb, n int)
	il       bool // whole groups of 8 rows come from w.Interleaved (dotI8, or the set's dotQ8I8 for Q8_0)
	ilSize   int  // bytes per block of an interleaved group
	out      []float32
	w        Matrix
	rowBytes int
	n, tile  int
	x        []float32 // F32 inputs
	act      *activations
}

// newMatJob sets up the product of w (of traits tr, rows of rowBytes) with the n vectors in x, converted
// in act, on kernel set k.
func newMatJob(k *kernelSet, tr *typeTraits, out []float32, w Matrix, rowBytes, n int, x []float32, act *activations) matJob {
	m := matJob{k: k, loop: tr.loop, out: out, w: w, rowBytes: rowBytes, n: n, x: x, act: act,
		tile: max(1, tileBytes/rowBytes), ilSize: tr.ilSize}
	if m.loop == loopPacked {
		m.dot, m.dotx4 = tr.dotFor(k), tr.dotx4For(k)
		if tr.vecOrder(w) {
			m.dot, m.dotx4 = tr.vecDotFor(k), nil
		}
	}
	if w.Interleaved != nil && !tr.vecOrder(w) {
		if m.loop == loopQ8 {
			m.il = k.dotQ8I8 != nil && act.sums && !w.VecDot
		} else if m.dotI8 = tr.dotI8For(k); m.dotI8 != nil {
			m.il = true
		}
	}
	if m.il {
		m.tile = max(8, m.tile&^7) // whole groups of 8 rows
	}
	return m
}

// run computes rows [lo, hi) tile by tile: in each, the whole groups of 8 rows from the interleaved copy
// where the job reads one, the other rows from the row layout.
func (m *matJob) run(lo, hi int) {
	for r0 := lo; r0 < hi; r0 += m.tile {
		r1 := min(r0+m.tile, hi)
		if m.il {
			if g0, g1 := min((r0+7)&^7, r1), min(r1, m.w.Rows)&^7; g0 < g1 {
				m.runRows(r0, g0)
				m.runInterleaved(g0, g1)
				m.runRows(g1, r1)
				continue
			}
		}
		m.runRows(r0, r1)
	}
}

// runRows computes rows [r0, r1) for every vector from the row layout.
func (m *matJob) runRows(r0, r1 int) {
	if r0 >= r1 {
		return
	}
	switch m.loop {
	case loopPacked:
		m.runPacked(r0, r1)
	case loopF32:
		m.runF32(r0, r1)
	case loopHalf:
		m.runHalf(r0, r1)
	case loopQ8:
		m.runQ8(r0, r1)
	case loopF8:
		m.runF8(r0, r1)
	}
}

// runInterleaved computes rows [g0, g1), whole groups of 8, for every vector from the interleaved copy.
func (m *matJob) runInterleaved(g0, g1 int) {
	nb := m.w.Cols / typeTable[m.w.Type].block
	gb := nb * m.ilSize
	a := m.act
	for g := g0; g < g1; g += 8 {
		w := m.w.Interleaved[g/8*gb:][:gb]
		if m.loop == loopQ8 {
			m.k.dotQ8I8(m.out[g:], m.w.Rows, w, a.q, a.d, a.s, nb, m.n)
		} else {
			m.dotI8(m.out[g:], m.w.Rows, w, a.b, a.rowBytes, nb, m.n)
		}
	}
}

// runPacked computes rows [r0, r1) for every vector with the type's dot kernels against packed
// activation rows: four vectors at a time where the type has a four-vector kernel (each weight block is
// unpacked once for the four), the rest one at a time.
func (m *matJob) runPacked(r0, r1 int) {
	rows, a := m.w.Rows, m.act
	i := 0
	if m.dotx4 != nil {
		for ; i+4 <= m.n; i += 4 {
			x4 := a.b[i*a.rowBytes : (i+4)*a.rowBytes]
			for r := r0; r < r1; r++ {
				m.dotx4(m.out[i*rows+r:], rows, m.row(r), x4, a.rowBytes, m.w.Cols)
			}
		}
	}
	for ; i < m.n; i++ {
		xi := a.b[i*a.rowBytes : (i+1)*a.rowBytes]
		o := m.out[i*rows : (i+1)*rows]
		for r := r0; r < r1; r++ {
			o[r] = m.dot(m.row(r), xi, m.w.Cols)
		}
	}
}

func (m *matJob) row(r int) []byte { return m.w.Data[r*m.rowBytes : (r+1)*m.rowBytes] }

func (m *matJob) runF32(r0, r1 int) {
	c, rows := m.w.Cols, m.w.Rows
	for i := 0; i < m.n; i++ {
		xi := m.x[i*c : (i+1)*c]
		for r := r0; r < r1; r++ {
			m.out[i*rows+r] = m.k.dotF32(f32View(m.row(r)), xi)
		}
	}
}

func (m *matJob) runHalf(r0, r1 int) {
	c, rows := m.w.Cols, m.w.Rows
	dot := m.k.dotF16
	if m.w.Type == BF16 {
		dot = m.k.dotBF16
	}
	for i := 0; i < m.n; i++ {
		xi := m.act.h[i*c : (i+1)*c]
		for r := r0; r < r1; r++ {
			m.out[i*rows+r] = dot(u16View(m.row(r)), xi)
		}
	}
}

// runQ8 computes rows [r0, r1) of a Q8_0 matrix for every vector from the row layout.
func (m *matJob) runQ8(r0, r1 int) {
	c, rows := m.w.Cols, m.w.Rows
	nb := c / qk8
	a := m.act
	i := 0
	if m.w.VecDot { // ggml's vec_dot order, one row and one vector at a time
		for ; i < m.n; i++ {
			xq, xd := a.q[i*c:(i+1)*c], a.d[i*nb:(i+1)*nb]
			for r := r0; r < r1; r++ {
				m.out[i*rows+r] = m.k.dotQ8Vec(m.row(r), xq, xd)
			}
		}
		return
	}
	for ; i+8 <= m.n; i += 8 { // eight vectors at a time share each weight block load
		xq := a.q[i*c : (i+8)*c]
		xdT := a.dT[i*nb : (i+8)*nb]
		for r := r0; r < r1; r++ {
			m.k.dotQ8x8(m.out[i*rows+r:], rows, m.row(r), xq, xdT)
		}
	}
	for ; i < m.n; i++ { // two rows at a time: two independent accumulation chains
		xq, xd := a.q[i*c:(i+1)*c], a.d[i*nb:(i+1)*nb]
		o := m.out[i*rows : (i+1)*rows]
		r := r0
		for ; r+2 <= r1; r += 2 {
			o[r], o[r+1] = m.k.dotQ8x2(m.w.Data[r*m.rowBytes:(r+2)*m.rowBytes], m.rowBytes, xq, xd)
		}
		if r < r1 {
			o[r] = m.k.dotQ8(m.row(r), xq, xd)
		}
	}
}
