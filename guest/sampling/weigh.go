package sampling

import "math"

// weigh sets w[i] = e^((l[i] − mx)·invTemp) for every logit and returns Σ w[i] (in float64). It is the
// only place that computes exponentials, over up to the whole vocabulary, so it is one loop with nothing
// called inside (a call per token would double its cost in the wasm guest).
//
// l[i] ≤ mx is required. Weights below e^−32 are 0: all of them together weigh less than 1/16 of a
// float32 ulp of the total even in a 2^18-token vocabulary, and skipping them saves most of the work on
// peaked distributions. NaN logits weigh 0.
//
// e^x is Cephes' expf: x = k·ln2 + r with |r| ≤ ln2/2, a degree-6 polynomial for e^r, then scaling by 2^k;
// accurate to about 1 ulp. The arithmetic is float32 with explicit conversions that forbid fused
// multiply-adds, so it gives the same bits natively and in the wasm guest: a seed picks the same tokens
// on both (math.Exp has assembly on amd64 and may differ in the last bit).
func weigh(w, l []float32, mx, invTemp float32) float64 {
	w = w[:len(l)]
	var z float64
	for i, li := range l {
		x := float32(li-mx) * invTemp
		var e float32
		if x > -32 { // false for NaN
			n := float32(x*log2e) + roundMagic // rounds x·log2(e) to the integer k, kept in n's low bits
			k := n - roundMagic
			r := float32(x-float32(k*ln2Hi)) - float32(k*ln2Lo) // k·ln2Hi is exact
			p := mad(mad(mad(mad(mad(expP0, r, expP1), r, expP2), r, expP3), r, expP4), r, expP5)
			p = mad(p, float32(r*r), r) + 1
			e = p * math.Float32frombits((math.Float32bits(n)-roundMagicBits+127)<<23) // p·2^k, k in [−47, 0]
		}
		w[i] = e
		z += float64(e)
	}
	return z
}

// mad is a·b + c with the product rounded first: Go may otherwise fuse it into an FMA on some targets.
func mad(a, b, c float32) float32 { return float32(a*b) + c }

const (
	roundMagic     = 12582912   // 1.5·2^23: adding it to |v| < 2^22 rounds v to an integer
	roundMagicBits = 0x4b400000 // math.Float32bits(roundMagic)
	log2e          = 1.44269504088896341
	ln2Hi          = 0.693359375    // ln 2 to 9 bits, so k·ln2Hi is exact
	ln2Lo          = -2.12194440e-4 // ln 2 − ln2Hi
	expP0          = 1.9875691500e-4
	expP1          = 1.3981999507e-3
	expP2          = 8.3334519073e-3
	expP3          = 4.1665795894e-2
	expP4          = 1.6666665459e-1
	expP5          = 5.0000001201e-1
)

// massBuckets histogram weights by their float32 bits: 8 buckets per power of two, split by the top three
// mantissa bits (0.06 to 0.12 of a logit wide), bucket 0 holding the weights in (15/16, 1] and the last
// one the weights of 0. A larger weight never lands in a later bucket.
const massBuckets = 512

// histogram adds each weight to its bucket of mass.
func histogram(mass *[massBuckets]float64, w []float32) {
	for _, x := range w {
		mass[massBucket(x)] += float64(x)
	}
}

// massBucket is the histogram bucket of a weight in [0, 1].
func massBucket(w float32) int {
	return int(min((math.Float32bits(1)-math.Float32bits(w))>>20, massBuckets-1))
}
