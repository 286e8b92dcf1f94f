package kernels

import (
	"fmt"
	"os"
	"sync/atomic"
)

// kernelSet is one implementation of the hot loops. Each one returns bit for bit what the scalar
// reference of the same name returns (see dot.go).
type kernelSet struct {
	name     string
	level    int                                                                                       // index into typeTraits.dot: 0 scalar, 1 avx2, 2 avx512
	dotF32   func(a, b []float32) float32                                                              // len(b) >= len(a)
	dotF16   func(w []uint16, x []float32) float32                                                     // len(x) >= len(w)
	dotBF16  func(w []uint16, x []float32) float32                                                     // len(x) >= len(w)
	dotQ8    func(w []byte, xq []int8, xd []float32) float32                                           // len(xd) blocks
	dotQ8x2  func(w []byte, stride int, xq []int8, xd []float32) (float32, float32)                    // rows w, w[stride:]
	dotQ8x8  func(out []float32, stride int, w []byte, xq []int8, xdT []float32)                       // 8 vectors into out[j·stride]
	dotQ8Vec func(w []byte, xq []int8, xd []float32) float32                                           // dotQ8VecRef (Matrix.VecDot)
	dotQ8I8  func(out []float32, stride int, w []byte, xq []int8, xd []float32, xs []int32, nb, n int) // dotQ8I8Ref; nil: no interleaved kernel
	dotF8    func(w []byte, x []float32, scale []float32) float32                                      // len(scale) whole F8Blocks, scaled
	quantQ8  func(qs []int8, d, x []float32)                                                           // quantizeActQ8_0Ref over len(d) blocks
	axpy     func(dst []float32, a float32, x []float32)                                               // len(x) >= len(dst)
	axpyFMA  func(dst []float32, a float32, x []float32)                                               // axpyFMARef; len(x) >= len(dst)
	axpyFMA4 func(dst []float32, a0, a1, a2, a3 float32, x0, x1, x2, x3 []float32)                     // axpyFMA4Ref
	add      func(dst, x []float32)                                                                    // addRef; len(x) >= len(dst)
	expSum   func(x []float32, m float32) float64                                                      // expSumRef; len(x) a multiple of 16
	f16ToF32 func(dst []float32, src []byte)                                                           // len(src) >= 2·len(dst)
	roundF16 func(dst, src []float32)                                                                  // dst[i] = src[i] rounded to fp16; len(src) >= len(dst)
	siluMul  func(gate, up []float32) int                                                              // siluMulRef on a prefix, returns its length; nil: none
}

// scalarSet is the portable reference implementation, always available.
var scalarSet = &kernelSet{
	name:     "scalar",
	dotF32:   dotF32Ref,
	dotF16:   dotF16Ref,
	dotBF16:  dotBF16Ref,
	dotQ8:    dotQ8Ref,
	dotQ8x2:  dotQ8x2Ref,
	dotQ8x8:  dotQ8x8Ref,
	dotQ8Vec: dotQ8VecRef,
	dotQ8I8:  dotQ8I8Ref,
	dotF8:    dotF8Blocks,
	quantQ8:  quantizeActQ8_0Ref,
	axpy:     axpyRef,
	axpyFMA:  axpyFMARef,
	axpyFMA4: axpyFMA4Ref,
	add:      addRef,
	expSum:   expSumRef,
	f16ToF32: f16ToF32RowRef,
	roundF16: roundF16Ref,
}

// active is the kernel set in use; every operation loads it once.
var active atomic.Pointer[kernelSet]

// isaEnv names the environment variable that forces a kernel set at start-up.
const isaEnv = "WASMOE_KERNELS"

func init() {
	sets := available()
	active.Store(sets[len(sets)-1])
	if name := os.Getenv(isaEnv); name != "" {
		if err := SetISA(name); err != nil {
			fmt.Fprintf(os.Stderr, "kernels: ignoring %s=%q: %v; using %s\n", isaEnv, name, err, ISA())
		}
	}
}

// ISA returns the name of the kernel set in use: "scalar", "avx2" or "avx512". At start-up it is the best
// one the CPU supports, unless the environment variable WASMOE_KERNELS names another.
func ISA() string { return active.Load().name }

// ISAs lists the kernel sets this CPU can run, slowest first.
func ISAs() []string {
	var names []string
	for _, s := range available() {
		names = append(names, s.name)
	}
	return names
}

// SetISA switches every kernel to the named set ("scalar", "avx2", "avx512"). It fails if the name is
// unknown or the CPU lacks the instructions. Operations already running finish on the set they started
// with. All sets give identical results; the switch exists for tests and benchmarks.
func SetISA(name string) error {
	for _, s := range available() {
		if s.name == name {
			active.Store(s)
			return nil
		}
	}
	return fmt.Errorf("kernel set %q is not available on this CPU (have %v)", name, ISAs())
}

// roundF16Ref rounds src[:len(dst)] to the nearest fp16 values, into dst.
func roundF16Ref(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = F16ToF32(F32ToF16(v))
	}
}

// f16ToF32Row widens the fp16 values in src into dst with the active kernels.
func f16ToF32Row(dst []float32, src []byte) { active.Load().f16ToF32(dst, src) }
