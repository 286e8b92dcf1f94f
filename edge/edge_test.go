package edge

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/host/engine"
)

// fakeModel streams a scripted list of text pieces, one token each.
type fakeModel struct {
	pieces  []string
	tmpl    string
	err     error        // returned before any piece
	emitted atomic.Int64 // pieces handed to emit
	delay   time.Duration
}

func (f *fakeModel) Info() engine.ModelInfo {
	return engine.ModelInfo{ID: "fake", ContextLength: 64, VocabSize: 1000, ChatTemplate: f.tmpl}
}

func (f *fakeModel) Tokenize(_ context.Context, text string, _, _ bool) ([]int32, error) {
	ids := make([]int32, len(strings.Fields(text)))
	return ids, nil
}

func (f *fakeModel) Generate(ctx context.Context, req engine.Request, emit func(engine.Piece) error) (engine.Result, error) {
	res := engine.Result{PromptTokens: len(req.Prompt)}
	if f.err != nil {
		return res, f.err
	}
	for i, p := range f.pieces {
		if req.MaxTokens > 0 && i == req.MaxTokens {
			res.FinishReason = engine.FinishLength
			return res, nil
		}
		time.Sleep(f.delay)
		if err := ctx.Err(); err != nil {
			return res, err
		}
		f.emitted.Add(1)
		res.CompletionTokens++
		if err := emit(engine.Piece{Token: int32(i), Text: p}); err != nil {
			return res, err
		}
	}
	res.FinishReason = engine.FinishStop
	return res, nil
}

func serve(t *testing.T, m Model) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(DefaultConfig(), m)
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return "http://" + ln.Addr().String()
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return resp.StatusCode, out
}

// events reads an SSE stream into its data payloads.
func events(t *testing.T, url, body string) []string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "data: ") {
			out = append(out, strings.TrimPrefix(line, "data: "))
		}
	}
	return out
}

func message(out map[string]any) (string, string, string) {
	c := out["choices"].([]any)[0].(map[string]any)
	m := c["message"].(map[string]any)
	r, _ := m["reasoning_content"].(string)
	return r, m["content"].(string), c["finish_reason"].(string)
}

func TestReasoningSplit(t *testing.T) {
	// The R1 template opens <think>: everything up to </think> is reasoning; newlines after it are dropped.
	m := &fakeModel{tmpl: "{{ messages[0]['content'] }}<｜Assistant｜><think>\n", pieces: []string{"I think", " hard</th", "ink>\n\nThe answer", " is 4."}}
	url := serve(t, m)
	code, out := post(t, url+"/v1/chat/completions", `{"messages":[{"role":"user","content":"2+2?"}]}`)
	if code != 200 {
		t.Fatalf("status %d %v", code, out)
	}
	r, c, f := message(out)
	if r != "I think hard" || c != "The answer is 4." || f != "stop" {
		t.Errorf("reasoning %q content %q finish %q", r, c, f)
	}
	// Streamed: the deltas add up to the same split.
	var rs, cs string
	for _, ev := range events(t, url+"/v1/chat/completions", `{"messages":[{"role":"user","content":"2+2?"}],"stream":true}`) {
		if ev == "[DONE]" {
			continue
		}
		var ch struct {
			Choices []struct {
				Delta map[string]string `json:"delta"`
			} `json:"choices"`
		}
		json.Unmarshal([]byte(ev), &ch)
		rs += ch.Choices[0].Delta["reasoning_content"]
		cs += ch.Choices[0].Delta["content"]
	}
	if rs != "I think hard" || cs != "The answer is 4." {
		t.Errorf("streamed reasoning %q content %q", rs, cs)
	}
	// Without an open <think> in the prompt, a leading <think> in the output opens it.
	m2 := &fakeModel{pieces: []string{"<thi", "nk>plan</think>", "done"}}
	_, out = post(t, serve(t, m2)+"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`)
	if r, c, _ := message(out); r != "plan" || c != "done" {
		t.Errorf("leading <think>: reasoning %q content %q", r, c)
	}
	m3 := &fakeModel{pieces: []string{"<b>plain", " answer"}}
	_, out = post(t, serve(t, m3)+"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`)
	if r, c, _ := message(out); r != "" || c != "<b>plain answer" {
		t.Errorf("no reasoning: reasoning %q content %q", r, c)
	}
}

func TestStopStrings(t *testing.T) {
	m := &fakeModel{pieces: []string{"Hello", " wor", "ld! E", "ND more", " text"}}
	url := serve(t, m)
	code, out := post(t, url+"/v1/completions", `{"prompt":"hi","stop":["END","zzz"]}`)
	if code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	c := out["choices"].([]any)[0].(map[string]any)
	if c["text"] != "Hello world! " || c["finish_reason"] != "stop" {
		t.Errorf("text %q finish %v", c["text"], c["finish_reason"])
	}
	if u := out["usage"].(map[string]any); u["completion_tokens"].(float64) != 4 {
		t.Errorf("usage %v", u)
	}
	var text string
	evs := events(t, url+"/v1/completions", `{"prompt":"hi","stop":"ld!","stream":true}`)
	for _, ev := range evs[:len(evs)-1] {
		var ch struct {
			Choices []struct {
				Text string `json:"text"`
			} `json:"choices"`
		}
		json.Unmarshal([]byte(ev), &ch)
		text += ch.Choices[0].Text
	}
	if text != "Hello wor" {
		t.Errorf("streamed text before the stop string: %q", text)
	}
}

func TestStreamShape(t *testing.T) {
	m := &fakeModel{pieces: []string{"a\"b", "\n"}}
	evs := events(t, serve(t, m)+"/v1/chat/completions", `{"model":"fake","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}`)
	if len(evs) != 6 || evs[5] != "[DONE]" {
		t.Fatalf("events %q", evs)
	}
	var first, last, usage map[string]any
	json.Unmarshal([]byte(evs[0]), &first)
	json.Unmarshal([]byte(evs[3]), &last)
	json.Unmarshal([]byte(evs[4]), &usage)
	if first["object"] != "chat.completion.chunk" || !strings.HasPrefix(first["id"].(string), "chatcmpl-") {
		t.Errorf("first chunk %v", first)
	}
	var second map[string]any
	if err := json.Unmarshal([]byte(evs[1]), &second); err != nil {
		t.Fatalf("chunk with quotes is not JSON: %s", evs[1])
	}
	if d := second["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any); d["content"] != "a\"b" {
		t.Errorf("escaped content %v", d)
	}
	if last["choices"].([]any)[0].(map[string]any)["finish_reason"] != "stop" {
		t.Errorf("last chunk %v", last)
	}
	if len(usage["choices"].([]any)) != 0 || usage["usage"].(map[string]any)["completion_tokens"].(float64) != 2 {
		t.Errorf("usage chunk %v", usage)
	}
}

func TestErrors(t *testing.T) {
	url := serve(t, &fakeModel{pieces: []string{"x"}})
	cases := []struct {
		path, body string
		code       int
		param      string
	}{
		{"/v1/chat/completions", `{`, 400, ""},
		{"/v1/chat/completions", ``, 400, ""},
		{"/v1/chat/completions", `{"messages":[]}`, 400, "messages"},
		{"/v1/chat/completions", `{"messages":[{"role":"wizard","content":"x"}]}`, 400, "messages[0].role"},
		{"/v1/chat/completions", `{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}`, 404, "model"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"top_p":1.5}`, 400, "top_p"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"n":2}`, 400, "n"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"max_tokens":0}`, 400, "max_tokens"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"logit_bias":{"99999":1}}`, 400, "logit_bias"},
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}`, 400, "stop"},
		{"/v1/completions", `{"prompt":{}}`, 400, "prompt"},
		{"/v1/completions", `{"prompt":"` + strings.Repeat("w ", 100) + `"}`, 413, "messages"},
		{"/v1/nothing", `{}`, 404, ""},
	}
	for _, c := range cases {
		code, out := post(t, url+c.path, c.body)
		e, ok := out["error"].(map[string]any)
		if code != c.code || !ok || e["message"] == "" {
			t.Errorf("%s %.40q: %d %v, want %d", c.path, c.body, code, out, c.code)
			continue
		}
		if c.param != "" && e["param"] != c.param {
			t.Errorf("%s %.40q: param %v, want %s", c.path, c.body, e["param"], c.param)
		}
	}
	resp, _ := http.Get(url + "/v1/chat/completions")
	if resp.StatusCode != 405 {
		t.Errorf("GET chat: %d", resp.StatusCode)
	}
	for err, code := range map[error]int{engine.ErrOverloaded: 503, engine.ErrPromptTooLong: 413, io.ErrUnexpectedEOF: 500} {
		code2, out := post(t, serve(t, &fakeModel{err: err})+"/v1/completions", `{"prompt":"hi","stream":true}`)
		if code2 != code || out["error"] == nil {
			t.Errorf("engine error %v: %d %v, want %d", err, code2, out, code)
		}
	}
}

// TestDisconnectStopsGeneration closes a stream early: the model must stop producing tokens.
func TestDisconnectStopsGeneration(t *testing.T) {
	pieces := make([]string, 500)
	for i := range pieces {
		pieces[i] = "tok "
	}
	m := &fakeModel{pieces: pieces, delay: 2 * time.Millisecond}
	url := serve(t, m)
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"x","stream":true,"max_tokens":500}`))
	if err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(resp.Body).ReadString('\n')
	resp.Body.Close()
	time.Sleep(300 * time.Millisecond)
	n := m.emitted.Load()
	time.Sleep(200 * time.Millisecond)
	if m.emitted.Load() != n || n >= 500 {
		t.Errorf("generation went on after the client left: %d then %d tokens", n, m.emitted.Load())
	}
}

func TestStopperAndSplitter(t *testing.T) {
	s := stopper{stops: []string{"abc"}}
	var got string
	for _, p := range []string{"xa", "b", "xab", "cz"} {
		e, stopped := s.push(p)
		got += e
		if stopped {
			break
		}
	}
	if got != "xabx" { // "a" and "ab" are held back while they could still start "abc"
		t.Errorf("stopper emitted %q, want %q", got, "xabx")
	}
	ts := newThinkSplitter(false)
	r1, c1 := ts.push("  <")
	r2, c2 := ts.push("think>a</think>b")
	if r1+r2 != "a" || c1+c2 != "b" {
		t.Errorf("split %q %q", r1+r2, c1+c2)
	}
}

func FuzzChatRequest(f *testing.F) {
	f.Add(`{"messages":[{"role":"user","content":"hi"}],"temperature":0.5,"stop":["x"],"logit_bias":{"1":2}}`)
	f.Add(`{"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"max_tokens":3}`)
	f.Fuzz(func(t *testing.T, body string) {
		var req chatRequest
		if decodeJSON([]byte(body), &req) != nil {
			return
		}
		g, e := req.validate(16, 1000, func() uint64 { return 1 })
		if e != nil {
			if e.Status != 400 {
				t.Fatalf("validation error with status %d", e.Status)
			}
			return
		}
		if g.maxTokens < 1 || g.sampling.Temperature < 0 || len(g.stop) > 4 {
			t.Fatalf("invalid parameters passed validation: %+v", g)
		}
		for i := range req.Messages {
			req.Messages[i].text(i)
		}
	})
}
