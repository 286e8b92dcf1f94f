package edge

import (
	"context"
	"errors"
	"fmt"

	"github.com/wasmoe/wasmoe/host/engine"
)

// event is one message from a running generation: a piece, or (done) its end.
type event struct {
	piece engine.Piece
	done  bool
	res   engine.Result
	err   error
}

// run is a generation in its own goroutine. The handler reads events; cancel stops the generation (a
// client that went away, a stop string).
type run struct {
	events chan event
	cancel context.CancelFunc
}

func (s *Server) start(m Model, req engine.Request) *run {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	r := &run{events: make(chan event, 64), cancel: cancel}
	go func() {
		defer cancel()
		res, err := m.Generate(ctx, req, func(p engine.Piece) error {
			select {
			case r.events <- event{piece: p}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		r.events <- event{done: true, res: res, err: err}
		close(r.events)
	}()
	return r
}

// stop cancels the generation and waits for it to end, returning its result.
func (r *run) stop() engine.Result {
	r.cancel()
	var res engine.Result
	for ev := range r.events {
		if ev.done {
			res = ev.res
		}
	}
	return res
}

// engineError maps an engine error to an API error.
func engineError(err error) *apiError {
	switch {
	case errors.Is(err, engine.ErrPromptTooLong):
		return &apiError{Status: 413, Type: "invalid_request_error", Param: "messages", Code: "context_length_exceeded", Message: err.Error()}
	case errors.Is(err, engine.ErrOverloaded), errors.Is(err, engine.ErrClosed):
		return &apiError{Status: 503, Type: "server_error", Code: "overloaded", Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: 504, Type: "server_error", Code: "timeout", Message: "generation exceeded the request timeout"}
	}
	return &apiError{Status: 500, Type: "server_error", Message: fmt.Sprintf("generation failed: %v", err)}
}

// textPipe turns generated pieces into the text a response shows: stop strings are cut, and for chat the
// reasoning is split from the content.
type textPipe struct {
	stop  stopper
	think *thinkSplitter // nil: no reasoning split (completions)
}

// feed processes a piece of text; stopped reports that a stop string was reached.
func (p *textPipe) feed(text string) (reasoning, content string, stopped bool) {
	text, stopped = p.stop.push(text)
	if p.think == nil {
		return "", text, stopped
	}
	reasoning, content = p.think.push(text)
	return reasoning, content, stopped
}

// finish returns what is still held back.
func (p *textPipe) finish() (reasoning, content string) {
	text := p.stop.flush()
	if p.think == nil {
		return "", text
	}
	r1, c1 := p.think.push(text)
	r2, c2 := p.think.flush()
	return r1 + r2, c1 + c2
}
