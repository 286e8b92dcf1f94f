package kernels

import "fmt"

// Experts are the routed experts of one MoE layer: expert e computes
// Down[e]·(silu(Gate[e]·x) ⊙ Up[e]·x). Every Gate and Up matrix is [Ie, D]; every Down matrix is [D, Ie].
// The matrices may be views into one stacked tensor (GGUF) or separate tensors (safetensors).
type Experts struct {
	Gate, Up, Down []Matrix
}

// Check reports experts whose shapes disagree.
func (e *Experts) Check() error {
	n := len(e.Gate)
	if n == 0 || len(e.Up) != n || len(e.Down) != n {
		return fmt.Errorf("kernels: experts have %d gate, %d up, %d down matrices", len(e.Gate), len(e.Up), len(e.Down))
	}
	g := e.Gate[0]
	for i := range n {
		if e.Gate[i].Rows != g.Rows || e.Gate[i].Cols != g.Cols || e.Up[i].Rows != g.Rows || e.Up[i].Cols != g.Cols ||
			e.Down[i].Rows != g.Cols || e.Down[i].Cols != g.Rows {
			return fmt.Errorf("kernels: expert %d has shapes gate %dx%d, up %dx%d, down %dx%d, want [%d %d] and [%d %d]",
				i, e.Gate[i].Rows, e.Gate[i].Cols, e.Up[i].Rows, e.Up[i].Cols, e.Down[i].Rows, e.Down[i].Cols,
				g.Rows, g.Cols, g.Cols, g.Rows)
		}
	}
	return nil
}

// MoEScratch is the working memory of MoE; the zero value is ready and grows to the largest batch seen.
type MoEScratch struct {
	start  []int32               // [E+1]: expert e's rows in the grouped buffers are [start[e], start[e+1])
	next   []int32               // [E]: the counting sort's cursors
	order  []int32               // [n·k]: grouped row → slot t·k+j
	pos    []int32               // [n·k]: slot → grouped row
	active []int32               // the experts with at least one row, ascending
	x      []float32             // [n·k][D]: the gathered inputs, then the experts' outputs
	gate   []float32             // [n·k][Ie]: gate projections, then silu(gate)·up
	up     []float32             // [n·k][Ie]
	act    [actKinds]activations // converted rows, by the kind the weights need (actF32's stays empty)
	views  []activations         // [3·E]: active expert i's share of act for gate, up, down at 3i, 3i+1, 3i+2
	job    moeJob
}

// MoE computes, for n tokens x[t·D:(t+1)·D] routed to k experts each (ids[t·k+j] with weight
// weights[t·k+j]), out[t·D:(t+1)·D] = Σ_j weights[t·k+j] · Expert_{ids[t·k+j]}(x_t). out is overwritten.
//
// Each expert output is bit for bit what MatVec gives for the expert's three matrices one token at a time
// (with SiLUMul between), and the sum starts from zero and adds float32(w·y) for j = 0, 1, … in order, so
// a token's result depends neither on the batch it is in nor on the thread count or kernel set.
//
// The work is grouped by expert: the slots are sorted by expert (a counting sort), each expert's tokens
// are gathered into contiguous rows, and every matrix row is read once per call for all of its expert's
// tokens. Gate and up run in one parallel pass over all active experts, with silu·mul fused in; down in
// another; the parts are balanced by rows × tokens. It allocates nothing once s has grown. It panics on an
// expert id out of range, a short slice or experts whose shapes disagree.
func (p *Pool) MoE(out, x []float32, n int, e *Experts, ids []int32, weights []float32, k int, s *MoEScratch) {
	if n <= 0 {
		return
	}
	E, D, I := len(e.Gate), e.Gate[0].Cols, e.Gate[0].Rows
	if len(x) < n*D || len(out) < n*D || len(ids) < n*k || len(weights) < n*k || len(e.Up) != E || len(e.Down) != E {
		panic(fmt.Sprintf("kernels: MoE of %d tokens of %d with %d experts each: %d inputs, %d outputs, %d ids, %d weights, %d/%d/%d matrices",
			n, D, k, len(x), len(out), len(ids), len(weights), E, len(e.Up), len(e.Down)))
	}
	if k <= 0 {
		clear(out[:n*D])
		return
	}
	nk := n * k
	s.sortSlots(ids[:nk], E, e)

	s.x, s.gate, s.up = grow(s.x, nk*D), grow(s.gate, nk*I), grow(s.up, nk*I)
	c := max(D, I)
	ks := active.Load()
	s.act[actQ8Split].sums = ks.dotQ8I8 != nil // for experts with an interleaved copy
	for kind := range actKinds {
		if s.job.used&(1<<kind) != 0 {
			s.act[kind].size(kind, c, nk)
		}
	}

	s.views = grow(s.views, 3*E)
	for i, id := range s.active {
		a, m := int(s.start[id]), int(s.start[id+1]-s.start[id])
		s.views[3*i] = s.segment(e.Gate[id].Type, D, a, m)
		s.views[3*i+1] = s.segment(e.Up[id].Type, D, a, m)
		s.views[3*i+2] = s.segment(e.Down[id].Type, I, a, m)
	}

	p.lock()
	defer p.mu.Unlock()
	j := &s.job
	j.k, j.e, j.s, j.x, j.out, j.weights, j.kk, j.D, j.I = ks, e, s, x, out, weights, k, D, I
	j.stage = stageGather
	p.parallel(nk, j)
	j.stage = stageGateUp
	p.parallel(nk*I, j)
	j.stage = stageConvert
	p.parallel(nk, j)
	j.stage = stageDown
	p.parallel(nk*D, j)
	j.stage = stageCombine
	p.parallel(n, j)
	j.e, j.s, j.x, j.out, j.weights = nil, nil, nil, nil, nil
}

// sortSlots groups the n·k slots by expert (stable, so an expert's rows keep the slots' order), lists the
// active experts, checks their matrices and records in s.job.used the activation types they need.
func (s *MoEScratch) sortSlots(ids []int32, E int, e *Experts) {
	s.start, s.next = grow(s.start, E+1), grow(s.next, E)
	s.order, s.pos = grow(s.order, len(ids)), grow(s.pos, len(ids))
	clear(s.start)
	for _, id := range ids {
		if id < 0 || int(id) >= E {
			panic(fmt.Sprintf("kernels: MoE routes to expert %d of %d", id, E))
		}
		s.start[id+1]++
	}
	s.active = s.active[:0]
	if cap(s.active) < E {
		s.active = make([]int32, 0, E)
	}
	D, I := e.Gate[0].Cols, e.Gate[0].Rows
	s.job.used = 0
	for id := range E {
		c := s.start[id+1]
		s.next[id] = s.start[id]
		s.start[id+1] += s.start[id]
		if c == 0 {
			continue
		}
		s.active = append(s.active, int32(id))
		g, u, d := e.Gate[id], e.Up[id], e.Down[id]
		if g.Rows != I || g.Cols != D || u.Rows != I || u.Cols != D || d.Rows != D || d.Cols != I {
			panic(fmt.Sprintf("kernels: MoE expert %d has shapes gate %dx%d, up %dx%d, down %dx%d, want [%d %d] and [%d %d]",
				id, g.Rows, g.Cols, u.Rows, u.Cols, d.Rows, d.Cols, I, D, D, I))
		}
		g.check()
		u.check()
		d.check()
		s.job.used |= actBit(g.Type) | actBit(u.Type) | actBit(d.Type)
	}
	for slot, id := range ids {
		r := s.next[id]
		s.next[id]++
		s.order[r], s.pos[slot] = int32(slot), r
	}
}

// actBit is the bit of the activation kind weights of type t need, in a set of kinds; 0 for the float32
// inputs as they are.
func actBit(t DType) uint8 {
	if k := typeTable[t].act; k != actF32 {
		return 1 << k
	}
	return 0
}

// moeStage names the parallel passes of one MoE call.
type moeStage uint8

const (
	stageGather  moeStage = iota // over grouped rows: gather the inputs and convert them for gate and up
	stageGateUp                  // over expert rows × tokens: gate and up, then silu(gate)·up
	stageConvert                 // over grouped rows: convert silu(gate)·up for down
	stageDown                    // over expert rows × tokens: down
	stageCombine                 // over tokens: the weighted sums
)

// moeJob is one MoE call's passes; run does the current stage's share [lo, hi).
type moeJob struct {
	stage   moeStage
	used    uint8 // bits of the activation kinds the active experts need
	k       *kernelSet
	e       *Experts
	s       *MoEScratch
	x, out  []float32
	weights []float32
	kk      int // experts per token
	D, I    int
}

func (j *moeJob) run(lo, hi int) {
	switch j.stage {
	case stageGather, stageConvert:
		j.convert(lo, hi)
	case stageGateUp, stageDown:
		j.matmul(lo, hi)
	case stageCombine:
		j.combine(lo, hi)
	}
}

// convert does grouped rows [lo, hi) of stageGather or stageConvert: it converts each row for the types
// of the matrices that read it, as MatMul does (see activations).
func (j *moeJob) convert(lo, hi int) {
	s := j.s
	for _, id := range s.active {
		a, b := int(s.start[id]), int(s.start[id+1])
		if b <= lo {
			continue
		}
		if a >= hi {
			break
		}
		r0, r1 := max(lo, a), min(hi, b)
		if j.stage == stageGather {
			D := j.D
			for r := r0; r < r1; r++ {
				t := int(s.order[r]) / j.kk
				copy(s.x[r*D:(r+1)*D], j.x[t*D:(t+1)*D])
			}
			g, u := j.e.Gate[id].Type, j.e.Up[id].Type
			j.convertRows(g, s.x, j.D, a, b-a, r0-a, r1-a)
			if u != g {
				j.convertRows(u, s.x, j.D, a, b-a, r0-a, r1-a)
			}
		} else {
			j.convertRows(j.e.Down[id].Type, s.gate, j.I, a, b-a, r0-a, r1-a)
		}
	}
}

// convertRows converts rows [r0, r1) of the segment of m rows of cols values starting at grouped row a of
// src for weights of type t.
func (j *moeJob) convertRows(t DType, src []float32, cols, a, m, r0, r1 int) {
	if actBit(t) == 0 {
		return
	}
	v := j.s.segment(t, cols, a, m)
	v.start(j.k, typeTable[t].act, src[a*cols:(a+m)*cols], cols)
	v.run(r0, r1)
}

// segment returns the view of the converted activations for type t of the m rows of cols values starting
// at grouped row a, laid out as MatMul's are for a batch of m vectors (empty for F32).
func (s *MoEScratch) segment(t DType, cols, a, m int) activations {
	kind := typeTable[t].act
	all := &s.act[kind]
	switch kind {
	case actF16, actBF16:
		return activations{h: all.h[a*cols : (a+m)*cols]}
	case actQ8Split:
		nb := cols / qk8
		v := activations{q: all.q[a*cols : (a+m)*cols], d: all.d[a*nb : (a+m)*nb], dT: all.dT[a*nb : (a+m/8*8)*nb],
			sums: all.sums}
		if all.sums {
			v.s = all.s[a*nb : (a+m)*nb]
		}
		return v
	case actQ8_0, actQ8_1, actQ8_K, actQ8Sums:
		rb := kind.rowBytes(cols)
		return activations{b: all.b[a*rb : (a+m)*rb], rowBytes: rb}
	}
	return activations{}
}

// matmul does the share [lo, hi) of stageGateUp or stageDown. Their index spaces are cost units: expert
// e's R output rows (Ie or D) times its m tokens, experts in turn; a part takes the rows whose first unit
// falls in it.
func (j *moeJob) matmul(lo, hi int) {
	s := j.s
	R := j.D
	if j.stage == stageGateUp {
		R = j.I
	}
	base := 0
	for i, id := range s.active {
		if base >= hi {
			break
		}
		a, m := int(s.start[id]), int(s.start[id+1]-s.start[id])
		r0 := min(max(0, ceilDiv(lo-base, m)), R)
		r1 := min(max(0, ceilDiv(hi-base, m)), R)
		base += m * R
		if r0 >= r1 {
			continue
		}
		if j.stage == stageDown {
			j.rows(j.e.Down[id], &s.views[3*i+2], s.x, s.gate, a, m, r0, r1)
			continue
		}
		j.rows(j.e.Gate[id], &s.views[3*i], s.gate, s.x, a, m, r0, r1)
		j.rows(j.e.Up[id], &s.views[3*i+1], s.up, s.x, a, m, r0, r1)
		I := j.I
		for v := a; v < a+m; v++ {
			SiLUMul(s.gate[v*I+r0:v*I+r1], s.up[v*I+r0:v*I+r1])
		}
	}
}

// rows computes rows [r0, r1) of w for the m grouped rows of x starting at a (converted in act), into out
// (grouped rows of w.Rows values), with MatMul's arithmetic.
func (j *moeJob) rows(w Matrix, act *activations, out, x []float32, a, m, r0, r1 int) {
	rb, _ := w.Type.RowBytes(w.Cols)
	mj := newMatJob(j.k, typeTable[w.Type], out[a*w.Rows:(a+m)*w.Rows], w, rb, m, x[a*w.Cols:(a+m)*w.Cols], act)
	mj.run(r0, r1)
}

// combine sums the weighted expert outputs of tokens [lo, hi) in slot order.
func (j *moeJob) combine(lo, hi int) {
	D, k := j.D, j.kk
	for t := lo; t < hi; t++ {
		o := j.out[t*D : (t+1)*D]
		clear(o)
		for slot := t * k; slot < (t+1)*k; slot++ {
			r := int(j.s.pos[slot])
			j.k.axpy(o, j.weights[slot], j.s.x[r*D:(r+1)*D])
		}
	}
}

// ceilDiv returns ⌈a/b⌉ for b > 0 and a >= 0, and a value <= 0 for a < 0.
func ceilDiv(a, b int) int { return (a + b - 1) / b }
