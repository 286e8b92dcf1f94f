package kernels

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestTmpStress(t *testing.T) {
	for _, th := range []int{2, 3, 5} {
		for rep := 0; rep < 50; rep++ {
			p := NewPool(th)
			for k := 0; k < 200; k++ {
				n := 1 + (k*7+rep)%6
				var c atomic.Int64
				var mu sync.Mutex
				var got [][2]int
				p.Run(n, func(lo, hi int) {
					c.Add(int64(hi - lo))
					mu.Lock()
					got = append(got, [2]int{lo, hi})
					mu.Unlock()
				})
				if c.Load() != int64(n) {
					t.Fatalf("th=%d rep=%d k=%d: %d of %d done: %v", th, rep, k, c.Load(), n, got)
				}
			}
			p.Close()
		}
	}
}
