package edge

import (
	"strings"
	"testing"
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
