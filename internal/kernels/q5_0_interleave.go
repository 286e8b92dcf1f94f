package kernels

import "encoding/binary"

// Interleaved Q5_0: one block (32 columns) of a group of 8 rows is q5_0GroupBytes bytes, as many as the 8
// rows' blocks, laid out so that the kernel expands it with a few whole-register operations into the
// 256-byte layout of interleaved Q8_0 (chunk k = 0..7 of 32 bytes holds quants 4k..4k+3 of rows 0..7 in
// turn, row r at 4r), each byte the unsigned 5-bit quant q (0..31):
//
//	[0, 16)    the rows' fp16 d
//	[16, 48)   the fifth bits: bit p of this little-endian 256-bit field is bit 4 of expanded byte p
//	[48, 176)  the low 4 bits: byte p holds expanded byte p in its low nibble and byte p+128 in its high
//
// so chunk k (k < 4) is the low nibbles of bytes 32k..32k+31 and chunk k+4 their high nibbles, and a
// chunk's fifth bits are one 32-bit mask. VPDPBUSD of a chunk with an activation dword broadcast adds
// four products q·x to each row's lane; the kernel takes back 16·Σx per block (actQ8Sums) for q − 16.
const q5_0GroupBytes = 8 * q5_0BlockSize

// interleaveQ5_0 lays out a group of 8 Q5_0 rows (rowBytes each) as above.
func interleaveQ5_0(dst, rows []byte, rowBytes int) {
	var q [32]int32
	for b := range rowBytes / q5_0BlockSize {
		g := dst[b*q5_0GroupBytes:][:q5_0GroupBytes]
		clear(g)
		for r := range 8 {
			blk := rows[r*rowBytes+b*q5_0BlockSize:][:q5_0BlockSize]
			g[2*r], g[2*r+1] = blk[0], blk[1]
			q5Quants(&q, blk[2:6], blk[6:])
			for j, v := range q {
				p := 32*(j/4) + 4*r + j%4 // expanded byte of quant j of row r
				g[16+p/8] |= byte(v>>4) << (p % 8)
				g[48+p%128] |= byte(v&15) << (4 * (p / 128))
			}
		}
	}
}

// q5_0Expanded returns expanded byte p (0..255) of an interleaved Q5_0 group block g: the 5-bit quant.
func q5_0Expanded(g []byte, p int) int32 {
	lo := g[48+p%128] >> (4 * (p / 128)) & 15
	hi := g[16+p/8] >> (p % 8) & 1
	return int32(lo | hi<<4)
}

// dotQ5_0I8Ref is the reference of the interleaved Q5_0 kernels: the dot products of one interleaved group
// of 8 rows (nb blocks) with the n activation rows x[j·xStride:] (actQ8Sums: Q8_0 blocks, then the
// blocks' lane sums) into out[j·stride + r], r = 0..7, each what dotQ5_0Ref gives on the row (ggml's x86
// order: per block lane k takes fma(dw·dx, Σ (q − 16)·x over quants 4k..4k+3, lane), then hsum_float_8).
// It reads only the blocks.
func dotQ5_0I8Ref(out []float32, stride int, w, x []byte, xStride, nb, n int) {
	var q [32]int32
	for j := range n {
		for r := range 8 {
			var acc laneAcc
			for b := range nb {
				g := w[b*q5_0GroupBytes:][:q5_0GroupBytes]
				xb := x[j*xStride+b*q8BlockSize:][:q8BlockSize]
				for i := range q {
					q[i] = q5_0Expanded(g, 32*(i/4)+4*r+i%4) - 16
				}
				acc.add(F16ToF32(binary.LittleEndian.Uint16(g[2*r:]))*F16ToF32(binary.LittleEndian.Uint16(xb)), &q, xb[2:])
			}
			out[j*stride+r] = acc.sum()
		}
	}
}

// q8SumsRowBytes is the size of one activation row of cols values in the actQ8Sums form: the Q8_0
// blocks, then eight int32 per block.
func q8SumsRowBytes(cols int) int { return cols / qk8 * (q8BlockSize + 32) }

// q8BlockSums writes after the nb Q8_0 blocks of the activation row x (actQ8Sums) each block's eight lane
// terms −16·(x_4k + … + x_4k+3), k = 0..7, little-endian int32: the interleaved Q5_0 kernels start lane k's
// VPDPBUSD sum of q·x there, which makes it the sum of (q − 16)·x.
func q8BlockSums(x []byte, nb int) {
	for b := range nb {
		xb := x[b*q8BlockSize+2 : (b+1)*q8BlockSize]
		for k := range 8 {
			var sum int32
			for _, v := range xb[4*k : 4*k+4] {
				sum += int32(int8(v))
			}
			binary.LittleEndian.PutUint32(x[nb*q8BlockSize+32*b+4*k:], uint32(-16*sum))
		}
	}
}
