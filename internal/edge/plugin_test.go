package edge

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// newPluginServer serves a plugin-running fake with the plugins "good" and the built-in one.
func newPluginServer(f *fakeModel) (*Server, *pluginModel) {
	m := &pluginModel{fakeModel: f, policies: map[string]*wasm.Policy{"good": {}, engine.BuiltinPolicy: {}}}
	return newTestServer(m), m
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("not JSON: %q", got)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q", want)
	}
	return reflect.DeepEqual(g, w)
}

func TestPluginRequest(t *testing.T) {
	s, m := newPluginServer(&fakeModel{pieces: []string{"x"}})
	for _, path := range []string{"/v1/chat/completions", "/v1/completions"} {
		prompt := hi
		if path == "/v1/completions" {
			prompt = `"prompt":"Hi"`
		}
		for _, c := range []struct {
			extra, config string
			json          bool // config is JSON text to compare by value
		}{
			{`"plugin":"good","plugin_config":{"a": [1, 2.5, "x"], "b": null}`, `{"a":[1,2.5,"x"],"b":null}`, true},
			{`"plugin":"good","plugin_config":"raw \"text\"\n"`, "raw \"text\"\n", false},
			{`"plugin":"good","plugin_config":42`, `42`, false},
			{`"plugin":"good"`, "", false},
			{`"plugin":"good","plugin_config":null`, "", false},
		} {
			if r := post(s, path, `{`+prompt+`,`+c.extra+`}`); r.status != 200 {
				t.Fatalf("%s %s: %d %s", path, c.extra, r.status, r.body)
			}
			req := m.lastRequest()
			if req.Policy != m.policies["good"] {
				t.Errorf("%s %s: policy %p, want the plugin %p", path, c.extra, req.Policy, m.policies["good"])
			}
			if c.json && !sameJSON(t, req.PolicyConfig, c.config) || !c.json && string(req.PolicyConfig) != c.config {
				t.Errorf("%s %s: config %q, want %q", path, c.extra, req.PolicyConfig, c.config)
			}
		}
		if post(s, path, `{`+prompt+`}`); m.lastRequest().Policy != nil || m.lastRequest().PolicyConfig != nil {
			t.Errorf("%s: a plugin without asking: %+v", path, m.lastRequest())
		}
	}
}

func TestPluginBadRequests(t *testing.T) {
	s, _ := newPluginServer(&fakeModel{pieces: []string{"x"}})
	plain := newTestServer(&fakeModel{pieces: []string{"x"}})
	schema := `"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object"}}}`
	cases := []struct {
		s           *Server
		path, body  string
		param, want string // want: in the message
	}{
		{s, "/v1/chat/completions", `{` + hi + `,"plugin":"nope"}`, "plugin", `"nope"`},
		{s, "/v1/completions", `{"prompt":"x","plugin":"nope"}`, "plugin", `"nope"`},
		{plain, "/v1/chat/completions", `{` + hi + `,"plugin":"good"}`, "plugin", `"good"`},
		{plain, "/v1/completions", `{"prompt":"x","plugin":"good"}`, "plugin", `"good"`},
		{s, "/v1/completions", `{"prompt":"x","plugin_config":{"a":1}}`, "plugin_config", "plugin"},
		{s, "/v1/chat/completions", `{` + hi + `,"plugin_config":"x"}`, "plugin_config", "plugin"},
		{s, "/v1/chat/completions", `{` + hi + `,"plugin":7}`, "plugin", "string"},
		{s, "/v1/chat/completions", `{` + hi + `,"plugin":"good",` + schema + `}`, "response_format", `"good"`},
		{s, "/v1/chat/completions", `{` + hi + `,"response_format":{"type":"json_schema"}}`, "response_format.json_schema", "json_schema"},
		{s, "/v1/chat/completions", `{` + hi + `,"response_format":{"type":"json_schema","json_schema":{"name":"n"}}}`, "response_format.json_schema.schema", "schema"},
		{s, "/v1/chat/completions", `{` + hi + `,"response_format":{"type":"json_schema","json_schema":{"schema":[1]}}}`, "response_format.json_schema.schema", "schema"},
		{s, "/v1/chat/completions", `{` + hi + `,"response_format":{"type":"yaml"}}`, "response_format.type", `"yaml"`},
		{plain, "/v1/chat/completions", `{` + hi + `,` + schema + `}`, "response_format", "plugins"},
	}
	for _, c := range cases {
		e := post(c.s, c.path, c.body).apiErr(t, 400)
		if e.Param == nil || *e.Param != c.param || !strings.Contains(e.Message, c.want) || e.Type != typeInvalidRequest {
			t.Errorf("%s: param %v type %q message %q; want param %q and %q in the message", c.body, e.Param, e.Type, e.Message, c.param, c.want)
		}
	}
}

func TestResponseFormat(t *testing.T) {
	schema := `{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`
	for _, c := range []struct {
		template, format string
		maxTokens        string
		config           string // "": no plugin
	}{
		{"", `{"type":"json_schema","json_schema":{"name":"n","strict":true,"schema":` + schema + `}}`, "", `{"json_schema":` + schema + `}`},
		{"", `{"type":"json_object"}`, "", `{"json_schema":{"type":"object"}}`},
		{"", `{"type":"text"}`, "", ""},
		{"", `null`, "", ""},
		// A prompt that opens a thinking block: the schema holds after it, the budget is the request's limit.
		{"<think>\n", `{"type":"json_object"}`, `,"max_tokens":77`, `{"json_schema":{"type":"object"},"think_budget":77}`},
		{"<think>\n", `{"type":"json_object"}`, "", `{"json_schema":{"type":"object"},"think_budget":1024}`},
	} {
		s, m := newPluginServer(&fakeModel{info: engine.ModelInfo{ChatTemplate: c.template}, pieces: []string{"{}"}})
		body := `{` + hi + `,"response_format":` + c.format + c.maxTokens + `}`
		if r := post(s, "/v1/chat/completions", body); r.status != 200 {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
		req := m.lastRequest()
		switch {
		case c.config == "" && (req.Policy != nil || req.PolicyConfig != nil):
			t.Errorf("%s: plugin %p config %q", body, req.Policy, req.PolicyConfig)
		case c.config != "" && req.Policy != m.policies[engine.BuiltinPolicy]:
			t.Errorf("%s: policy %p, want the built-in one", body, req.Policy)
		case c.config != "" && !sameJSON(t, req.PolicyConfig, c.config):
			t.Errorf("%s: config %s, want %s", body, req.PolicyConfig, c.config)
		}
	}
}

// multi decodes a whole response with any number of choices.
func (r response) multi(t *testing.T) completion {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var c completion
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatalf("response %s: %v", r.body, err)
	}
	return c
}

// forked is what TestForks's choices should come to.
type forked struct{ reasoning, content, finish string }

func TestForks(t *testing.T) {
	// Three choices from the start (the prompt opens a thinking block); choice 1 reaches the stop string,
	// choice 3 never shows a token. Hidden tokens: the engine counts more than it emits.
	script := []engine.Piece{
		{Index: 0, Text: "r0"}, {Index: 1, Text: "r1"}, {Index: 0, Text: "</think>\n\nA0"}, {Index: 1, Text: "</think>B1 EN"},
		{Index: 0, Text: " more"}, {Index: 1, Text: "D tail"}, {Index: 1, Text: " dropped"}, {Index: 2, Text: "</think>C2 </th"},
		{Index: 0, Text: "</thi"},
	}
	choices := []engine.Choice{{FinishReason: engine.FinishLength}, {FinishReason: engine.FinishStop},
		{FinishReason: engine.FinishStop}, {FinishReason: engine.FinishLength}}
	want := []forked{{"r0", "A0 more</thi", "length"}, {"r1", "B1 ", "stop"}, {"", "C2 </th", "stop"}, {"", "", "length"}}
	m := &fakeModel{info: engine.ModelInfo{ChatTemplate: "<think>\n"}, script: script, choices: choices, completion: 15,
		finish: engine.FinishLength}
	s, _ := newPluginServer(m)
	body := `{` + hi + `,"plugin":"good","stop":"END"`

	c := post(s, "/v1/chat/completions", body+`}`).multi(t)
	if len(c.Choices) != len(want) {
		t.Fatalf("%d choices: %+v", len(c.Choices), c.Choices)
	}
	for i, w := range want {
		ch := c.Choices[i]
		if ch.Index != i || ch.Message == nil || ch.Message.ReasoningContent == nil || *ch.Message.ReasoningContent != w.reasoning ||
			ch.Message.Content != w.content || ch.FinishReason != w.finish {
			t.Errorf("choice %d: %+v %+v, want %+v", i, ch, ch.Message, w)
		}
	}
	if u := c.Usage; u.CompletionTokens != 15 || u.TotalTokens != u.PromptTokens+15 {
		t.Errorf("usage %+v", u)
	}

	r := post(s, "/v1/chat/completions", body+`,"stream":true,"stream_options":{"include_usage":true}}`)
	cs := r.chunks(t)
	got := make([]forked, len(want))
	roles, finishes := make([]int, len(want)), make([]int, len(want))
	for k, ch := range cs {
		if len(ch.Choices) == 0 {
			continue
		}
		if len(ch.Choices) != 1 || ch.Choices[0].Index < 0 || ch.Choices[0].Index >= len(want) {
			t.Fatalf("chunk %d: %+v", k, ch)
		}
		i, d := ch.Choices[0].Index, ch.Choices[0].Delta
		if d["role"] == "assistant" {
			roles[i]++
		} else if roles[i] == 0 || finishes[i] > 0 {
			t.Errorf("chunk %d of choice %d before its role chunk or after its finish: %+v", k, i, ch)
		}
		got[i].reasoning += d["reasoning_content"]
		got[i].content += d["content"]
		if f := ch.Choices[0].FinishReason; f != nil {
			got[i].finish = *f
			finishes[i]++
		}
	}
	for i := range want {
		if got[i] != want[i] || roles[i] != 1 || finishes[i] != 1 {
			t.Errorf("streamed choice %d: %+v (%d role chunks, %d finishes), want %+v", i, got[i], roles[i], finishes[i], want[i])
		}
	}
	// Choice 1 finishes at its stop string, before choice 2 has begun.
	if !strings.Contains(string(r.body), `"index":1,"delta":{},"logprobs":null,"finish_reason":"stop"`) ||
		strings.Index(string(r.body), `"index":1,"delta":{},`) > strings.Index(string(r.body), `"index":2,`) {
		t.Errorf("choice 1 does not finish at its stop string: %s", r.body)
	}
	if u := cs[len(cs)-1].Usage; u == nil || u.CompletionTokens != 15 {
		t.Errorf("usage %+v", u)
	}

	// Completions: one text per choice.
	cp := post(s, "/v1/completions", `{"prompt":"x","plugin":"good","stop":"END"}`).multi(t)
	texts := []string{"r0</think>\n\nA0 more</thi", "r1</think>B1 ", "</think>C2 </th", ""}
	for i, ch := range cp.Choices {
		if ch.Index != i || ch.Text == nil || *ch.Text != texts[i] || ch.FinishReason != want[i].finish {
			t.Errorf("completion choice %d: %+v, want %q", i, ch, texts[i])
		}
	}
	if len(cp.Choices) != len(texts) {
		t.Errorf("%d completion choices", len(cp.Choices))
	}
}

// TestForksAllStopped checks that the generation ends once every choice has reached a stop string.
func TestForksAllStopped(t *testing.T) {
	script := []engine.Piece{{Index: 0, Text: "a"}, {Index: 1, Text: "bX"}, {Index: 0, Text: "cX"}, {Index: 1, Text: "late"},
		{Index: 0, Text: "late"}}
	for _, stream := range []string{"false", "true"} {
		m := &fakeModel{script: script, ended: make(chan struct{})}
		s, _ := newPluginServer(m)
		r := post(s, "/v1/completions", `{"prompt":"x","plugin":"good","stop":"X","stream":`+stream+`}`)
		<-m.ended
		if n := m.emitted.Load(); n != 3 || m.emitErrs != 1 {
			t.Errorf("stream %s: %d pieces emitted, %d failed emits; want 3 and 1", stream, n, m.emitErrs)
		}
		if stream == "true" {
			cs := r.chunks(t)
			if len(cs) != 5 {
				t.Errorf("%d chunks: %s", len(cs), r.body)
			}
			continue
		}
		c := r.multi(t)
		if len(c.Choices) != 2 || *c.Choices[0].Text != "ac" || *c.Choices[1].Text != "b" ||
			c.Choices[0].FinishReason != "stop" || c.Choices[1].FinishReason != "stop" || c.Usage.CompletionTokens != 3 {
			t.Errorf("response %s", r.body)
		}
	}
}

// TestPluginFailure checks a plugin's failure at run time: a 400 plugin_error with the guest's log before
// the first byte, an error event after it; the same error without a plugin is the server's (500).
func TestPluginFailure(t *testing.T) {
	trap := &guestError{"wasm: ctl_step failed: wasm error: unreachable\nguest log (last 2 lines):\n[error] schema broke\n[info] bye"}
	for _, err := range []error{trap, &guestError{"engine: the policy forked past 16 sequences"}} {
		for _, path := range []string{"/v1/chat/completions", "/v1/completions"} {
			body := `{` + hi + `,"plugin":"good"`
			if path == "/v1/completions" {
				body = `{"prompt":"x","plugin":"good"`
			}
			s, _ := newPluginServer(&fakeModel{pieces: []string{"x"}, err: err})
			for _, stream := range []string{"false", "true"} {
				e := post(s, path, body+`,"stream":`+stream+`}`).apiErr(t, 400)
				if e.Type != typePlugin || e.Param == nil || *e.Param != "plugin" || e.Code == nil || *e.Code != "plugin_failed" ||
					!strings.Contains(e.Message, `plugin "good"`) || !strings.Contains(e.Message, err.Error()) {
					t.Errorf("%s stream %s: %+v", path, stream, e)
				}
			}
			// Mid-stream: an error event, then [DONE].
			s, _ = newPluginServer(&fakeModel{pieces: []string{"a", "b", "c"}, err: err, errAt: 2})
			cs := post(s, path, body+`,"stream":true}`).chunks(t)
			last := cs[len(cs)-1]
			if last.Error == nil || last.Error.Type != typePlugin || !strings.Contains(last.Error.Message, err.Error()) {
				t.Errorf("%s mid-stream: last chunk %+v", path, last)
			}
			post(s, path, body+`}`).apiErr(t, 400)
			// Without a plugin, a wasm error is the server's.
			e := post(newTestServer(&fakeModel{err: err}), path, strings.Replace(body, `,"plugin":"good"`, "", 1)+`}`).apiErr(t, 500)
			if strings.Contains(e.Message, "wasm") || strings.Contains(e.Message, "policy") {
				t.Errorf("internal error leaked: %+v", e)
			}
		}
	}
	// The built-in plugin of response_format fails under the name of that field.
	s, _ := newPluginServer(&fakeModel{err: trap})
	e := post(s, "/v1/chat/completions", `{`+hi+`,"response_format":{"type":"json_object"}}`).apiErr(t, 400)
	if e.Type != typePlugin || *e.Param != "response_format" || !strings.Contains(e.Message, `"wasmoe"`) {
		t.Errorf("response_format failure %+v", e)
	}
	// Engine errors keep their own status under a plugin.
	s, _ = newPluginServer(&fakeModel{err: engine.ErrOverloaded})
	post(s, "/v1/completions", `{"prompt":"x","plugin":"good"}`).apiErr(t, 503)
}

// guestError is an error as the engine returns it, by its text only.
type guestError struct{ msg string }

func (e *guestError) Error() string { return e.msg }
