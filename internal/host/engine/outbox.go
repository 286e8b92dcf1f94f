package engine

import (
	"sync"
	"sync/atomic"
)

// outboxPieces is how many pieces a request's reader may leave unread before the scheduler pauses the
// request: it keeps its sequences and cache blocks, computes nothing, and is cut off after
// Config.WriteTimeout.
const outboxPieces = 64

// outbox carries a request's pieces from its worker to its reader (the goroutine that called Generate and
// calls emit). The worker never blocks on it; the scheduler reads only the atomic count.
type outbox struct {
	mu      sync.Mutex
	pieces  []Piece
	arrived chan struct{} // cap 1: there are pieces
	drained chan struct{} // cap 1: the reader took pieces
	n       atomic.Int32  // pieces not taken yet
}

func newOutbox() *outbox {
	return &outbox{arrived: make(chan struct{}, 1), drained: make(chan struct{}, 1)}
}

// push adds a piece.
func (o *outbox) push(p Piece) {
	o.mu.Lock()
	o.pieces = append(o.pieces, p)
	o.mu.Unlock()
	o.n.Add(1)
	signal(o.arrived)
}

// take moves the pieces out into buf (reused) and returns them.
func (o *outbox) take(buf []Piece) []Piece {
	o.mu.Lock()
	buf = append(buf[:0], o.pieces...)
	clear(o.pieces)
	o.pieces = o.pieces[:0]
	o.mu.Unlock()
	return buf
}

// done records that the reader has handed n pieces on; it reports whether that unpaused the request.
func (o *outbox) done(n int) bool {
	left := o.n.Add(int32(-n))
	signal(o.drained)
	return left < outboxPieces && left+int32(n) >= outboxPieces
}

// full reports whether the reader is outboxPieces or more behind.
func (o *outbox) full() bool { return o.n.Load() >= outboxPieces }

// signal wakes the one waiter of a capacity-1 channel without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
