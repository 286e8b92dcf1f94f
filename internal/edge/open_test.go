package edge

import (
	"fmt"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// TestSharedRequestErrors sends the same bad input to both generating endpoints. Up to the prompt they
// take one path (open), so each error must be the one OpenAI's rules ask for (status, param, type, code)
// and byte for byte the same body on both. Errors found before the endpoint's own fields are checked must
// also win over a bad field of the endpoint's own (chat's tools, completions' suffix).
func TestSharedRequestErrors(t *testing.T) {
	plugins, _ := newPluginServer(&fakeModel{pieces: []string{"x"}}) // runs the plugin "good"
	plain := newTestServer(&fakeModel{pieces: []string{"x"}})        // runs no plugins; vocabulary of 1000
	endpoints := []struct{ path, good, own string }{
		{"/v1/chat/completions", hi, `"tools":[{"type":"function","function":{"name":"f"}}]`},
		{"/v1/completions", `"prompt":"x"`, `"suffix":"y"`},
	}
	cases := []struct {
		s      *Server
		whole  string // the whole body; "" : fields, added to each endpoint's good request
		fields string
		status int
		param  string // "" : null
		code   string // "" : null
		early  bool   // found before the endpoint's own fields are checked
	}{
		{s: plain, whole: `{`, status: 400},
		{s: plain, whole: ` `, status: 400},
		{s: plain, whole: `[]`, status: 400},
		{s: plain, whole: `"x"`, status: 400},
		{s: plain, fields: `"model":7`, status: 400, param: "model", early: true},
		{s: plain, fields: `"model":"gpt-9"`, status: 404, param: "model", code: "model_not_found", early: true},
		{s: plain, fields: `"model":"gpt-9","temperature":-1`, status: 404, param: "model", code: "model_not_found", early: true},
		{s: plain, fields: `"temperature":-1`, status: 400, param: "temperature", early: true},
		{s: plain, fields: `"temperature":"hot"`, status: 400, param: "temperature", early: true},
		{s: plain, fields: `"top_p":1.5`, status: 400, param: "top_p", early: true},
		{s: plain, fields: `"top_k":-2`, status: 400, param: "top_k", early: true},
		{s: plain, fields: `"min_p":-0.5`, status: 400, param: "min_p", early: true},
		{s: plain, fields: `"presence_penalty":2.5`, status: 400, param: "presence_penalty", early: true},
		{s: plain, fields: `"frequency_penalty":-3`, status: 400, param: "frequency_penalty", early: true},
		{s: plain, fields: `"repeat_penalty":0`, status: 400, param: "repeat_penalty", early: true},
		{s: plain, fields: `"repetition_penalty":11`, status: 400, param: "repetition_penalty", early: true},
		{s: plain, fields: fmt.Sprintf(`"n":%d`, engine.MaxChoices+1), status: 400, param: "n", early: true},
		{s: plain, fields: `"n":0`, status: 400, param: "n", early: true},
		{s: plain, fields: `"max_tokens":0`, status: 400, param: "max_tokens", early: true},
		{s: plain, fields: `"max_completion_tokens":-1`, status: 400, param: "max_completion_tokens", early: true},
		{s: plain, fields: `"logit_bias":{"1000":1}`, status: 400, param: "logit_bias", early: true},
		{s: plain, fields: `"logit_bias":{"5":-101}`, status: 400, param: "logit_bias", early: true},
		{s: plain, fields: `"logprobs":21`, status: 400, param: "logprobs", early: true},
		{s: plain, fields: `"logprobs":"yes"`, status: 400, param: "logprobs", early: true},
		{s: plain, fields: `"top_logprobs":2`, status: 400, param: "top_logprobs", early: true},
		{s: plain, fields: `"logprobs":true,"top_logprobs":21`, status: 400, param: "top_logprobs", early: true},
		{s: plain, fields: `"stop":3`, status: 400, param: "stop", early: true},
		{s: plain, fields: `"stop":["a","b","c","d","e"]`, status: 400, param: "stop", early: true},
		{s: plain, fields: `"stream":"yes"`, status: 400, param: "stream", early: true},
		{s: plain, fields: `"stream_options":{"include_usage":true}`, status: 400, param: "stream_options", early: true},
		{s: plain, fields: `"seed":"x"`, status: 400, param: "seed", early: true},
		{s: plain, fields: `"cache_prompt":"no"`, status: 400, param: "cache_prompt", early: true},
		{s: plain, fields: `"plugin":7`, status: 400, param: "plugin", early: true},
		{s: plugins, fields: `"plugin_config":{"a":1}`, status: 400, param: "plugin_config", early: true},
		{s: plugins, fields: `"temperature":-1,"plugin":"nope"`, status: 400, param: "temperature", early: true},
		{s: plugins, fields: `"plugin":"nope"`, status: 400, param: "plugin"},
		{s: plain, fields: `"plugin":"good"`, status: 400, param: "plugin"},
	}
	for _, c := range cases {
		type request struct{ path, body string }
		var requests []request
		for _, ep := range endpoints {
			body := c.whole
			if body == "" {
				body = `{` + ep.good + `,` + c.fields + `}`
			}
			requests = append(requests, request{ep.path, body})
			if c.early {
				requests = append(requests, request{ep.path, `{` + ep.good + `,` + c.fields + `,` + ep.own + `}`})
			}
		}
		var first []byte
		for i, q := range requests {
			r := post(c.s, q.path, q.body)
			e := r.apiErr(t, c.status)
			if deref(e.Param) != c.param || deref(e.Code) != c.code || e.Type != typeInvalidRequest {
				t.Errorf("%s %s: param %q code %q type %q; want param %q code %q type %q (%s)", q.path, q.body,
					deref(e.Param), deref(e.Code), e.Type, c.param, c.code, typeInvalidRequest, e.Message)
			}
			if i == 0 {
				first = r.body
			} else if string(r.body) != string(first) {
				t.Errorf("%s %s: %s\nwhile %s %s: %s", q.path, q.body, r.body, requests[0].path, requests[0].body, first)
			}
		}
	}
}

// deref is the string p points to, or "" for nil (JSON null).
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
