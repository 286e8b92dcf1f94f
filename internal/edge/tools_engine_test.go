package edge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// withTemplate serves an engine under another chat template.
type withTemplate struct {
	*engine.Engine
	template string
}

func (w withTemplate) Info() engine.ModelInfo {
	info := w.Engine.Info()
	info.ChatTemplate = w.template
	return info
}

// e2eSchemas are the tools' parameters in the end-to-end test: bounded, so that random weights finish.
var e2eSchemas = map[string]string{
	"get_weather": `{"type":"object","properties":{"city":{"enum":["Paris","Rome","Tokyo"]},"unit":{"enum":["c","f"]},` +
		`"days":{"type":"boolean"},"note":{"type":"string","maxLength":6}},"required":["city","unit"],"additionalProperties":false}`,
	"get_time": `{"type":"object","properties":{"tz":{"enum":["UTC","CET"]}},"required":["tz"],"additionalProperties":false}`,
}

// checkArgs validates arguments against one of e2eSchemas, independently of guest/constraint: an object
// with only the listed properties, the required ones present, enums, booleans and maxLength kept.
func checkArgs(name, args string) error {
	var schema struct {
		Properties map[string]struct {
			Enum      []any  `json:"enum"`
			Type      string `json:"type"`
			MaxLength int    `json:"maxLength"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	src, ok := e2eSchemas[name]
	if !ok {
		return fmt.Errorf("no function %q", name)
	}
	json.Unmarshal([]byte(src), &schema)
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(args)))
	if err := dec.Decode(&v); err != nil || dec.More() {
		return fmt.Errorf("arguments %q are no JSON object: %v", args, err)
	}
	for _, r := range schema.Required {
		if _, ok := v[r]; !ok {
			return fmt.Errorf("arguments %q lack %q", args, r)
		}
	}
	for k, x := range v {
		p, ok := schema.Properties[k]
		switch {
		case !ok:
			return fmt.Errorf("arguments %q: property %q is not in the schema", args, k)
		case p.Enum != nil && !slices.Contains(p.Enum, x):
			return fmt.Errorf("arguments %q: %q is not one of %v", args, k, p.Enum)
		case p.Type == "boolean":
			if _, ok := x.(bool); !ok {
				return fmt.Errorf("arguments %q: %q is no boolean", args, k)
			}
		case p.Type == "string":
			if s, ok := x.(string); !ok || utf8.RuneCountInString(s) > p.MaxLength {
				return fmt.Errorf("arguments %q: %q is no string of at most %d characters", args, k, p.MaxLength)
			}
		}
	}
	return nil
}

// testToolsRealEngine runs tool_choice "required" and a named function on the random-weight model with
// Qwen2.5's template (the default model's): every call parses, names a tool (the named one when named)
// and has arguments valid against its schema; the answer is calls only; a stream reassembles to the
// whole answer of the same seed.
func testToolsRealEngine(t *testing.T, e *engine.Engine, template string) {
	s := newTestServer(withTemplate{e, template})
	var tools []string
	for _, name := range []string{"get_weather", "get_time"} {
		tools = append(tools, `{"type":"function","function":{"name":"`+name+`","parameters":`+e2eSchemas[name]+`}}`)
	}
	base := `"messages":[{"role":"user","content":"Weather in Paris?"}],"max_tokens":200,"tools":[` + tools[0] + `,` + tools[1] + `]`
	cases := []struct {
		choice   string
		seed     int
		one      string // the function of the only call; "" for any number of any
		parallel string
	}{
		{`{"type":"function","function":{"name":"get_weather"}}`, 1, "get_weather", ""},
		{`{"type":"function","function":{"name":"get_time"}}`, 2, "get_time", ""},
		{`"required"`, 3, "", ""},
		{`"required"`, 4, "", ""},
		{`"required"`, 5, "*", `,"parallel_tool_calls":false`},
	}
	for _, c := range cases {
		body := fmt.Sprintf(`{%s,"tool_choice":%s,"seed":%d%s`, base, c.choice, c.seed, c.parallel)
		msg, finish := wholeToolAnswer(t, post(s, "/v1/chat/completions", body+`}`))
		if msg.Content != nil || len(msg.ToolCalls) == 0 {
			t.Errorf("%s: content %v, %d calls", body, msg.Content, len(msg.ToolCalls))
		}
		if c.one != "" && (len(msg.ToolCalls) != 1 || finish != "tool_calls") {
			t.Errorf("%s: %d calls, finish %s; want one call", body, len(msg.ToolCalls), finish)
		}
		for _, call := range msg.ToolCalls {
			if c.one != "" && c.one != "*" && call.Function.Name != c.one {
				t.Errorf("%s: call of %q", body, call.Function.Name)
			}
			if err := checkArgs(call.Function.Name, call.Function.Arguments); err != nil {
				t.Errorf("%s: %v", body, err)
			}
		}
		smsg, sfinish := streamedToolAnswer(t, post(s, "/v1/chat/completions", body+`,"stream":true}`))
		if w, st := callsOf("", msg), callsOf("", smsg); w != st || smsg.Content != nil || finish != sfinish {
			t.Errorf("%s: streamed %s (%s), whole %s (%s)", body, st, sfinish, w, finish)
		}
	}
}
