package kernels

import (
	"fmt"
	"math"
)

// RoPEWithAngles rotates, in place, the first 2·len(theta) dimensions of each of the nHeads heads of x (head
// h is x[h·headDim : (h+1)·headDim]): pair p turns by the angle theta[p]. With neox false the pairs are (2p,
// 2p+1) (ggml's NORM mode, llama), with neox true they are (p, p+len(theta)) (NEOX mode, qwen2). The cosine
// and sine are math.Cos/Sin rounded to float32, and the outputs are x0·cos − x1·sin and x0·sin + x1·cos
// with ggml-cpu's fused multiply-adds (rotatePair). RoPEAngles gives the angles as ggml forms them.
func RoPEWithAngles(x []float32, nHeads, headDim int, theta []float32, neox bool) {
	checkRoPE(x, nHeads, headDim, len(theta))
	for p, t := range theta {
		rotate(x, nHeads, headDim, p, len(theta), t, neox)
	}
}

// RoPEAngles fills theta with the angles ggml's ggml_rope_cache_init gives position pos when YaRN is off
// (ext_factor 0, attn_factor 1): with d = 2·len(theta) and s = powf(base, −2/d), t_0 = pos and
// t_{p+1} = t_p·s, each step rounded to float32; theta[p] = freqScale·(t_p/freqFactors[p]), where a nil
// freqFactors means 1 (llama3's rope_freqs tensor supplies them). powf is math.Pow rounded to float32.
func RoPEAngles(theta []float32, pos int, base, freqScale float32, freqFactors []float32) {
	s := float32(math.Pow(float64(base), float64(float32(-2)/float32(2*len(theta)))))
	t := float32(pos)
	for p := range theta {
		ff := float32(1)
		if freqFactors != nil {
			ff = freqFactors[p]
		}
		theta[p] = freqScale * (t / ff)
		t *= s
	}
}

// rotate turns pair p of every head by the angle theta; half is the number of pairs.
func rotate(x []float32, nHeads, headDim, p, half int, theta float32, neox bool) {
	c := float32(math.Cos(float64(theta)))
	s := float32(math.Sin(float64(theta)))
	i0, i1 := 2*p, 2*p+1
	if neox {
		i0, i1 = p, p+half
	}
	for h := 0; h < nHeads; h++ {
		v := x[h*headDim : (h+1)*headDim]
		v[i0], v[i1] = rotatePair(v[i0], v[i1], c, s)
	}
}

// rotatePair turns (x0, x1) by the angle whose cosine and sine are c and s as gcc compiles ggml-cpu's
// rotate_pairs (x0·cos − x1·sin, x0·sin + x1·cos): the second product of each rounded, the first fused,
// fma(x0, c, −x1·s) and fma(x0, s, x1·c), in NORM and NEOX mode alike.
func rotatePair(x0, x1, c, s float32) (float32, float32) {
	return fma32(x0, c, -float32(x1*s)), fma32(x0, s, float32(x1*c))
}

func checkRoPE(x []float32, nHeads, headDim, pairs int) {
	if 2*pairs > headDim || len(x) < nHeads*headDim {
		panic(fmt.Sprintf("kernels: RoPE of %d pairs over %d heads of %d in %d values", pairs, nHeads, headDim, len(x)))
	}
}
