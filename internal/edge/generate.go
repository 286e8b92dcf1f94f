package edge

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// Why a generation was cancelled (context.Cause of its context).
var (
	errClientGone = errors.New("edge: the client went away")
	errStopString = errors.New("edge: a stop string was reached")
	errTimeout    = errors.New("edge: request timeout")
	errShutdown   = errors.New("edge: the server is shutting down")
)

// run is a generation in its own goroutine. Its pieces pass one at a time through an unbuffered channel,
// so the engine never runs ahead of the response, and once the run is cancelled the engine's next emit
// fails.
type run struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	pieces chan engine.Piece
	done   chan struct{} // closed when Generate has returned; res and err are then set
	res    engine.Result
	err    error
	track  *tracker
}

// start runs req on m until it ends, its request timeout passes, stop is called or the server shuts down.
// t measures it: each piece as it leaves the engine, and its end before done is closed. The generation's
// admission is released as it ends, before the run says it is done.
func (s *Server) start(m Model, req engine.Request, t *tracker, adm admission) *run {
	ctx, cancel := context.WithCancelCause(s.base)
	tctx, cancelTimer := context.WithTimeoutCause(ctx, s.cfg.RequestTimeout, errTimeout)
	r := &run{ctx: tctx, cancel: cancel, pieces: make(chan engine.Piece), done: make(chan struct{}), track: t}
	go func() {
		defer close(r.done)
		defer func() { adm.release(r.res.CompletionTokens) }()
		defer cancel(nil)
		defer cancelTimer()
		defer func() { t.finish(r.res, r.err, context.Cause(tctx)) }()
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("edge: model panicked", "panic", p, "stack", string(debug.Stack()))
				r.err = fmt.Errorf("model panicked: %v", p)
			}
		}()
		r.res, r.err = m.Generate(tctx, req, r.emit)
	}()
	return r
}

// emit hands one piece to the response; it fails once the run is cancelled (after which nothing receives).
func (r *run) emit(p engine.Piece) error {
	if r.ctx.Err() != nil { // cancellation wins over a waiting receiver
		return context.Cause(r.ctx)
	}
	left := time.Now() // when the piece left the engine, for the metrics once the response has it
	select {
	case r.pieces <- p:
		r.track.piece(p, left)
		return nil
	case <-r.ctx.Done():
		return context.Cause(r.ctx)
	}
}

// next waits for the next piece; ok is false once the generation has ended (res and err are then set).
func (r *run) next() (p engine.Piece, ok bool) {
	select {
	case p = <-r.pieces:
		return p, true
	case <-r.done:
		return p, false
	}
}

// stop cancels the generation for the given reason; it ends on its own.
func (r *run) stop(why error) { r.cancel(why) }

// failure is the API error of job's generation that ended with err: the reason it was cancelled if it
// was (timeout, shutdown, the client left), else the engine's error, or its plugin's failure. A client
// that left or stopped reading is logged (at info: clients do that) and gets errClientClosed, which a
// stream does not try to send.
func (s *Server) failure(j *job, r *run, err error) *apiError {
	if cause := context.Cause(r.ctx); errors.Is(cause, errTimeout) || errors.Is(cause, errShutdown) || errors.Is(cause, errClientGone) {
		err = cause
	}
	if errors.Is(err, errClientGone) || errors.Is(err, engine.ErrWriteTimeout) {
		s.log.Info("edge: generation cut off", "model", j.model.info.ID, "why", err)
		return errClientClosed
	}
	if e := knownError(err, j.param); e != nil {
		return e
	}
	if e := pluginFailure(j.gen, err); e != nil {
		return e
	}
	return s.engineError(err, j.param)
}
