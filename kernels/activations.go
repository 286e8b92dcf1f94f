package kernels

// activations holds the input vectors of one MatMul converted to the weight's vec_dot type. The buffers
// only grow.
type activations struct {
	q  []int8    // Q8_0 quants, [n][cols]
	d  []float32 // Q8_0 block scales (fp16 values widened), [n][cols/32]
	dT []float32 // the same scales for each group of 8 vectors, block-major: [n/8][cols/32][8]
	h  []float32 // values rounded to fp16 or bf16, [n][cols]

	// The conversion in progress, for the pool.
	t    DType
	k    *kernelSet
	x    []float32
	cols int
}

// prepare converts the n vectors in x (cols each) for weights of type t, in parallel on p for n > 1.
func (a *activations) prepare(p *Pool, k *kernelSet, t DType, x []float32, cols, n int) {
	switch t {
	case F32:
		return
	case Q8_0:
		a.q = grow(a.q, n*cols)
		a.d = grow(a.d, n*cols/qk8)
		a.dT = grow(a.dT, n/8*8*cols/qk8)
	case F16, BF16:
		a.h = grow(a.h, n*cols)
	}
	a.t, a.k, a.x, a.cols = t, k, x, cols
	p.parallel(n, a)
	a.k, a.x = nil, nil
}

// run converts vectors [lo, hi).
func (a *activations) run(lo, hi int) {
	c := a.cols
	for i := lo; i < hi; i++ {
		xi := a.x[i*c : (i+1)*c]
		switch a.t {
		case Q8_0:
			nb := c / qk8
			d := a.d[i*nb : (i+1)*nb]
			a.k.quantQ8(a.q[i*c:(i+1)*c], d, xi)
			if g := i / 8 * 8; g+8 <= len(a.dT)/nb {
				for b, v := range d {
					a.dT[(g*nb+b*8)+i-g] = v
				}
			}
		case F16:
			a.k.roundF16(a.h[i*c:(i+1)*c], xi)
		case BF16:
			h := a.h[i*c : (i+1)*c]
			for j, v := range xi {
				h[j] = BF16ToF32(F32ToBF16(v))
			}
		}
	}
}

// grow returns s with length n, reallocating only when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
