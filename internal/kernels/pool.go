package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool is a fixed set of persistent worker goroutines that run the parallel kernels (MatVec, MatMul,
// Attention, Run). Work is split into contiguous chunks, one per thread; the calling goroutine runs the
// first chunk itself. Between jobs a worker spins for a few tens of microseconds before it blocks, so the
// back-to-back operations of a token step do not pay a thread wake-up each (llama.cpp's threads poll the
// same way); a pool with more threads than GOMAXPROCS never spins. The pool owns grow-only scratch
// buffers (quantized activations), so in steady state its operations allocate nothing.
//
// Operations on one Pool are serialized by a mutex: concurrent callers simply take turns. A function given
// to Run must not call the same Pool (that deadlocks), and a panic in a chunk run by a worker goroutine
// ends the program, as in any goroutine. Use one Pool per independent stream of work.
type Pool struct {
	mu      sync.Mutex
	threads int
	spin    int // spin iterations before blocking; 0 when oversubscribed
	closed  bool
	workers []worker // workers[i] runs chunk i for i ≥ 1; the caller runs chunk 0

	// ticket publishes a job: the job number in the high bits, its number of chunks in the low 16 bits.
	// Only workers with an index below the chunk count touch the job fields below.
	ticket  atomic.Uint64
	pending atomic.Int32  // chunks not yet finished by workers
	waiting atomic.Bool   // the caller stopped spinning and waits on done
	done    chan struct{} // wakes a waiting caller
	quit    atomic.Bool

	job job
	n   int

	// Per-operation state, reused so that no call allocates.
	fn       funcJob
	mat      matJob
	attn     attnJob
	attnRows []float32 // attnJob.rows
	act      activations
}

// worker is the hand-off state of one worker goroutine.
type worker struct {
	asleep atomic.Bool   // the worker stopped spinning and waits on wake
	wake   chan struct{} // wakes an asleep worker; closed by Close
	_      [48]byte      // keep workers on separate cache lines
}

// job is a piece of parallel work over an index range.
type job interface{ run(lo, hi int) }

const (
	spinIters  = 1 << 16 // about 50 µs of polling
	partsBits  = 16
	maxThreads = 1<<partsBits - 1
)

// NewPool starts a pool of threads goroutines (the caller counts as one of them); threads <= 0 means
// runtime.NumCPU().
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	threads = min(threads, maxThreads)
	p := &Pool{threads: threads, workers: make([]worker, threads), done: make(chan struct{}, 1)}
	if threads <= runtime.GOMAXPROCS(0) {
		p.spin = spinIters
	}
	for i := 1; i < threads; i++ {
		p.workers[i].wake = make(chan struct{}, 1)
		go p.worker(i)
	}
	return p
}

// Threads returns the number of threads the pool splits work across.
func (p *Pool) Threads() int { return p.threads }

// Close stops the worker goroutines. Later operations on the pool panic; a second Close does nothing.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.quit.Store(true)
	p.ticket.Add(1 << partsBits) // a spinning worker sees a new ticket, then quit
	for i := 1; i < p.threads; i++ {
		close(p.workers[i].wake)
	}
}

// Run calls fn over [0, n) split into at most Threads() contiguous chunks [lo, hi), one per thread, and
// returns when all are done. fn must not call back into the pool.
func (p *Pool) Run(n int, fn func(lo, hi int)) {
	p.lock()
	defer p.mu.Unlock()
	p.fn.fn = fn
	p.parallel(n, &p.fn)
	p.fn.fn = nil
}

// lock takes the pool's mutex, panicking if the pool is closed.
func (p *Pool) lock() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		panic("kernels: use of a closed Pool")
	}
}

// parallel runs j over [0, n) on min(threads, n) threads, chunk i being [n·i/parts, n·(i+1)/parts).
// The caller holds p.mu.
func (p *Pool) parallel(n int, j job) {
	parts := min(p.threads, n)
	if parts <= 1 {
		if n > 0 {
			j.run(0, n)
		}
		return
	}
	p.job, p.n = j, n
	p.pending.Store(int32(parts - 1))
	t := p.ticket.Load()
	p.ticket.Store((t>>partsBits+1)<<partsBits | uint64(parts))
	for i := 1; i < parts; i++ {
		if w := &p.workers[i]; w.asleep.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	j.run(0, n/parts)
	p.wait()
	p.job = nil
}

// wait returns once every worker chunk of the current job is done.
func (p *Pool) wait() {
	for i := 0; i < p.spin; i++ {
		if p.pending.Load() == 0 {
			return
		}
		if i&255 == 255 {
			runtime.Gosched()
		}
	}
	// Block. A wake-up only says that some worker saw waiting set after its last chunk: it may come from
	// a worker of the previous job that was slow to look, so check pending again.
	for {
		p.waiting.Store(true)
		if p.pending.Load() == 0 && p.waiting.CompareAndSwap(true, false) {
			return
		}
		<-p.done
		if p.pending.Load() == 0 {
			return
		}
	}
}

// worker runs its chunk of each job it takes part in, until the pool is closed.
func (p *Pool) worker(i int) {
	w := &p.workers[i]
	var seen uint64
	for {
		t, ok := p.next(w, seen)
		if !ok || p.quit.Load() {
			return
		}
		seen = t
		parts := int(t & (1<<partsBits - 1))
		if i >= parts {
			continue
		}
		p.job.run(p.n*i/parts, p.n*(i+1)/parts)
		if p.pending.Add(-1) == 0 && p.waiting.CompareAndSwap(true, false) {
			p.done <- struct{}{}
		}
	}
}

// next waits for a ticket other than seen: it spins, then blocks on w.wake. ok is false once the pool
// is closed.
func (p *Pool) next(w *worker, seen uint64) (t uint64, ok bool) {
	for i := 0; i < p.spin; i++ {
		if t := p.ticket.Load(); t != seen {
			return t, true
		}
		if i&255 == 255 {
			runtime.Gosched()
		}
	}
	// Block. A wake-up only says that a dispatcher saw asleep set: it may be late, for the job this worker
	// already took while spinning or checking, so check the ticket again.
	for {
		w.asleep.Store(true)
		if t := p.ticket.Load(); t != seen && w.asleep.CompareAndSwap(true, false) {
			return t, true
		}
		if _, ok := <-w.wake; !ok {
			return 0, false
		}
		if t := p.ticket.Load(); t != seen {
			return t, true
		}
	}
}

// funcJob adapts a Run function to a job.
type funcJob struct{ fn func(lo, hi int) }

func (f *funcJob) run(lo, hi int) { f.fn(lo, hi) }
