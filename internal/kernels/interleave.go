package kernels

import (
	"encoding/binary"
	"fmt"
)

// q8GroupBlockBytes is the size of one block of an interleaved group of 8 Q8_0 rows: 8 fp16 scales, then
// 8 chunks of 8 rows × 4 quants.
const q8GroupBlockBytes = 8 * q8BlockSize

// Interleave returns w with Interleaved set when w's type has an interleaved layout (Q8_0, Q4_K, Q5_0), w
// has at least 8 rows, MatMul multiplies it in the interleaved kernels' order (not vec_dot's, see
// Matrix.VecDot) and the best kernel set this CPU runs has a SIMD kernel for it; otherwise w unchanged.
// The copy holds w's first Rows&^7 rows, 8 rows per block side by side, so that one kernel pass computes
// 8 outputs with no horizontal sums; MatMul then reads it instead of Data (which still
// serves the other rows and every other reader). Results are bit for bit those of the row layout.
func Interleave(w Matrix) Matrix {
	n := InterleavedBytes(w)
	if n == 0 {
		return w
	}
	tr := typeTable[w.Type]
	rowBytes := w.check()
	gb := rowBytes / tr.size * tr.ilSize
	out := make([]byte, n)
	for g := range w.Rows / 8 {
		tr.interleave(out[g*gb:(g+1)*gb], w.Data[g*8*rowBytes:(g+1)*8*rowBytes], rowBytes)
	}
	w.Interleaved = out
	return w
}

// InterleavedBytes is the size of the copy Interleave would make of w: 0 when it makes none.
func InterleavedBytes(w Matrix) int {
	tr := typeTable[w.Type]
	if tr == nil || tr.interleave == nil || w.Rows < 8 || w.Interleaved != nil || !interleavedKernel(tr) ||
		tr.vecOrder(w) {
		return 0
	}
	rowBytes, err := w.validate()
	if err != nil {
		return 0
	}
	return w.Rows / 8 * (rowBytes / tr.size) * tr.ilSize
}

// interleavedKernel reports whether the best kernel set this CPU runs has a SIMD interleaved kernel for
// the type (the scalar reference alone is no reason to copy).
func interleavedKernel(tr *typeTraits) bool {
	sets := available()
	best := sets[len(sets)-1]
	if tr.loop == loopQ8 {
		return best.level >= 1 && best.dotQ8I8 != nil
	}
	for l := best.level; l >= 1; l-- {
		if tr.dotI8[l] != nil {
			return true
		}
	}
	return false
}

// interleaveQ8 lays out a group of 8 Q8_0 rows (rowBytes each) block after block: the 8 rows' fp16
// scales, then for k = 0..7 the quants 4k..4k+3 of rows 0..7 in turn, each stored +128 (xor 0x80) as an
// unsigned byte, the operand order of VPDPBUSD (unsigned weights × signed activations).
func interleaveQ8(dst, rows []byte, rowBytes int) {
	for b := range rowBytes / q8BlockSize {
		g := dst[b*q8GroupBlockBytes:][:q8GroupBlockBytes]
		for r := range 8 {
			blk := rows[r*rowBytes+b*q8BlockSize:][:q8BlockSize]
			g[2*r], g[2*r+1] = blk[0], blk[1]
			for k := range 8 {
				q := binary.LittleEndian.Uint32(blk[2+4*k:])
				binary.LittleEndian.PutUint32(g[16+32*k+4*r:], q^0x80808080)
			}
		}
	}
}

// validateInterleaved reports whether w.Interleaved has the size Interleave gives w.
func (w Matrix) validateInterleaved(rowBytes int) error {
	if w.Interleaved == nil {
		return nil
	}
	tr := typeTable[w.Type]
	if tr.interleave == nil || len(w.Interleaved) != w.Rows/8*(rowBytes/tr.size)*tr.ilSize {
		return fmt.Errorf("kernels: %v matrix %dx%d has an interleaved copy of %d bytes, which it cannot have",
			w.Type, w.Rows, w.Cols, len(w.Interleaved))
	}
	return nil
}

// dotQ8I8Ref is the reference of the interleaved kernels: the dot products of one interleaved group of 8
// rows (nb blocks) with n activation vectors into out[j·stride + r], r = 0..7: vector j's quants are
// xq[j·32·nb:], its block scales xd[j·nb:] and its block sums times 128 xs[j·nb:]. Each result equals
// dotQ8Ref on the row's original blocks.
func dotQ8I8Ref(out []float32, stride int, w []byte, xq []int8, xd []float32, xs []int32, nb, n int) {
	for j := range n {
		for r := range 8 {
			var acc float32
			for b := range nb {
				g := w[b*q8GroupBlockBytes:][:q8GroupBlockBytes]
				q := xq[(j*nb+b)*qk8:][:qk8]
				sumi := -xs[j*nb+b]
				for k := range 8 {
					for i := range 4 {
						sumi += int32(g[16+32*k+4*r+i]) * int32(q[4*k+i])
					}
				}
				d := F16ToF32(binary.LittleEndian.Uint16(g[2*r:])) * xd[j*nb+b]
				acc += float32(float32(sumi) * d)
			}
			out[j*stride+r] = acc
		}
	}
}
