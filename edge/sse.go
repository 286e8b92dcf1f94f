package edge

import (
	"bufio"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// sseWriter writes OpenAI's stream chunks as Server-Sent Events, building the JSON by hand into one
// reused buffer (one chunk per token is the hot path).
type sseWriter struct {
	w            *bufio.Writer
	buf          []byte
	head         []byte // {"id":…,"object":…,"created":…,"model":…,
	chat         bool
	includeUsage bool
}

func newSSEWriter(w *bufio.Writer, id, object, model string, created int64, chat, includeUsage bool) *sseWriter {
	head := []byte(`{"id":`)
	head = appendJSONString(head, id)
	head = append(head, `,"object":`...)
	head = appendJSONString(head, object)
	head = append(head, `,"created":`...)
	head = strconv.AppendInt(head, created, 10)
	head = append(head, `,"model":`...)
	head = appendJSONString(head, model)
	head = append(head, ',')
	return &sseWriter{w: w, head: head, chat: chat, includeUsage: includeUsage}
}

// chunk writes one choice update: for chat a delta with role, reasoning_content and content (empty ones
// left out), for completions the text; finish is "" until the last.
func (s *sseWriter) chunk(role, reasoning, content, finish string) error {
	b := append(s.buf[:0], "data: "...)
	b = append(b, s.head...)
	b = append(b, `"choices":[{"index":0,`...)
	if s.chat {
		b = append(b, `"delta":{`...)
		sep := ""
		for _, f := range [][2]string{{"role", role}, {"reasoning_content", reasoning}, {"content", content}} {
			if f[1] != "" || (f[0] == "content" && role != "") {
				b = append(b, sep...)
				b = appendJSONString(append(append(append(b, '"'), f[0]...), `":`...), f[1])
				sep = ","
			}
		}
		b = append(b, "},"...)
	} else {
		b = appendJSONString(append(b, `"text":`...), content)
		b = append(b, ',')
	}
	b = append(b, `"logprobs":null,"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, finish)
	}
	b = append(b, "}]"...)
	if s.includeUsage {
		b = append(b, `,"usage":null`...)
	}
	b = append(b, "}\n\n"...)
	s.buf = b
	return s.send(b)
}

// usage writes the final usage chunk (stream_options.include_usage).
func (s *sseWriter) usage(u usage) error {
	b := append(s.buf[:0], "data: "...)
	b = append(b, s.head...)
	j, _ := json.Marshal(u)
	b = append(append(append(b, `"choices":[],"usage":`...), j...), "}\n\n"...)
	s.buf = b
	return s.send(b)
}

// failure reports an error mid-stream, as OpenAI does.
func (s *sseWriter) failure(e *apiError) error {
	j, _ := json.Marshal(map[string]*apiError{"error": e})
	return s.send(append(append([]byte("data: "), j...), "\n\n"...))
}

func (s *sseWriter) done() error { return s.send([]byte("data: [DONE]\n\n")) }

// send writes and flushes one event; an error means the client is gone.
func (s *sseWriter) send(b []byte) error {
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.w.Flush()
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(ctx, &apiError{Status: 500, Type: "server_error", Message: err.Error()})
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
