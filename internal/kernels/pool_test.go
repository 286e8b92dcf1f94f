package kernels

import (
	"runtime"
	"sync"
	"testing"
)

func TestPoolRunCoversRange(t *testing.T) {
	for _, th := range []int{1, 2, 3, 7} {
		p := NewPool(th)
		if p.Threads() != th {
			t.Fatalf("Threads() = %d, want %d", p.Threads(), th)
		}
		for _, n := range []int{0, 1, 2, 3, 6, 7, 8, 100, 1001} {
			seen := make([]int, n)
			var mu sync.Mutex
			var chunks [][2]int
			p.Run(n, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					seen[i]++
				}
				mu.Lock()
				chunks = append(chunks, [2]int{lo, hi})
				mu.Unlock()
			})
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("threads=%d n=%d: index %d run %d times", th, n, i, c)
				}
			}
			if len(chunks) > th || n > 0 && len(chunks) != min(th, n) {
				t.Fatalf("threads=%d n=%d: %d chunks", th, n, len(chunks))
			}
			for _, c := range chunks {
				if c[0] >= c[1] {
					t.Fatalf("threads=%d n=%d: empty chunk %v", th, n, c)
				}
			}
		}
		p.Close()
	}
}

// Many short jobs of varying width, on pools that spin (threads <= GOMAXPROCS) and pools that block:
// every chunk runs exactly once and Run returns only after all have run.
func TestPoolManyJobs(t *testing.T) {
	for _, th := range []int{2, 3, 5} {
		for rep := range 20 {
			p := NewPool(th)
			for k := range 200 {
				n := 1 + (k*7+rep)%6
				var mu sync.Mutex
				var got [][2]int
				p.Run(n, func(lo, hi int) {
					mu.Lock()
					got = append(got, [2]int{lo, hi})
					mu.Unlock()
				})
				mu.Lock()
				total := 0
				for _, c := range got {
					total += c[1] - c[0]
				}
				if total != n || len(got) != min(th, n) {
					t.Fatalf("threads=%d job %d: chunks %v for n=%d", th, k, got, n)
				}
				mu.Unlock()
			}
			p.Close()
		}
	}
}

func TestPoolDefaultThreads(t *testing.T) {
	p := NewPool(0)
	defer p.Close()
	if p.Threads() != runtime.NumCPU() {
		t.Fatalf("Threads() = %d, want %d", p.Threads(), runtime.NumCPU())
	}
}

func TestPoolClose(t *testing.T) {
	p := NewPool(3)
	p.Close()
	p.Close()
	defer func() {
		if recover() == nil {
			t.Fatal("Run on a closed pool did not panic")
		}
	}()
	p.Run(10, func(lo, hi int) {})
}

// Concurrent callers take turns and each gets its own correct result.
func TestPoolConcurrentCallers(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	w := randMatrix(21, Q8_0, 50, 128)
	x := randVec(newRand(22), 4*128, 1)
	want := refMatMul(w, x, 4)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]float32, 50)
			for range 20 {
				p.MatVec(out, w, x[g*128:(g+1)*128])
				for r := range out {
					if !sameBits(out[r], want[g*50+r]) {
						t.Errorf("caller %d row %d: %v, want %v", g, r, out[r], want[g*50+r])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
