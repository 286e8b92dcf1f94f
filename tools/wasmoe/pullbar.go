package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// pullBar shows a pull's progress: on a terminal a bar redrawn in place (file, bytes, rate, ETA); elsewhere
// a line as each file starts, at each tenth of it, and when it is done.
type pullBar struct {
	w          io.Writer
	terminal   bool
	file       string
	i, n       int
	size, have int64
	resumed    int64     // bytes that were on disk when the file started
	began      time.Time // when the file started
	drawn      time.Time // when the bar was last drawn
	tenth      int64     // the last tenth reported on plain lines
	open       bool      // a bar is on the terminal's line, not yet ended
}

// newPullBar reports on w.
func newPullBar(w io.Writer, terminal bool) *pullBar { return &pullBar{w: w, terminal: terminal} }

// Start begins a file.
func (b *pullBar) Start(file string, i, n int, size, have int64) {
	b.end()
	b.file, b.i, b.n, b.size, b.have, b.resumed, b.began, b.tenth = file, i, n, size, have, have, time.Now(), 0
	switch {
	case have == size:
		fmt.Fprintf(b.w, "[%d/%d] %s: %s, in the cache\n", i, n, file, humanBytes(size))
	case b.terminal:
		b.draw()
	case have > 0:
		fmt.Fprintf(b.w, "[%d/%d] %s: %s, resuming at %s\n", i, n, file, humanBytes(size), humanBytes(have))
	default:
		fmt.Fprintf(b.w, "[%d/%d] %s: %s\n", i, n, file, humanBytes(size))
	}
}

// Advance adds received bytes.
func (b *pullBar) Advance(n int64) {
	b.have += n
	done := b.have >= b.size
	switch {
	case b.terminal && !done && time.Since(b.drawn) >= 200*time.Millisecond:
		b.draw()
	case !b.terminal && b.size > 0 && 10*b.have/b.size > b.tenth:
		b.tenth = 10 * b.have / b.size
		if !done {
			fmt.Fprintf(b.w, "[%d/%d] %s: %d%% %s\n", b.i, b.n, b.file, 10*b.tenth, b.rateETA())
		}
	}
	if done {
		if b.open { // the done line replaces the bar
			fmt.Fprint(b.w, "\r\x1b[K")
			b.open = false
		}
		fmt.Fprintf(b.w, "[%d/%d] %s: done, %s in %s\n", b.i, b.n, b.file, humanBytes(b.size), time.Since(b.began).Round(time.Second/10))
	}
}

// draw redraws the bar line.
func (b *pullBar) draw() {
	const width = 30
	fill := width
	if b.size > 0 {
		fill = int(width * b.have / b.size)
	}
	fmt.Fprintf(b.w, "\r\x1b[K[%d/%d] %s [%s%s] %s / %s %s", b.i, b.n, b.file, strings.Repeat("=", fill),
		strings.Repeat(" ", width-fill), humanBytes(b.have), humanBytes(b.size), b.rateETA())
	b.drawn, b.open = time.Now(), true
}

// rateETA is the current file's rate since it started and the time left at that rate.
func (b *pullBar) rateETA() string {
	secs := time.Since(b.began).Seconds()
	if secs < 0.5 || b.have == b.resumed {
		return ""
	}
	rate := float64(b.have-b.resumed) / secs
	eta := time.Duration(float64(b.size-b.have) / rate * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("%s/s ETA %s", humanBytes(int64(rate)), eta)
}

// end finishes a drawn bar's line.
func (b *pullBar) end() {
	if b.open {
		fmt.Fprintln(b.w)
		b.open = false
	}
}
