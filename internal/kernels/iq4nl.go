package kernels

import "encoding/binary"

// IQ4_NL, ggml's non-linear 4-bit blocks of 32 values (ggml-common.h block_iq4_nl), 18 bytes: fp16 d, then
// 16 bytes qs; value j is d·iq4nlValues[qs[j]&15], value j+16 is d·iq4nlValues[qs[j]>>4]. It dots with
// activations packed as Q8_0 (ggml's vec_dot_type).
const iq4nlBlockSize = 18

// iq4nlValues is ggml's kvalues_iq4nl: the 16 levels of an IQ4_NL quant, ascending.
var iq4nlValues = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// dequantIQ4_NL expands len(dst)/32 IQ4_NL blocks of src into dst, bit for bit as ggml's
// dequantize_row_iq4_nl.
func dequantIQ4_NL(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		blk := src[b*iq4nlBlockSize : (b+1)*iq4nlBlockSize]
		d := F16ToF32(binary.LittleEndian.Uint16(blk))
		y := dst[b*32 : (b+1)*32]
		for j, q := range blk[2:] {
			y[j] = d * float32(iq4nlValues[q&15])
			y[j+16] = d * float32(iq4nlValues[q>>4])
		}
	}
}

// quantizeIQ4_NL quantizes src (a multiple of 32 values) into IQ4_NL blocks in dst, bit for bit as ggml's
// quantize_iq4_nl without an imatrix (quantize_row_iq4_nl_impl with one 32-value block, weights x², 7
// tries each way), which is what llama-quantize writes:
//
//   - a block whose largest |x| is below 1e-15 gets d = 0 and every quant 8 (the level nearest 0);
//   - else with max the value of largest magnitude (the first on ties), d = max/127 and id = 1/d, each x
//     takes the level l nearest id·x (iq4nlBestIndex), and d = Σw·q·x / Σw·q² (w = x², q = level l);
//   - for itry = −7..7, id = (itry − 127)/max; the levels nearest id·x give sums sqx, sq2, and d becomes
//     sqx/sq2 when sq2 > 0 and sqx² > best·sq2 (best = d·Σw·q·x of the current d);
//   - d is stored as fp16 and the quants are the levels nearest x/d, computed with the unrounded d.
//
// Every sum runs in block order in float32 and every product is rounded on its own (ggml-base is built
// without FMA contraction), so Go's arithmetic here is the same as the C's.
func quantizeIQ4_NL(dst []byte, src []float32) {
	var w [32]float32
	var l [32]uint8
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		blk := dst[b*iq4nlBlockSize : (b+1)*iq4nlBlockSize]
		for j, v := range x {
			w[j] = v * v
		}
		amax, max := absMaxFirst(x)
		var d float32
		if !(amax < 1e-15) {
			d = -max / float32(iq4nlValues[0])
			sumqx, sumq2 := iq4nlSums(x, &w, 1/d)
			d = 0
			if sumq2 > 0 {
				d = sumqx / sumq2
			}
			best := d * sumqx
			for itry := -7; itry <= 7; itry++ {
				id := float32(itry+int(iq4nlValues[0])) / max
				sumqx, sumq2 := iq4nlSums(x, &w, id)
				if sumq2 > 0 && float32(sumqx*sumqx) > float32(best*sumq2) {
					d = sumqx / sumq2
					best = d * sumqx
				}
			}
		}
		binary.LittleEndian.PutUint16(blk, F32ToF16(d))
		var id float32
		if d != 0 {
			id = 1 / d
		}
		for j, v := range x {
			l[j] = iq4nlBestIndex(id * v)
		}
		for j := range 16 {
			blk[2+j] = l[j] | l[j+16]<<4
		}
	}
}

// iq4nlSums returns Σ w·q·x and Σ w·q·q over a block, in order, q being the level nearest id·x; each
// product (w·q, then ·x or ·q) is rounded to float32 before the add, as ggml computes them.
func iq4nlSums(x []float32, w *[32]float32, id float32) (sumqx, sumq2 float32) {
	for j, v := range x {
		q := float32(iq4nlValues[iq4nlBestIndex(id*v)])
		wq := float32(w[j] * q)
		sumqx += float32(wq * v)
		sumq2 += float32(wq * q)
	}
	return sumqx, sumq2
}

// iq4nlBestIndex returns the index of the IQ4_NL level nearest v, as ggml's best_index_int8: the ends
// for v beyond them, else a bisection, the lower level winning only when strictly nearer (a NaN v gets 15).
func iq4nlBestIndex(v float32) uint8 {
	vals := &iq4nlValues
	if v <= float32(vals[0]) {
		return 0
	}
	if v >= float32(vals[15]) {
		return 15
	}
	ml, mu := 0, 15
	for mu-ml > 1 {
		mav := (ml + mu) / 2
		if v < float32(vals[mav]) {
			mu = mav
		} else {
			ml = mav
		}
	}
	if v-float32(vals[mu-1]) < float32(vals[mu])-v {
		return uint8(mu - 1)
	}
	return uint8(mu)
}

// dotIQ4_NLRef is the reference dot product of a row of n values (n/32 IQ4_NL blocks w) with an activation
// row x packed as Q8_0 blocks. Per block it forms sumi = Σ iq4nlValues[q_j]·x_j exactly, then acc +=
// float32(sumi)·float32(dw·dx) in block order, each product rounded to float32 (as dotQ4_0Ref). ggml's
// ggml_vec_dot_iq4_nl_q8_0 agrees to float32 rounding.
func dotIQ4_NLRef(w, x []byte, n int) float32 {
	var acc float32
	for b := 0; b < n/32; b++ {
		wb := w[b*iq4nlBlockSize : (b+1)*iq4nlBlockSize]
		xb := x[b*q8BlockSize : (b+1)*q8BlockSize]
		var sumi int32
		for j, q := range wb[2:] {
			sumi += int32(iq4nlValues[q&15])*int32(int8(xb[2+j])) + int32(iq4nlValues[q>>4])*int32(int8(xb[18+j]))
		}
		d := F16ToF32(binary.LittleEndian.Uint16(wb)) * F16ToF32(binary.LittleEndian.Uint16(xb))
		acc += float32(float32(sumi) * d)
	}
	return acc
}
