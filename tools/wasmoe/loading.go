package main

import (
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// handoff accepts the connections of one listener and passes them to whichever server serves it now: the
// loading server while the model loads, then the edge server. The port is bound, and answers, from the
// start.
type handoff struct {
	ln    net.Listener
	conns chan net.Conn // closed when ln stops accepting
}

// newHandoff starts accepting on ln.
func newHandoff(ln net.Listener) *handoff {
	h := &handoff{ln: ln, conns: make(chan net.Conn)}
	go func() {
		defer close(h.conns)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.conns <- c
		}
	}()
	return h
}

// listener is a view of the handoff for one server. Closing it stops that server's accepting; with
// closesPort it closes the port too (the last server's Shutdown).
func (h *handoff) listener(closesPort bool) net.Listener {
	return &handoffListener{h: h, closesPort: closesPort, done: make(chan struct{})}
}

// handoffListener is one server's view of a handoff.
type handoffListener struct {
	h          *handoff
	closesPort bool
	done       chan struct{}
	once       sync.Once
}

// Accept returns the next connection, until the listener or the port is closed.
func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case <-l.done:
		return nil, net.ErrClosed
	case c, ok := <-l.h.conns:
		if !ok {
			return nil, net.ErrClosed
		}
		return c, nil
	}
}

// Close stops Accept, and closes the port if this listener owns it.
func (l *handoffListener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		if l.closesPort {
			err = l.h.ln.Close()
		}
	})
	return err
}

// Addr is the port's address.
func (l *handoffListener) Addr() net.Addr { return l.h.ln.Addr() }

// loadingServer answers while the model loads: /health 200 (the process is up), /ready 503, and every
// other route 503 with Retry-After and an OpenAI-style error, "model is loading". It closes each
// connection after its answer, so that none is left to it when the edge server takes over.
func loadingServer() *fasthttp.Server {
	return &fasthttp.Server{Name: "wasmoe", ReadTimeout: 10 * time.Second, Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetConnectionClose()
		ctx.SetContentType("application/json")
		switch string(ctx.Path()) {
		case "/health":
			ctx.SetBodyString(`{"status":"ok"}`)
		case "/ready":
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			ctx.SetBodyString(`{"status":"loading"}`)
		default:
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			ctx.Response.Header.Set("Retry-After", "1")
			ctx.SetBodyString(`{"error":{"message":"model is loading","type":"server_error","param":null,"code":"model_loading"}}`)
		}
	}}
}
