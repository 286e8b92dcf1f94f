package edge

import (
	"errors"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pollInterval is how often a watcher looks at its connection.
const pollInterval = 200 * time.Millisecond

// watchClient watches the connection of r's request until r ends or the returned stop is called, and
// stops r with errClientGone once the client has closed it. fasthttp does not read a connection while its
// handler runs, so this is how a request sees its client leave before it writes anything: while it waits
// in the engine's queue, and all along a whole (non-streamed) response. stop waits for the watcher to end.
//
// It peeks at the socket without consuming: end-of-file means the client closed (or shut down its side
// of) the connection; bytes waiting (a pipelined next request) or none yet mean it is still there. A
// connection that is not a socket (an in-memory one, TLS) is not watched.
func watchClient(conn net.Conn, r *run) (stop func()) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return func() {}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	quit, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		tick := time.NewTicker(pollInterval)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-r.done:
				return
			case <-tick.C:
			}
			if peerClosed(raw) {
				r.stop(errClientGone)
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-ended
	}
}

// peerClosed peeks at one byte of the socket without waiting or consuming it: true when the peer has
// closed or reset the connection, or the connection is closed here already.
func peerClosed(raw syscall.RawConn) bool {
	var n int
	var rerr error
	var buf [1]byte
	if err := raw.Control(func(fd uintptr) {
		n, _, rerr = unix.Recvfrom(int(fd), buf[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	}); err != nil {
		return true
	}
	switch {
	case rerr == nil:
		return n == 0
	case errors.Is(rerr, unix.ECONNRESET), errors.Is(rerr, unix.ETIMEDOUT), errors.Is(rerr, unix.EPIPE):
		return true
	}
	return false // EAGAIN: nothing to read yet; EINTR: look again next time
}
