package quantize

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress reports Run's work on a writer: on a terminal, one line per finished tensor and a bar redrawn in
// place (tensor, types, sizes, overall percentage); elsewhere, plain lines only.
type progress struct {
	w        io.Writer
	terminal bool
	plan     []Planned
	total    uint64 // elements of all tensors
	doneEl   uint64 // elements of finished rows
	rowsDone int    // of the current tensor
	last     time.Time
	mu       sync.Mutex
	inBytes  uint64
	outBytes uint64
}

// newProgress prepares a report over plan; w nil reports nothing.
func newProgress(w io.Writer, terminal bool, plan []Planned) *progress {
	p := &progress{w: w, terminal: terminal, plan: plan}
	for _, t := range plan {
		p.total += elements(t.Dims)
	}
	return p
}

// size is a tensor's bytes in type t.
func size(t Planned, out bool) uint64 {
	typ := t.Type
	if out {
		typ = t.Out
	}
	rb, err := typ.RowBytes(int(t.Dims[0]))
	if err != nil {
		return 0
	}
	return uint64(rb) * (elements(t.Dims) / t.Dims[0])
}

// mib formats bytes as MiB.
func mib(n uint64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

// line describes tensor i.
func (p *progress) line(i int) string {
	t := p.plan[i]
	return fmt.Sprintf("[%4d/%4d] %-40s %-8s -> %-8s %s -> %s", i+1, len(p.plan), t.Name, t.Type, t.Out,
		mib(size(t, false)), mib(size(t, true)))
}

// percent is the overall share done.
func (p *progress) percent() float64 {
	if p.total == 0 {
		return 100
	}
	return 100 * float64(p.doneEl) / float64(p.total)
}

// start marks tensor i begun.
func (p *progress) start(i int) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rowsDone = 0
	p.draw(i, true)
}

// rows adds n finished rows of tensor i.
func (p *progress) rows(i, n int) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rowsDone += n
	p.doneEl += uint64(n) * p.plan[i].Dims[0]
	if time.Since(p.last) > 100*time.Millisecond {
		p.draw(i, false)
	}
}

// draw redraws the bar (terminal only).
func (p *progress) draw(i int, force bool) {
	if !p.terminal || (!force && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	const width = 30
	fill := int(p.percent() / 100 * width)
	fmt.Fprintf(p.w, "\r\x1b[K%5.1f%% [%s%s] %s", p.percent(), strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		p.line(i))
}

// done marks tensor i finished.
func (p *progress) done(i int) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inBytes += size(p.plan[i], false)
	p.outBytes += size(p.plan[i], true)
	if p.terminal {
		fmt.Fprintf(p.w, "\r\x1b[K%s\n", p.line(i))
		p.draw(i, true)
		return
	}
	fmt.Fprintf(p.w, "%5.1f%% %s\n", p.percent(), p.line(i))
}

// fail ends the bar's line after an error.
func (p *progress) fail() {
	if p.w != nil && p.terminal {
		fmt.Fprintln(p.w)
	}
}

// finish prints the totals.
func (p *progress) finish() {
	if p.w == nil {
		return
	}
	if p.terminal {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintf(p.w, "done: %d tensors, %s -> %s\n", len(p.plan), mib(p.inBytes), mib(p.outBytes))
}
