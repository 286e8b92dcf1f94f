package edge

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// sseWriter streams a response as OpenAI does: one Server-Sent Event "data: {chunk}\n\n" per update,
// flushed at once, then "data: [DONE]". Each chunk carries one choice, named by its index (a policy's
// forks stream as OpenAI streams n > 1 choices). It builds each chunk by hand in one reused buffer: a
// chunk per token is the hot path.
type sseWriter struct {
	w            *bufio.Writer
	conn         net.Conn      // when not nil, each event must be written within timeout, or the stream fails
	timeout      time.Duration // the write deadline's distance
	buf          []byte
	head         []byte // {"id":…,"object":…,"created":…,"model":…,
	chat         bool
	includeUsage bool                 // chunks carry "usage":null, and a last chunk carries the usage
	pending      [][]*engine.Logprobs // by choice: logprobs not sent yet
	offsets      []textOffset         // by choice: completions' text_offset so far
}

func newSSEWriter(w *bufio.Writer, j *job, id string, created int64) *sseWriter {
	object := "text_completion"
	if j.chat {
		object = "chat.completion.chunk"
	}
	return &sseWriter{w: w, head: appendHead(nil, id, object, created, j.model.info.ID), chat: j.chat, includeUsage: j.gen.includeUsage}
}

// logprobs holds a token's logprobs for choice index's next chunk.
func (s *sseWriter) logprobs(index int, lp *engine.Logprobs) {
	for len(s.pending) <= index {
		s.pending, s.offsets = append(s.pending, nil), append(s.offsets, textOffset{})
	}
	s.pending[index] = append(s.pending[index], lp)
}

// open sends a chat choice's first chunk, which names the role; completions have none.
func (s *sseWriter) open(index int) error {
	if !s.chat {
		return nil
	}
	return s.choice(index, append(s.begin(index), `"delta":{"role":"assistant","content":""},`...), "")
}

// text sends a piece of a choice's answer or reasoning.
func (s *sseWriter) text(index int, kind textKind, t string) error {
	b := s.begin(index)
	switch {
	case !s.chat:
		b = append(b, `"text":`...)
	case kind == reasoning: // under DeepSeek's name, and as "reasoning" where vLLM and ollama put it
		b = append(b, `"delta":{"reasoning_content":`...)
		b = appendJSONString(b, t)
		b = append(b, `,"reasoning":`...)
	default:
		b = append(b, `"delta":{"content":`...)
	}
	b = appendJSONString(b, t)
	if s.chat {
		b = append(b, '}')
	}
	return s.choice(index, append(b, ','), "")
}

// toolCall streams a tool call of a choice as OpenAI does: a chunk with its index, id, type and name (and
// empty arguments), then one with its arguments.
func (s *sseWriter) toolCall(index int, c toolCall) error {
	b := append(s.begin(index), `"delta":{"tool_calls":[{"index":`...)
	b = strconv.AppendInt(b, int64(c.index), 10)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, c.id)
	b = append(b, `,"type":"function","function":{"name":`...)
	b = appendJSONString(b, c.name)
	if err := s.choice(index, append(b, `,"arguments":""}}]},`...), ""); err != nil {
		return err
	}
	b = append(s.begin(index), `"delta":{"tool_calls":[{"index":`...)
	b = strconv.AppendInt(b, int64(c.index), 10)
	b = append(b, `,"function":{"arguments":`...)
	b = appendJSONString(b, c.arguments)
	return s.choice(index, append(b, `}}]},`...), "")
}

// finish sends a choice's chunk with its finish reason.
func (s *sseWriter) finish(index int, reason string) error {
	if s.chat {
		return s.choice(index, append(s.begin(index), `"delta":{},`...), reason)
	}
	return s.choice(index, append(s.begin(index), `"text":"",`...), reason)
}

// usage sends the last chunk of a stream with stream_options.include_usage: no choices, the usage.
func (s *sseWriter) usage(prompt, completion int, res engine.Result) error {
	b := append(s.buf[:0], "data: "...)
	b = append(b, s.head...)
	b = append(b, `"choices":[],"usage":`...)
	b = appendUsage(b, prompt, completion, res)
	return s.send(append(b, "}\n\n"...))
}

// fail reports an error after the stream has begun, as OpenAI and vLLM do.
func (s *sseWriter) fail(e *apiError) error {
	b := appendError(append(s.buf[:0], "data: "...), e)
	return s.send(append(b, "\n\n"...))
}

// done ends the stream.
func (s *sseWriter) done() error {
	return s.send(append(s.buf[:0], "data: [DONE]\n\n"...))
}

// begin starts a chunk with one choice, choice index of the response.
func (s *sseWriter) begin(index int) []byte {
	b := append(s.buf[:0], "data: "...)
	b = append(b, s.head...)
	b = append(b, `"choices":[{"index":`...)
	b = strconv.AppendInt(b, int64(index), 10)
	return append(b, ',')
}

// choice ends a chunk of choice index begun by begin, with the logprobs held for the choice, and sends
// it; finish "" is null.
func (s *sseWriter) choice(index int, b []byte, finish string) error {
	b = append(b, `"logprobs":`...)
	if index < len(s.pending) && len(s.pending[index]) > 0 {
		b = appendLogprobs(b, s.chat, true, s.pending[index], &s.offsets[index])
		s.pending[index] = s.pending[index][:0]
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"finish_reason":`...)
	b = appendNullString(b, finish)
	b = append(b, "}]"...)
	if s.includeUsage {
		b = append(b, `,"usage":null`...)
	}
	return s.send(append(b, "}\n\n"...))
}

// send writes one event and flushes it; an error means the client is gone, or stopped reading.
func (s *sseWriter) send(b []byte) error {
	s.buf = b
	if s.conn != nil {
		if err := s.conn.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil {
			return err
		}
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.w.Flush()
}

// appendHead appends the opening fields every response object shares.
func appendHead(b []byte, id, object string, created int64, model string) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"object":`...)
	b = appendJSONString(b, object)
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, model)
	return append(b, ',')
}

// appendUsage appends OpenAI's usage object: the prompt tokens the prefix cache gave (res.CachedTokens)
// and, when speculative decoding drafted tokens, completion_tokens_details with the drafted tokens kept
// (accepted_prediction_tokens) and thrown away (rejected_prediction_tokens).
func appendUsage(b []byte, prompt, completion int, res engine.Result) []byte {
	cached := res.CachedTokens
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(completion), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt+completion), 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, int64(cached), 10)
	if res.DraftTokens > 0 {
		b = append(b, `},"completion_tokens_details":{"accepted_prediction_tokens":`...)
		b = strconv.AppendInt(b, int64(res.AcceptedDraftTokens), 10)
		b = append(b, `,"rejected_prediction_tokens":`...)
		b = strconv.AppendInt(b, int64(res.DraftTokens-res.AcceptedDraftTokens), 10)
	}
	return append(b, "}}"...)
}

// appendNullString appends s as a JSON string, or null when it is empty.
func appendNullString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, s)
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
