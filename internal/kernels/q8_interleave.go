package kernels

import (
	"encoding/binary"
	"fmt"
)

// q8GroupBlockBytes is the size of one block of an interleaved group of 8 Q8_0 rows: 8 fp16 scales, then
// 8 chunks of 8 rows × 4 quants.
const q8GroupBlockBytes = 8 * q8BlockSize

// Interleave returns w with Interleaved set when w is a Q8_0 matrix of at least 8 rows and this CPU has
// a kernel for the interleaved layout (AVX-512 VNNI); otherwise w unchanged. The copy costs one more
// buffer of about the size of w's first Rows&^7 rows; MatMul then reads it instead of Data. Results are
// bit for bit those of the row layout.
func Interleave(w Matrix) Matrix {
	if w.Type != Q8_0 || w.Rows < 8 || w.Interleaved != nil || !interleavedKernels() {
		return w
	}
	rowBytes := w.check()
	w.Interleaved = interleaveQ8(w.Data, rowBytes, w.Rows&^7)
	return w
}

// interleavedKernels reports whether the best kernel set this CPU runs reads interleaved Q8_0 weights.
func interleavedKernels() bool {
	sets := available()
	return sets[len(sets)-1].dotQ8I8 != nil
}

// interleaveQ8 lays out the first rows (a multiple of 8) of the Q8_0 rows in data (rowBytes each) in
// groups of 8: for each group, block after block, the 8 rows' fp16 scales, then for k = 0..7 the quants
// 4k..4k+3 of rows 0..7 in turn, each stored +128 (xor 0x80) as an unsigned byte, the operand order of
// VPDPBUSD (unsigned weights × signed activations).
func interleaveQ8(data []byte, rowBytes, rows int) []byte {
	nb := rowBytes / q8BlockSize
	out := make([]byte, rows/8*nb*q8GroupBlockBytes)
	for g := 0; g < rows/8; g++ {
		for b := 0; b < nb; b++ {
			dst := out[(g*nb+b)*q8GroupBlockBytes:][:q8GroupBlockBytes]
			for r := range 8 {
				blk := data[(g*8+r)*rowBytes+b*q8BlockSize:][:q8BlockSize]
				dst[2*r], dst[2*r+1] = blk[0], blk[1]
				for k := range 8 {
					q := binary.LittleEndian.Uint32(blk[2+4*k:])
					binary.LittleEndian.PutUint32(dst[16+32*k+4*r:], q^0x80808080)
				}
			}
		}
	}
	return out
}

// validateInterleaved reports whether w.Interleaved has the size interleaveQ8 gives w.
func (w Matrix) validateInterleaved(rowBytes int) error {
	if w.Interleaved == nil {
		return nil
	}
	want := w.Rows / 8 * (rowBytes / q8BlockSize) * q8GroupBlockBytes
	if w.Type != Q8_0 || len(w.Interleaved) != want {
		return fmt.Errorf("kernels: %v matrix %dx%d has %d interleaved bytes; only Q8_0 takes them, %d of them",
			w.Type, w.Rows, w.Cols, len(w.Interleaved), want)
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
