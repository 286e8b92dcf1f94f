package edge

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

func TestBadRequests(t *testing.T) {
	s := newTestServer(&fakeModel{pieces: []string{"x"}})
	const chatURL, cmplURL = "/v1/chat/completions", "/v1/completions"
	cases := []struct {
		path, body string
		status     int
		param      string // "" : null
	}{
		{chatURL, `{`, 400, ""},
		{chatURL, ``, 400, ""},
		{chatURL, `[]`, 400, ""},
		{chatURL, `{"messages":"hi"}`, 400, "messages"},
		{chatURL, `{"messages":[]}`, 400, "messages"},
		{chatURL, `{}`, 400, "messages"},
		{chatURL, `{"messages":[{"role":"wizard","content":"x"}]}`, 400, "messages[0].role"},
		{chatURL, `{"messages":[{"role":"user","content":5}]}`, 400, "messages[0].content"},
		{chatURL, `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "messages[0].content"},
		{chatURL, `{"messages":[{"role":"assistant","tool_calls":[{"type":"magic"}]}]}`, 400, "messages[0].tool_calls[0].type"},
		{chatURL, `{` + hi + `,"temperature":"hot"}`, 400, "temperature"},
		{chatURL, `{` + hi + `,"temperature":2.5}`, 400, "temperature"},
		{chatURL, `{` + hi + `,"temperature":-0.1}`, 400, "temperature"},
		{chatURL, `{` + hi + `,"top_p":1.5}`, 400, "top_p"},
		{chatURL, `{` + hi + `,"top_k":-2}`, 400, "top_k"},
		{chatURL, `{` + hi + `,"top_k":1.5}`, 400, "top_k"},
		{chatURL, `{` + hi + `,"min_p":2}`, 400, "min_p"},
		{chatURL, `{` + hi + `,"presence_penalty":-3}`, 400, "presence_penalty"},
		{chatURL, `{` + hi + `,"frequency_penalty":3}`, 400, "frequency_penalty"},
		{chatURL, `{` + hi + `,"repetition_penalty":0}`, 400, "repetition_penalty"},
		{chatURL, `{` + hi + `,"repeat_penalty":11}`, 400, "repeat_penalty"},
		{chatURL, `{` + hi + `,"n":17}`, 400, "n"},
		{chatURL, `{` + hi + `,"n":0}`, 400, "n"},
		{chatURL, `{` + hi + `,"max_tokens":0}`, 400, "max_tokens"},
		{chatURL, `{` + hi + `,"max_completion_tokens":-1}`, 400, "max_completion_tokens"},
		{chatURL, `{` + hi + `,"logit_bias":{"abc":1}}`, 400, "logit_bias"},
		{chatURL, `{` + hi + `,"logit_bias":{"1000":1}}`, 400, "logit_bias"},
		{chatURL, `{` + hi + `,"logit_bias":{"-1":1}}`, 400, "logit_bias"},
		{chatURL, `{` + hi + `,"logit_bias":{"5":101}}`, 400, "logit_bias"},
		{chatURL, `{` + hi + `,"seed":"x"}`, 400, "seed"},
		{chatURL, `{` + hi + `,"stop":["a","b","c","d","e"]}`, 400, "stop"},
		{chatURL, `{` + hi + `,"stop":3}`, 400, "stop"},
		{chatURL, `{` + hi + `,"stream":"yes"}`, 400, "stream"},
		{chatURL, `{` + hi + `,"stream_options":{"include_usage":true}}`, 400, "stream_options"},
		{chatURL, `{` + hi + `,"logprobs":3}`, 400, "logprobs"},
		{chatURL, `{` + hi + `,"logprobs":-1}`, 400, "logprobs"},
		{chatURL, `{` + hi + `,"top_logprobs":2}`, 400, "top_logprobs"},
		{chatURL, `{` + hi + `,"logprobs":true,"top_logprobs":21}`, 400, "top_logprobs"},
		{chatURL, `{` + hi + `,"logprobs":true,"top_logprobs":-1}`, 400, "top_logprobs"},
		{chatURL, `{` + hi + `,"tools":[{"type":"function","function":{"name":"f"}}]}`, 400, "tools"},
		{chatURL, `{` + hi + `,"response_format":{"type":"json_object"}}`, 400, "response_format"},
		{chatURL, `{` + hi + `,"thinking":{"type":"maybe"}}`, 400, "thinking.type"},
		{chatURL, `{` + hi + `,"chat_template_kwargs":[1]}`, 400, "chat_template_kwargs"},
		{cmplURL, `{"prompt":{}}`, 400, "prompt"},
		{cmplURL, `{}`, 400, "prompt"},
		{cmplURL, `{"prompt":[1,"a"]}`, 400, "prompt"},
		{cmplURL, `{"prompt":["a","b"]}`, 400, "prompt"},
		{cmplURL, `{"prompt":[[1],[2]]}`, 400, "prompt"},
		{cmplURL, `{"prompt":[[[1]]]}`, 400, "prompt"},
		{cmplURL, `{"prompt":[-1]}`, 400, "prompt"},
		{cmplURL, `{"prompt":[1000]}`, 400, "prompt"},
		{cmplURL, `{"prompt":[99999999999]}`, 400, "prompt"},
		{cmplURL, `{"prompt":[]}`, 400, "prompt"},
		{cmplURL, `{"prompt":""}`, 400, "prompt"},
		{cmplURL, `{"prompt":"x","suffix":"y"}`, 400, "suffix"},
		{cmplURL, `{"prompt":"x","best_of":3}`, 400, "best_of"},
		{cmplURL, `{"prompt":"x","logprobs":21}`, 400, "logprobs"},
		{cmplURL, `{"prompt":"x","logprobs":true}`, 400, "logprobs"},
		{cmplURL, `{"prompt":"x","logprobs":2,"top_logprobs":2}`, 400, "top_logprobs"},
		{cmplURL, `{"prompt":"` + strings.Repeat("w ", 64) + `"}`, 413, "prompt"},
		{chatURL, `{"messages":[{"role":"user","content":"` + strings.Repeat("w ", 64) + `"}]}`, 413, "messages"},
	}
	for _, c := range cases {
		e := post(s, c.path, c.body).apiErr(t, c.status)
		if param := ""; e.Param != nil {
			param = *e.Param
			if param != c.param {
				t.Errorf("%s %.50s: param %q, want %q (%s)", c.path, c.body, param, c.param, e.Message)
			}
		} else if c.param != "" {
			t.Errorf("%s %.50s: param null, want %q (%s)", c.path, c.body, c.param, e.Message)
		}
		if e.Type != typeInvalidRequest {
			t.Errorf("%s %.50s: type %q", c.path, c.body, e.Type)
		}
	}
	e := post(s, cmplURL, `{"model":"gpt-9","prompt":"x"}`).apiErr(t, 404)
	if e.Code == nil || *e.Code != "model_not_found" || *e.Param != "model" {
		t.Errorf("unknown model: %+v", e)
	}
	e = post(s, cmplURL, `{"prompt":"`+strings.Repeat("w ", 64)+`"}`).apiErr(t, 413)
	if e.Code == nil || *e.Code != "context_length_exceeded" {
		t.Errorf("prompt too long: %+v", e)
	}
	// Two models: the name is required.
	two := newTestServer(&fakeModel{info: engine.ModelInfo{ID: "a"}}, &fakeModel{info: engine.ModelInfo{ID: "b"}})
	post(two, cmplURL, `{"prompt":"x"}`).apiErr(t, 400)
}

func TestRoutes(t *testing.T) {
	s := newTestServer(&fakeModel{info: engine.ModelInfo{ID: "b", ContextLength: 99}}, &fakeModel{info: engine.ModelInfo{ID: "a"}})
	r := call(s, "GET", "/v1/models", "")
	v := r.object(t)
	data, _ := v["data"].([]any)
	if r.status != 200 || v["object"] != "list" || len(data) != 2 {
		t.Fatalf("models: %d %s", r.status, r.body)
	}
	for i, id := range []string{"a", "b"} {
		card := data[i].(map[string]any)
		if card["id"] != id || card["object"] != "model" || card["owned_by"] != "wasmoe" || card["created"].(float64) <= 0 {
			t.Errorf("model card %v", card)
		}
	}
	if data[1].(map[string]any)["context_length"] != 99.0 {
		t.Errorf("context_length %v", data[1])
	}
	if r := call(s, "GET", "/health", ""); r.status != 200 || string(r.body) != `{"status":"ok"}` {
		t.Errorf("health: %d %s", r.status, r.body)
	}
	if r := call(s, "HEAD", "/health", ""); r.status != 200 {
		t.Errorf("HEAD health: %d", r.status)
	}
	call(s, "GET", "/v1/nothing", "").apiErr(t, 404)
	for _, c := range []struct{ method, path, allow string }{
		{"GET", "/v1/chat/completions", "POST"}, {"PUT", "/v1/completions", "POST"}, {"POST", "/v1/models", "GET"},
		{"DELETE", "/health", "GET"}, {"OPTIONS", "/v1/chat/completions", "POST"},
	} {
		r := call(s, c.method, c.path, "")
		r.apiErr(t, 405)
		if got := string(r.header.Peek("Allow")); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
}

func TestCORS(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CORSOrigin = "*"
	s := NewServer(cfg, &fakeModel{pieces: []string{"x"}})
	r := call(s, "OPTIONS", "/v1/chat/completions", "")
	if r.status != 204 || string(r.header.Peek("Access-Control-Allow-Origin")) != "*" ||
		!strings.Contains(string(r.header.Peek("Access-Control-Allow-Headers")), "Authorization") {
		t.Errorf("preflight: %d %s", r.status, r.header.String())
	}
	if m := string(r.header.Peek("Access-Control-Allow-Methods")); !strings.Contains(m, "PUT") || !strings.Contains(m, "DELETE") {
		t.Errorf("preflight allows %q: the admin API needs PUT and DELETE", m)
	}
	for _, r := range []response{post(s, "/v1/completions", `{"prompt":"x"}`), post(s, "/v1/completions", `{`), call(s, "GET", "/nope", "")} {
		if string(r.header.Peek("Access-Control-Allow-Origin")) != "*" {
			t.Errorf("status %d without CORS header", r.status)
		}
		// A browser client reads the rate-limit headers only when they are exposed.
		if e := string(r.header.Peek("Access-Control-Expose-Headers")); !strings.Contains(e, "x-ratelimit-remaining-tokens") || !strings.Contains(e, "Retry-After") {
			t.Errorf("status %d exposes %q", r.status, e)
		}
	}
}

// TestEngineErrors checks the status of each engine error, before any token and mid-stream.
func TestEngineErrors(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{engine.ErrOverloaded, 503, "overloaded"},
		{engine.ErrClosed, 503, "shutting_down"},
		{engine.ErrPromptTooLong, 413, "context_length_exceeded"},
		{io.ErrUnexpectedEOF, 500, ""},
	}
	for _, c := range cases {
		for _, stream := range []string{"false", "true"} {
			r := post(newTestServer(&fakeModel{err: c.err}), "/v1/chat/completions", `{`+hi+`,"stream":`+stream+`}`)
			e := r.apiErr(t, c.status)
			if (e.Code == nil && c.code != "") || (e.Code != nil && *e.Code != c.code) {
				t.Errorf("%v: code %v, want %q", c.err, e.Code, c.code)
			}
			if strings.Contains(e.Message, "unexpected EOF") {
				t.Errorf("internal error leaked to the client: %q", e.Message)
			}
			if ra := string(r.header.Peek("Retry-After")); (c.status == 503) != (ra == "1") {
				t.Errorf("%v: Retry-After %q", c.err, ra)
			}
		}
	}
	// Mid-stream, the status is already sent: an error event, then [DONE].
	m := &fakeModel{pieces: []string{"a", "b", "c"}, err: engine.ErrOverloaded, errAt: 2}
	r := post(newTestServer(m), "/v1/completions", `{"prompt":"x","stream":true}`)
	cs := r.chunks(t)
	if r.status != 200 || len(cs) != 3 || cs[2].Error == nil || *cs[2].Error.Code != "overloaded" {
		t.Errorf("mid-stream error: %d %s", r.status, r.body)
	}
	post(newTestServer(m), "/v1/completions", `{"prompt":"x"}`).apiErr(t, 503)
}

// TestPanics checks that a panicking model fails its request only.
func TestPanics(t *testing.T) {
	m := &fakeModel{pieces: []string{"ok"}, panics: true}
	s := newTestServer(m)
	post(s, "/v1/completions", `{"prompt":"x"}`).apiErr(t, 500)
	post(s, "/v1/completions", `{"prompt":"x","stream":true}`).apiErr(t, 500)
	m.panics = false
	if r := post(s, "/v1/completions", `{"prompt":"x"}`); r.status != 200 {
		t.Errorf("after a panic: %d %s", r.status, r.body)
	}
	// A panic in the handler itself.
	if r := call(s, "POST", "/v1/chat/completions", `{`+hi+`}`); r.status != 200 {
		t.Fatalf("%d", r.status)
	}
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("/v1/completions")
	ctx.Request.SetBodyString(`{"prompt":"x"}`)
	s.models["fake"].Model = nil // Tokenize on a nil interface panics
	s.handle(&ctx)
	if ctx.Response.StatusCode() != 500 {
		t.Errorf("handler panic: status %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

// TestTimeout checks the request timeout: 504 before the first token, an error event after it.
func TestTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Logger = quiet
	cfg.RequestTimeout = 100 * time.Millisecond
	m := &fakeModel{pieces: []string{"x"}, repeat: true, delay: 10 * time.Millisecond}
	s := NewServer(cfg, m)
	e := post(s, "/v1/completions", `{"prompt":"x","max_tokens":100000}`).apiErr(t, 504)
	if e.Code == nil || *e.Code != "timeout" {
		t.Errorf("timeout error %+v", e)
	}
	cs := post(s, "/v1/completions", `{"prompt":"x","max_tokens":100000,"stream":true}`).chunks(t)
	if last := cs[len(cs)-1]; last.Error == nil || *last.Error.Code != "timeout" || len(cs) < 3 {
		t.Errorf("stream timeout: %d chunks, last %+v", len(cs), last)
	}
	m.delay, m.repeat = 0, false
	slow := &fakeModel{pieces: []string{"x"}, delay: 300 * time.Millisecond}
	post(NewServer(cfg, slow), "/v1/completions", `{"prompt":"x","stream":true}`).apiErr(t, 504)
}
