package edge

import (
	"bufio"
	"errors"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/host/engine"
)

// job is a validated request, ready to run.
type job struct {
	model         *served
	prompt        []int32
	gen           *generation
	chat          bool   // chat.completion shape with the reasoning split, else text_completion
	opensThinking bool   // the chat prompt leaves the model inside <think>
	param         string // the request field the prompt comes from, for errors
}

// respond runs the job and writes the response, streamed or whole.
func (s *Server) respond(ctx *fasthttp.RequestCtx, j *job) {
	if n := j.model.info.ContextLength; n > 0 && len(j.prompt) >= n {
		writeError(ctx, promptTooLong(j.param, len(j.prompt), n))
		return
	}
	r := s.start(j.model, j.gen.request(j.prompt))
	first, ok := r.next() // the status waits for the first piece: an error before it gets its own
	if !ok && r.err != nil {
		writeError(ctx, s.failure(r, r.err, j.param))
		return
	}
	id, created := newID(j.chat), time.Now().Unix()
	if j.gen.stream {
		s.stream(ctx, j, r, first, ok, id, created)
		return
	}
	var out collector
	p := newPipe(j, &out)
	finish, err := p.pump(r, first, ok)
	if err != nil {
		writeError(ctx, s.failure(r, err, j.param))
		return
	}
	var b []byte
	if j.chat {
		b = appendHead(b, id, "chat.completion", created, j.model.info.ID)
		b = append(b, `"choices":[{"index":0,"message":{"role":"assistant","content":`...)
		b = appendJSONString(b, string(out.content))
		if p.think.reasoned {
			b = append(b, `,"reasoning_content":`...)
			b = appendJSONString(b, string(out.reasoning))
		}
		b = append(b, "},"...)
	} else {
		b = appendHead(b, id, "text_completion", created, j.model.info.ID)
		b = append(b, `"choices":[{"index":0,"text":`...)
		b = appendJSONString(b, string(out.content))
		b = append(b, ',')
	}
	b = append(b, `"logprobs":null,"finish_reason":`...)
	b = appendJSONString(b, finish)
	b = append(b, `}],"usage":`...)
	b = appendUsage(b, len(j.prompt), p.tokens)
	ctx.SetContentType(contentJSON)
	ctx.SetBody(append(b, '}'))
}

// stream sends the response as Server-Sent Events. fasthttp runs the writer after the handler returns, in
// its own goroutine; a failed write means the client is gone and cancels the generation.
func (s *Server) stream(ctx *fasthttp.RequestCtx, j *job, r *run, first engine.Piece, ok bool, id string, created int64) {
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	ctx.Response.ImmediateHeaderFlush = true
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("edge: panic streaming a response", "panic", p, "stack", string(debug.Stack()))
				r.stop(errInternal)
			}
		}()
		sse := newSSEWriter(w, j, id, created)
		if j.chat && sse.role() != nil {
			r.stop(errClientGone)
			return
		}
		p := newPipe(j, sse)
		finish, err := p.pump(r, first, ok)
		switch {
		case errors.Is(err, errClientGone):
			return
		case err != nil:
			if sse.fail(s.failure(r, err, j.param)) == nil {
				sse.done()
			}
			return
		}
		if sse.finish(finish) != nil {
			return
		}
		if j.gen.includeUsage && sse.usage(len(j.prompt), p.tokens) != nil {
			return
		}
		sse.done()
	})
}

// newID returns a response id: "chatcmpl-" or "cmpl-" and 24 hex digits.
func newID(chat bool) string {
	b := make([]byte, 0, 33)
	if chat {
		b = append(b, "chatcmpl-"...)
	} else {
		b = append(b, "cmpl-"...)
	}
	b = strconv.AppendUint(b, rand.Uint64()|1<<63, 16)
	b = strconv.AppendUint(b, rand.Uint64()>>32|1<<31, 16)
	return string(b)
}
