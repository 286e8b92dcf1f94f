package kernels

// activations holds the input vectors of one MatMul converted to the weight's vec_dot type (see actKind).
// The buffers only grow.
type activations struct {
	q  []int8    // actQ8Split: Q8_0 quants, [n][cols]
	d  []float32 // actQ8Split: block scales (fp16 values widened), [n][cols/32]
	dT []float32 // actQ8Split: the same scales for each group of 8 vectors, block-major: [n/8][cols/32][8]
	s  []int32   // actQ8Split with sums: 128 × the sum of each block's quants, [n][cols/32]
	h  []float32 // actF16, actBF16: values rounded to fp16 or bf16, [n][cols]
	b  []byte    // actQ8_0, actQ8_1, actQ8_K, actQ8Sums: whole blocks (and sums), [n][rowBytes]

	rowBytes int  // bytes of one vector in b
	sums     bool // the next prepare also fills s (for the interleaved Q8_0 kernels)

	// The conversion in progress, for the pool.
	kind  actKind
	quant func(dst []byte, src []float32) // the packed type's activation quantizer
	k     *kernelSet
	x     []float32
	cols  int
}

// size grows the buffers of kind for n vectors of cols values and sets rowBytes.
func (a *activations) size(kind actKind, cols, n int) {
	switch kind {
	case actQ8Split:
		a.q = grow(a.q, n*cols)
		a.d = grow(a.d, n*cols/qk8)
		a.dT = grow(a.dT, n*cols/qk8) // only whole groups of 8 are filled
		if a.sums {
			a.s = grow(a.s, n*cols/qk8)
		}
	case actF16, actBF16:
		a.h = grow(a.h, n*cols)
	case actQ8_0, actQ8_1, actQ8_K, actQ8Sums:
		a.rowBytes = kind.rowBytes(cols)
		a.b = grow(a.b, n*a.rowBytes)
	}
}

// prepare converts the n vectors in x (cols each) to kind, in parallel on p for n > 1.
func (a *activations) prepare(p *Pool, k *kernelSet, kind actKind, x []float32, cols, n int) {
	if kind == actF32 {
		return
	}
	a.size(kind, cols, n)
	a.start(k, kind, x, cols)
	p.parallel(n, a)
	a.k, a.x, a.quant = nil, nil, nil
}

// start sets up the conversion of the vectors in x (cols each) to kind; run then converts them.
func (a *activations) start(k *kernelSet, kind actKind, x []float32, cols int) {
	a.kind, a.k, a.x, a.cols = kind, k, x, cols
	if t, ok := kind.packedType(); ok {
		a.quant = typeTable[t].actFor(k)
	}
}

// run converts vectors [lo, hi).
func (a *activations) run(lo, hi int) {
	c := a.cols
	for i := lo; i < hi; i++ {
		xi := a.x[i*c : (i+1)*c]
		switch a.kind {
		case actQ8Split:
			nb := c / qk8
			d := a.d[i*nb : (i+1)*nb]
			a.k.quantQ8(a.q[i*c:(i+1)*c], d, xi)
			if a.sums {
				blockSums(a.s[i*nb:(i+1)*nb], a.q[i*c:(i+1)*c])
			}
			if g := i / 8 * 8; g+8 <= len(a.dT)/nb {
				for b, v := range d {
					a.dT[(g*nb+b*8)+i-g] = v
				}
			}
		case actF16:
			a.k.roundF16(a.h[i*c:(i+1)*c], xi)
		case actBF16:
			h := a.h[i*c : (i+1)*c]
			for j, v := range xi {
				h[j] = BF16ToF32(F32ToBF16(v))
			}
		case actQ8_0, actQ8_1, actQ8_K:
			a.quant(a.b[i*a.rowBytes:(i+1)*a.rowBytes], xi)
		case actQ8Sums:
			xb := a.b[i*a.rowBytes : (i+1)*a.rowBytes]
			a.quant(xb[:c/qk8*q8BlockSize], xi)
			q8BlockSums(xb, c/qk8)
		}
	}
}

// blockSums sets s[b] to 128 × the sum of the quants of block b of q: the term the interleaved kernels
// take back from their +128 weights.
func blockSums(s []int32, q []int8) {
	for b := range s {
		var sum int32
		for _, v := range q[b*qk8 : (b+1)*qk8] {
			sum += int32(v)
		}
		s[b] = 128 * sum
	}
}

// grow returns s with length n, reallocating only when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
