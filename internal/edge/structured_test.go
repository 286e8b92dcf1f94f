package edge

import (
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// TestResponseFormatSchemaChecked: a schema guest/constraint refuses is a 400 invalid_request_error on
// response_format.json_schema.schema naming the keyword and its JSON pointer, before any generation;
// a schema it takes (recursive $ref, allOf, bounds) reaches the built-in policy.
func TestResponseFormatSchemaChecked(t *testing.T) {
	format := func(schema string) string {
		return `{` + hi + `,"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":` + schema + `}}}`
	}
	for _, c := range []struct{ schema, want string }{
		{`{"type":"object","properties":{"a":{"not":{"type":"null"}}}}`, `JSON Schema at #/properties/a/not: unsupported keyword "not"`},
		{`{"$defs":{"x":{"if":{}}},"type":"array","items":{"$ref":"#/$defs/x"}}`, `#/$defs/x/if: unsupported keyword "if"`},
		{`{"$ref":"https://example.com/s.json"}`, `#/$ref: $ref "https://example.com/s.json": only references into this schema`},
		{`{"type":"array","uniqueItems":true}`, `#/uniqueItems`},
		{`{"type":"string","minLength":3,"maxLength":2}`, `no JSON value satisfies`},
		{`{"type":"object","properties":{"a":{"$ref":"#"}},"required":["a"]}`, `no JSON value satisfies`},
	} {
		s, m := newPluginServer(&fakeModel{pieces: []string{"x"}})
		e := post(s, "/v1/chat/completions", format(c.schema)).apiErr(t, 400)
		if e.Type != typeInvalidRequest || e.Param == nil || *e.Param != "response_format.json_schema.schema" || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: %+v (param %v), want invalid_request_error on response_format.json_schema.schema with %q", c.schema, e, e.Param, c.want)
		}
		if m.lastRequest().Policy != nil {
			t.Errorf("%s: a generation ran", c.schema)
		}
	}
	schema := `{"$defs":{"Node":{"type":"object","properties":{"v":{"type":"integer","minimum":0},"kids":{"type":"array","items":{"$ref":"#/$defs/Node"}}},"required":["v"]}},"allOf":[{"$ref":"#/$defs/Node"}],"description":"a tree"}`
	s, m := newPluginServer(&fakeModel{pieces: []string{"x"}})
	if r := post(s, "/v1/chat/completions", format(schema)); r.status != 200 {
		t.Fatalf("%s: %d %s", schema, r.status, r.body)
	}
	if req := m.lastRequest(); req.Policy == nil || !sameJSON(t, req.PolicyConfig, `{"json_schema":`+schema+`}`) {
		t.Errorf("policy %p config %s", req.Policy, req.PolicyConfig)
	}
}

// TestCompletionResponseFormat: /v1/completions takes response_format as vLLM does: a schema, or any
// object, runs the built-in plugin with the schema in its config (no thinking budget: the prompt is the
// client's); "text" is none; a bad schema, or a schema beside a grammar or another plugin, is a 400 on
// the field that conflicts.
func TestCompletionResponseFormat(t *testing.T) {
	schema := `{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}`
	for _, c := range []struct{ format, config string }{
		{`{"type":"json_schema","json_schema":{"name":"n","schema":` + schema + `}}`, `{"json_schema":` + schema + `}`},
		{`{"type":"json_object"}`, `{"json_schema":{"type":"object"}}`},
		{`{"type":"text"}`, ""},
	} {
		s, m := newPluginServer(&fakeModel{pieces: []string{"x"}})
		body := `{"prompt":"Hi","response_format":` + c.format + `}`
		if r := post(s, "/v1/completions", body); r.status != 200 {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
		req := m.lastRequest()
		switch {
		case c.config == "" && req.Policy != nil:
			t.Errorf("%s: plugin %p", body, req.Policy)
		case c.config != "" && (req.Policy != m.policies[engine.BuiltinPolicy] || !sameJSON(t, req.PolicyConfig, c.config)):
			t.Errorf("%s: policy %p config %s, want the built-in one with %s", body, req.Policy, req.PolicyConfig, c.config)
		}
	}
	s, _ := newPluginServer(&fakeModel{pieces: []string{"x"}})
	for _, c := range []struct{ body, param, want string }{
		{`{"prompt":"x","response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"array","uniqueItems":true}}}}`,
			"response_format.json_schema.schema", "#/uniqueItems"},
		{`{"prompt":"x","response_format":{"type":"xml"}}`, "response_format.type", `got "xml"`},
		{`{"prompt":"x","grammar":"root ::= \"{}\"","response_format":{"type":"json_object"}}`, "grammar", "one constraint at most"},
		{`{"prompt":"x","plugin":"good","response_format":{"type":"json_object"}}`, "response_format", `plugin "good"`},
	} {
		e := post(s, "/v1/completions", c.body).apiErr(t, 400)
		if e.Type != typeInvalidRequest || e.Param == nil || *e.Param != c.param || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: %+v (param %v), want invalid_request_error on %s with %q", c.body, e, e.Param, c.param, c.want)
		}
	}
}
