package kernels

import (
	"encoding/binary"
	"math"
)

// Interleaved Q6_K: one superblock of a group of 8 rows is q6KGroupBytes bytes (as many as the 8 rows):
//
//	[0, 16)      the rows' fp16 d
//	[16, 144)    scale i (int8) of row r at 16 + 8i + r
//	[144, 1680)  for h = 0, 1 and k = 0..7, at 144 + 96(8h+k): three chunks of 8 rows × 4 bytes, row r at
//	             + 4r: ql[64h+4k ..], ql[64h+32+4k ..] and qh[32h+4k ..] of that row
//
// Byte i of the chunks holds the quants of elements 128h + 32m + 4k + i, m = 0..3 (q6KUnpack's order):
// low nibble of the first chunk and qh bits 0-1 (m = 0), low nibble of the second and bits 2-3 (m = 1),
// high nibble of the first and bits 4-5 (m = 2), high nibble of the second and bits 6-7 (m = 3).
const q6KGroupBytes = 144 + 16*96

// interleaveQ6K lays out a group of 8 Q6_K rows (rowBytes each) as above.
func interleaveQ6K(dst, rows []byte, rowBytes int) {
	for b := range rowBytes / kqQ6Bytes {
		g := dst[b*q6KGroupBytes:][:q6KGroupBytes]
		for r := range 8 {
			blk := rows[r*rowBytes+b*kqQ6Bytes:][:kqQ6Bytes]
			copy(g[2*r:], blk[208:210])
			for i := range 16 {
				g[16+8*i+r] = blk[192+i]
			}
			for h := range 2 {
				for k := range 8 {
					c := g[144+96*(8*h+k)+4*r:]
					copy(c[0:4], blk[64*h+4*k:])
					copy(c[32:36], blk[64*h+32+4*k:])
					copy(c[64:68], blk[128+32*h+4*k:])
				}
			}
		}
	}
}

// dotQ6KI8Ref is the reference of the interleaved Q6_K kernels (typeTraits.dotI8): each output is
// dotQ6_KRef of the row, the same lanes and the same float expressions.
func dotQ6KI8Ref(out []float32, stride int, w, x []byte, xStride, nb, n int) {
	for j := range n {
		for r := range 8 {
			var acc laneAcc
			for b := range nb {
				g := w[b*q6KGroupBytes:][:q6KGroupBytes]
				xb := x[j*xStride+b*kqQ8Bytes:][:kqQ8Bytes]
				var q [kqSuper]int32
				var sc [16]int32
				for h := range 2 {
					for k := range 8 {
						c := g[144+96*(8*h+k)+4*r:]
						for i := range 4 {
							lo, hi, qh := c[i], c[32+i], c[64+i]
							e := 128*h + 4*k + i
							q[e] = int32(lo&15 | (qh&3)<<4)
							q[e+32] = int32(hi&15 | (qh>>2&3)<<4)
							q[e+64] = int32(lo>>4 | (qh>>4&3)<<4)
							q[e+96] = int32(hi>>4 | (qh>>6)<<4)
						}
					}
				}
				for i := range sc {
					sc[i] = int32(int8(g[16+8*i+r]))
				}
				xd := math.Float32frombits(binary.LittleEndian.Uint32(xb))
				acc.addLanes(xd*F16ToF32(binary.LittleEndian.Uint16(g[2*r:])), q6KLanes(&q, &sc, xb))
			}
			out[j*stride+r] = acc.sum()
		}
	}
}
