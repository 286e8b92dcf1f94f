package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// fakeModel generates a scripted list of pieces, one token each, and records what it was asked.
type fakeModel struct {
	info    engine.ModelInfo
	pieces  []string
	finish  string        // FinishReason after the last piece ("" leaves it empty)
	repeat  bool          // cycle through pieces until stopped (MaxTokens still applies)
	err     error         // returned before any piece
	errAt   int           // with err: return it after this many pieces instead
	delay   time.Duration // before each piece
	panics  bool          // panic instead of generating
	emitted atomic.Int64  // pieces emit accepted
	ended   chan struct{} // if not nil, closed when Generate returns
	queued  chan struct{} // if not nil, Generate waits for it (or its context) first, as in a full engine's queue
	cached  int           // CachedTokens of the result

	// A policy's output: when script is set, Generate emits these pieces (choice indexes included)
	// instead of pieces, then returns choices, and completion as CompletionTokens when it is > 0.
	script     []engine.Piece
	choices    []engine.Choice
	completion int

	mu       sync.Mutex
	req      engine.Request // the last request
	text     string         // the last text tokenized
	addBOS   bool
	emitErrs int   // emits that failed
	endErr   error // what the last Generate returned
}

func (f *fakeModel) Info() engine.ModelInfo {
	info := f.info
	if info.ID == "" {
		info.ID = "fake"
	}
	if info.ContextLength == 0 {
		info.ContextLength = 64
	}
	if info.VocabSize == 0 {
		info.VocabSize = 1000
	}
	return info
}

// Tokenize gives one token per word, and token 1 for BOS.
func (f *fakeModel) Tokenize(_ context.Context, text string, addBOS, _ bool) ([]int32, error) {
	f.mu.Lock()
	f.text, f.addBOS = text, addBOS
	f.mu.Unlock()
	var ids []int32
	if addBOS {
		ids = append(ids, 1)
	}
	for range strings.Fields(text) {
		ids = append(ids, 7)
	}
	return ids, nil
}

func (f *fakeModel) Generate(ctx context.Context, req engine.Request, emit func(engine.Piece) error) (_ engine.Result, err error) {
	if f.ended != nil {
		defer close(f.ended)
	}
	defer func() {
		f.mu.Lock()
		f.endErr = err
		f.mu.Unlock()
	}()
	f.mu.Lock()
	f.req = req
	f.mu.Unlock()
	if f.panics {
		panic("fake model exploded")
	}
	res := engine.Result{PromptTokens: len(req.Prompt), CachedTokens: f.cached}
	if f.queued != nil {
		select {
		case <-f.queued:
		case <-ctx.Done():
			return res, context.Cause(ctx)
		}
	}
	if f.err != nil && f.errAt == 0 {
		return res, f.err
	}
	if f.script != nil {
		return f.runScript(req, emit, res)
	}
	for i := 0; f.repeat || i < len(f.pieces); i++ {
		if req.MaxTokens > 0 && i == req.MaxTokens {
			res.FinishReason = engine.FinishLength
			return res, nil
		}
		if f.err != nil && i == f.errAt {
			return res, f.err
		}
		if f.delay > 0 {
			time.Sleep(f.delay)
		}
		if err := emit(engine.Piece{Token: int32(i), Text: f.pieces[i%len(f.pieces)]}); err != nil {
			f.mu.Lock()
			f.emitErrs++
			f.mu.Unlock()
			return res, err
		}
		f.emitted.Add(1)
		res.CompletionTokens++
	}
	res.FinishReason = f.finish
	return res, nil
}

// runScript emits the script's pieces (err, if set, comes after errAt of them).
func (f *fakeModel) runScript(req engine.Request, emit func(engine.Piece) error, res engine.Result) (engine.Result, error) {
	for i, p := range f.script {
		if f.err != nil && i == f.errAt {
			return res, f.err
		}
		if err := emit(p); err != nil {
			f.mu.Lock()
			f.emitErrs++
			f.mu.Unlock()
			return res, err
		}
		f.emitted.Add(1)
		res.CompletionTokens++
	}
	if f.completion > 0 {
		res.CompletionTokens = f.completion
	}
	res.FinishReason, res.Choices = f.finish, f.choices
	return res, nil
}

// pluginModel is a fakeModel that runs plugins: the ones in policies, by name.
type pluginModel struct {
	*fakeModel
	policies map[string]*wasm.Policy
}

// Policy returns the named plugin or, as the engine does, an error wrapping engine.ErrBadPlugin.
func (p *pluginModel) Policy(name string) (*wasm.Policy, error) {
	if pol, ok := p.policies[name]; ok {
		return pol, nil
	}
	return nil, fmt.Errorf("%w: plugin %q: the plugin directory has no %s.wasm", engine.ErrBadPlugin, name, name)
}

func (f *fakeModel) lastRequest() engine.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.req
}

// lastErr is what the last Generate returned.
func (f *fakeModel) lastErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.endErr
}

func (f *fakeModel) lastText() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.text, f.addBOS
}

// quiet is a logger for tests that provoke errors on purpose.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newTestServer(models ...Model) *Server {
	cfg := DefaultConfig()
	cfg.Logger = quiet
	return NewServer(cfg, models...)
}

// response is what call returns.
type response struct {
	status int
	header *fasthttp.ResponseHeader
	body   []byte
}

// call runs one request through the server's handler, without a network; a streamed body is read to
// its end.
func call(s *Server, method, path, body string) response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	ctx.Request.SetBodyString(body)
	s.handle(&ctx)
	b := append([]byte(nil), ctx.Response.Body()...)
	return response{ctx.Response.StatusCode(), &ctx.Response.Header, b}
}

func post(s *Server, path, body string) response { return call(s, fasthttp.MethodPost, path, body) }

// object decodes a JSON response body.
func (r response) object(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("status %d, body is not a JSON object: %q", r.status, r.body)
	}
	return v
}

// events splits an SSE body into its data payloads; every event must be a "data: " line and a blank line.
func (r response) events(t *testing.T) []string {
	t.Helper()
	if ct := string(r.header.ContentType()); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q, status %d, body %q", ct, r.status, r.body)
	}
	if !bytes.HasSuffix(r.body, []byte("\n\n")) {
		t.Fatalf("stream does not end with a blank line: %q", r.body)
	}
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(string(r.body), "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("not a one-line data event: %q", ev)
		}
		out = append(out, data)
	}
	return out
}

// chunk is the part of a stream chunk the tests read.
type chunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int               `json:"index"`
		Delta        map[string]string `json:"delta"`
		Text         *string           `json:"text"`
		Logprobs     any               `json:"logprobs"`
		FinishReason *string           `json:"finish_reason"`
	} `json:"choices"`
	Usage *usageJSON `json:"usage"`
	Error *errorJSON `json:"error"`
}

type usageJSON struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens *int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

type errorJSON struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// chunks decodes every event but the final [DONE], which must be there.
func (r response) chunks(t *testing.T) []chunk {
	t.Helper()
	evs := r.events(t)
	if len(evs) == 0 || evs[len(evs)-1] != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]: %q", evs)
	}
	out := make([]chunk, len(evs)-1)
	for i, ev := range evs[:len(evs)-1] {
		dec := json.NewDecoder(strings.NewReader(ev))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out[i]); err != nil {
			t.Fatalf("event %d %q: %v", i, ev, err)
		}
	}
	return out
}

// streamed adds up a stream's reasoning and content (text for completions) and returns the finish reason.
func streamed(t *testing.T, cs []chunk) (reasoning, content, finish string) {
	t.Helper()
	for _, c := range cs {
		if len(c.Choices) == 0 {
			continue
		}
		ch := c.Choices[0]
		reasoning += ch.Delta["reasoning_content"]
		content += ch.Delta["content"]
		if ch.Text != nil {
			content += *ch.Text
		}
		if ch.FinishReason != nil {
			finish = *ch.FinishReason
		}
	}
	return reasoning, content, finish
}

// completion is the part of a whole response the tests read.
type completion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message *struct {
			Role             string  `json:"role"`
			Content          string  `json:"content"`
			ReasoningContent *string `json:"reasoning_content"`
			Reasoning        *string `json:"reasoning"` // reasoning_content's alias
		} `json:"message"`
		Text         *string `json:"text"`
		Logprobs     any     `json:"logprobs"`
		FinishReason string  `json:"finish_reason"`
	} `json:"choices"`
	Usage usageJSON `json:"usage"`
}

func (r response) completion(t *testing.T) completion {
	t.Helper()
	return r.completionN(t, 1)
}

// completionN decodes a whole response that must have n choices, indexed in order.
func (r response) completionN(t *testing.T, n int) completion {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var c completion
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || len(c.Choices) != n {
		t.Fatalf("response %s: %v", r.body, err)
	}
	for i, ch := range c.Choices {
		if ch.Index != i {
			t.Fatalf("choice %d has index %d: %s", i, ch.Index, r.body)
		}
	}
	return c
}

// apiErr decodes an error response and checks its status.
func (r response) apiErr(t *testing.T, status int) errorJSON {
	t.Helper()
	var v struct {
		Error *errorJSON `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || v.Error == nil || v.Error.Message == "" || v.Error.Type == "" {
		t.Fatalf("status %d, not an OpenAI error body: %q (%v)", r.status, r.body, err)
	}
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := string(r.header.ContentType()); ct != contentJSON {
		t.Errorf("error Content-Type %q", ct)
	}
	return *v.Error
}
