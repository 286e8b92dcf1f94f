package edge

import (
	"io"
	"net"
	"time"
)

// lingerTime is how long a closed connection still takes in what its client sends, at most.
const lingerTime = time.Second

// lingerListener hands out connections that close gracefully. fasthttp answers a request it refuses
// before reading its body (413: the body is over the limit) and then closes the connection. Closed
// outright while the client still sends that body, the kernel answers the unread bytes with a reset,
// and the client loses the answer it had not read yet. Go's net/http avoids this the same way.
type lingerListener struct{ net.Listener }

// Accept wraps each TCP connection in a lingerConn.
func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok && err == nil {
		return lingerConn{tc}, nil
	}
	return c, err
}

// lingerConn is a TCP connection whose Close first ends the server's side (the client reads the answer
// and then end of stream), then discards what the client still sends, until it closes too or lingerTime
// passes, and only then closes the socket.
type lingerConn struct{ *net.TCPConn }

// Close ends the server's side now and closes the socket in the background.
func (c lingerConn) Close() error {
	if err := c.CloseWrite(); err != nil {
		return c.TCPConn.Close()
	}
	go func() {
		c.SetReadDeadline(time.Now().Add(lingerTime))
		io.Copy(io.Discard, c.TCPConn)
		c.TCPConn.Close()
	}()
	return nil
}
