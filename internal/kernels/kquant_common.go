package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Helpers shared by the K-quant types (ports of ggml-quants.c's helper functions). Every float32 product
// that feeds an addition is wrapped in a float32 conversion, which the Go spec defines as a rounding point:
// the compiler may not fuse it into a multiply-add, and ggml's quantizers (libggml-base, built without
// -march, so without FMA) round every product too. With that, the ports are bit-exact.

// qkK is the number of elements in a K-quant super-block.
const qkK = 256

// groupMaxEps is ggml's GROUP_MAX_EPS: a group whose largest magnitude is below it counts as all zero.
const groupMaxEps float32 = 1e-15

// nearestInt is ggml's nearest_int: round to nearest, ties to even, through the float32 addition of
// 1.5·2^23, keeping the low 23 bits. For |v| > 2^22 the result wraps exactly as ggml's does (ggml asserts
// against it only in debug builds).
func nearestInt(v float32) int {
	b := math.Float32bits(v + 12582912)
	return int(b&0x007fffff) - 0x00400000
}

// fp16 reads the little-endian fp16 value at b[0:2] as float32.
func fp16(b []byte) float32 { return F16ToF32(binary.LittleEndian.Uint16(b)) }

// putFP16 stores v rounded to fp16 at b[0:2].
func putFP16(b []byte, v float32) { binary.LittleEndian.PutUint16(b, F32ToF16(v)) }

// sqrt32 is sqrtf: the float64 square root rounded to float32 is the correctly rounded float32 one.
func sqrt32(v float32) float32 { return float32(math.Sqrt(float64(v))) }

// getScaleMinK4 is ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j (0..7) from the 12
// packed scale bytes of a Q4_K or Q5_K block.
func getScaleMinK4(j int, q []byte) (d, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xF | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// makeQKX2Quants is ggml's make_qkx2_quants: it fits x ≈ scale·L - min with L in [0, nmax] (min ≥ 0
// returned as theMin), minimising the weighted error (absolute when useMad, squared otherwise), trying
// nstep+1 scales around nmax/(max-min). L and laux hold len(x) levels.
func makeQKX2Quants(nmax int, x, weights []float32, L, laux []uint8, rmin, rdelta float32, nstep int, useMad bool) (scale, theMin float32) {
	n := len(x)
	mn, mx := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < mn {
			mn = x[i]
		}
		if x[i] > mx {
			mx = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if mn > 0 {
		mn = 0
	}
	if mx == mn {
		for i := range L[:n] {
			L[i] = 0
		}
		return 0, -mn
	}
	fmax := float32(nmax)
	iscale := fmax / (mx - mn)
	scale = 1 / iscale
	var bestError float32
	for i := 0; i < n; i++ {
		l := nearestInt(float32(iscale * (x[i] - mn)))
		L[i] = uint8(max(0, min(nmax, l)))
		diff := float32(scale*float32(L[i])) + mn - x[i]
		if useMad {
			diff = abs32(diff)
		} else {
			diff = float32(diff * diff)
		}
		bestError += float32(weights[i] * diff)
	}
	if nstep < 1 {
		return scale, -mn
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + fmax) / (mx - mn)
		var sumL, sumL2, sumXL float32
		for i := 0; i < n; i++ {
			l := nearestInt(float32(iscale * (x[i] - mn)))
			l = max(0, min(nmax, l))
			laux[i] = uint8(l)
			w := weights[i]
			fl := float32(l)
			wl := float32(w * fl)
			sumL += wl
			sumL2 += float32(wl * fl)
			sumXL += float32(wl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var curError float32
			for i := 0; i < n; i++ {
				diff := float32(thisScale*float32(laux[i])) + thisMin - x[i]
				if useMad {
					diff = abs32(diff)
				} else {
					diff = float32(diff * diff)
				}
				curError += float32(weights[i] * diff)
			}
			if curError < bestError {
				copy(L[:n], laux[:n])
				bestError = curError
				scale = thisScale
				mn = thisMin
			}
		}
	}
	return scale, -mn
}

// makeQXQuants is ggml's make_qx_quants with rmse_type 1 and no quant weights (the weights are x²), the
// only form the quantizers here use: it fits x ≈ scale·(L - nmax), L in [0, 2·nmax), trying 19 scales
// around -nmax/max, where max is the element of largest magnitude.
func makeQXQuants(nmax int, x []float32, L []int8) float32 {
	n := len(x)
	var mx, amax float32
	for _, v := range x {
		if ax := abs32(v); ax > amax {
			amax, mx = ax, v
		}
	}
	if amax < groupMaxEps {
		for i := range L[:n] {
			L[i] = 0
		}
		return 0
	}
	fmax := float32(nmax)
	iscale := -fmax / mx
	var sumlx, suml2 float32
	for i := 0; i < n; i++ {
		l := nearestInt(float32(iscale * x[i]))
		l = max(-nmax, min(nmax-1, l))
		L[i] = int8(l + nmax)
		w := float32(x[i] * x[i])
		fl := float32(l)
		sumlx += float32(float32(w*x[i]) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	scale := float32(0)
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := float32(scale * sumlx)
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fmax + float32(0.1*float32(is))) / mx
		sumlx, suml2 = 0, 0
		for i := 0; i < n; i++ {
			l := nearestInt(float32(iscale * x[i]))
			l = max(-nmax, min(nmax-1, l))
			w := float32(x[i] * x[i])
			fl := float32(l)
			sumlx += float32(float32(w*x[i]) * fl)
			suml2 += float32(float32(w*fl) * fl)
		}
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i := 0; i < n; i++ {
				l := nearestInt(float32(iscale * x[i]))
				L[i] = int8(nmax + max(-nmax, min(nmax-1, l)))
			}
			scale = sumlx / suml2
			best = float32(scale * sumlx)
		}
	}
	return scale
}

// makeQ3Quants is ggml's make_q3_quants with do_rmse set (as quantize_row_q3_K_ref calls it): levels
// L in [0, 2·nmax) for x ≈ scale·(L - nmax), refined by up to five passes that move one level at a time
// when that improves the x²-weighted fit.
func makeQ3Quants(nmax int, x []float32, L []int8) float32 {
	n := len(x)
	var mx, amax float32
	for _, v := range x {
		if ax := abs32(v); ax > amax {
			amax, mx = ax, v
		}
	}
	if amax < groupMaxEps {
		for i := range L[:n] {
			L[i] = 0
		}
		return 0
	}
	iscale := -float32(nmax) / mx
	var sumlx, suml2 float32
	for i := 0; i < n; i++ {
		l := nearestInt(float32(iscale * x[i]))
		l = max(-nmax, min(nmax-1, l))
		L[i] = int8(l)
		w := float32(x[i] * x[i])
		fl := float32(l)
		sumlx += float32(float32(w*x[i]) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i := 0; i < n; i++ {
			w := float32(x[i] * x[i])
			fl := float32(L[i])
			slx := sumlx - float32(float32(w*x[i])*fl)
			if slx > 0 {
				sl2 := suml2 - float32(float32(w*fl)*fl)
				newL := nearestInt(float32(x[i]*sl2) / slx)
				newL = max(-nmax, min(nmax-1, newL))
				if newL != int(L[i]) {
					fn := float32(newL)
					slx += float32(float32(w*x[i]) * fn)
					sl2 += float32(float32(w*fn) * fn)
					if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
						L[i] = int8(newL)
						sumlx, suml2 = slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := 0; i < n; i++ {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// checkKQuant panics unless nElem is a whole number of super-blocks and nBytes covers their blockBytes-byte
// blocks: the common precondition of the K-quant functions, named by fn.
func checkKQuant(fn string, nElem, nBytes, blockBytes int) {
	if nElem%qkK != 0 || nBytes < nElem/qkK*blockBytes {
		panic(fmt.Sprintf("kernels: %s of %d elements with %d bytes", fn, nElem, nBytes))
	}
}
