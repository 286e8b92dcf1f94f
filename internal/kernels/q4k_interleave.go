package kernels

import (
	"encoding/binary"
	"math"
)

// Interleaved Q4_K: one superblock of a group of 8 rows is q4KGroupBytes bytes:
//
//	[0, 16)      the rows' fp16 d
//	[16, 32)     the rows' fp16 dmin
//	[32, 96)     scale of group j of row r at 32 + 8j + r (6 bits, unpacked from get_scale_min_k4)
//	[96, 160)    min of group j of row r at 96 + 8j + r
//	[160, 1184)  chunk (c, k), c = 0..3, k = 0..7, at 160 + 32(8c+k): row r's bytes 32c+4k .. 32c+4k+3 of
//	             its quants at + 4r (low nibbles: elements 64c+4k+i, group 2c; high: 64c+32+4k+i, group 2c+1)
//
// so that one VPDPBUSD of a chunk's nibbles with an activation dword broadcast adds four products to
// each row's lane.
const q4KGroupBytes = 160 + 8*128

// interleaveQ4K lays out a group of 8 Q4_K rows (rowBytes each) as above.
func interleaveQ4K(dst, rows []byte, rowBytes int) {
	for b := range rowBytes / kqQ4Bytes {
		g := dst[b*q4KGroupBytes:][:q4KGroupBytes]
		for r := range 8 {
			blk := rows[r*rowBytes+b*kqQ4Bytes:][:kqQ4Bytes]
			copy(g[2*r:], blk[0:2])
			copy(g[16+2*r:], blk[2:4])
			sc, mn := q4KScaleMins(blk[4:16])
			for j := range 8 {
				g[32+8*j+r], g[96+8*j+r] = sc[j], mn[j]
			}
			for c := range 4 {
				for k := range 8 {
					copy(g[160+32*(8*c+k)+4*r:][:4], blk[16+32*c+4*k:])
				}
			}
		}
	}
}

// dotQ4KI8Ref is the reference of the interleaved Q4_K kernels (typeTraits.dotI8): each output is
// dotQ4_KRef of the row, the same integer sums and the same float order (ggml's repacked gemv).
func dotQ4KI8Ref(out []float32, stride int, w, x []byte, xStride, nb, n int) {
	for j := range n {
		for r := range 8 {
			var acc, accm float32
			for b := range nb {
				g := w[b*q4KGroupBytes:][:q4KGroupBytes]
				xb := x[j*xStride+b*kqQ8Bytes:][:kqQ8Bytes]
				var sumi, summ int32
				for sb := range 8 {
					c, hi := sb/2, sb%2
					var s int32
					for k := range 8 {
						for i := range 4 {
							q := g[160+32*(8*c+k)+4*r+i]
							if hi == 1 {
								q >>= 4
							} else {
								q &= 15
							}
							s += int32(q) * int32(int8(xb[4+32*sb+4*k+i]))
						}
					}
					sumi += int32(g[32+8*sb+r]) * s
					summ += int32(g[96+8*sb+r]) * (kqBsum(xb, 2*sb) + kqBsum(xb, 2*sb+1))
				}
				xd := math.Float32frombits(binary.LittleEndian.Uint32(xb))
				acc = fma32(float32(sumi), F16ToF32(binary.LittleEndian.Uint16(g[2*r:]))*xd, acc)
				accm = fma32(float32(summ), F16ToF32(binary.LittleEndian.Uint16(g[16+2*r:]))*xd, accm)
			}
			out[j*stride+r] = acc - accm
		}
	}
}
