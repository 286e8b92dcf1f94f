package edge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/wasmoe/wasmoe/internal/host/chat"
)

// toolRequest is a chat request's tool calling: OpenAI's tools, tool_choice and parallel_tool_calls.
type toolRequest struct {
	Tools             json.RawMessage `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`

	functions []function // the checked tools; nil when there are none
	choice    string     // "auto", "none", "required", or "function" (named: forced)
	forced    string     // the function tool_choice names
}

// function is one tool of a request.
type function struct {
	Name       string          `json:"name"`
	Parameters json.RawMessage `json:"parameters"`
}

// toolName is OpenAI's rule for function names.
var toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// noParameters is the schema of a function that declares no parameters: an empty object.
var noParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// absent reports whether a raw field is missing or null.
func absent(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// checkTools validates tools, tool_choice and parallel_tool_calls (each error names its field).
func (t *toolRequest) checkTools() *apiError {
	var tools []struct {
		Type     string `json:"type"`
		Function *struct {
			Name        string          `json:"name"`
			Description *string         `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
			Strict      *bool           `json:"strict"`
		} `json:"function"`
	}
	if !absent(t.Tools) {
		if err := json.Unmarshal(t.Tools, &tools); err != nil {
			return badRequest("tools", "tools must be an array of {\"type\": \"function\", \"function\": {...}} objects: %v", err)
		}
	}
	seen := map[string]bool{}
	for i, tool := range tools {
		param := fmt.Sprintf("tools[%d]", i)
		switch {
		case tool.Type != "function":
			return badRequest(param+".type", "tool type %q is not supported (only \"function\")", tool.Type)
		case tool.Function == nil:
			return badRequest(param+".function", "a tool of type \"function\" needs a function object")
		case !toolName.MatchString(tool.Function.Name):
			return badRequest(param+".function.name", "function name %q must be 1 to 64 letters, digits, '_' or '-'", tool.Function.Name)
		case seen[tool.Function.Name]:
			return badRequest(param+".function.name", "function name %q appears twice", tool.Function.Name)
		}
		seen[tool.Function.Name] = true
		params := bytes.TrimSpace(tool.Function.Parameters)
		switch {
		case absent(params):
			params = noParameters
		case params[0] != '{':
			return badRequest(param+".function.parameters", "parameters must be a JSON Schema object")
		}
		t.functions = append(t.functions, function{Name: tool.Function.Name, Parameters: params})
	}
	if len(tools) == 0 {
		switch {
		case !absent(t.ToolChoice):
			return badRequest("tool_choice", "tool_choice is only allowed when tools are given")
		case t.ParallelToolCalls != nil:
			return badRequest("parallel_tool_calls", "parallel_tool_calls is only allowed when tools are given")
		}
		return nil
	}
	return t.checkChoice(seen)
}

// checkChoice reads tool_choice: "auto" (the default), "none", "required", or a named function.
func (t *toolRequest) checkChoice(names map[string]bool) *apiError {
	t.choice = "auto"
	if absent(t.ToolChoice) {
		return nil
	}
	var s string
	if json.Unmarshal(t.ToolChoice, &s) == nil {
		switch s {
		case "auto", "none", "required":
			t.choice = s
			return nil
		}
		return badRequest("tool_choice", `tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name": ...}}, got %q`, s)
	}
	var named struct {
		Type     string `json:"type"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(t.ToolChoice, &named); err != nil || named.Type != "function" || named.Function == nil {
		return badRequest("tool_choice", `tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name": ...}}`)
	}
	if !names[named.Function.Name] {
		return badRequest("tool_choice", "tool_choice names function %q, which is not among the tools", named.Function.Name)
	}
	t.choice, t.forced = "function", named.Function.Name
	return nil
}

// constrained reports whether decoding must produce calls: tool_choice "required" or a named function.
func (t *toolRequest) constrained() bool { return t.choice == "required" || t.choice == "function" }

// parses reports whether the answer is read for calls: tools are given and tool_choice is not "none".
func (t *toolRequest) parses() bool { return len(t.functions) > 0 && t.choice != "none" }

// toolsConfig is the built-in policy's config that makes the answer calls in syntax: of the forced
// function, or of any (several when parallel_tool_calls is not false and the format holds several). As
// structuredConfig, it sets a thinking budget when the prompt leaves the model inside a thinking block.
func (t *toolRequest) toolsConfig(syntax chat.CallSyntax, opensThinking bool, budget int) []byte {
	type call struct {
		Prefix string          `json:"prefix"`
		Schema json.RawMessage `json:"schema"`
		Suffix string          `json:"suffix"`
	}
	cfg := struct {
		Begin string `json:"begin"`
		End   string `json:"end"`
		Sep   string `json:"sep"`
		Max   int    `json:"max"`
		Calls []call `json:"calls"`
	}{Begin: syntax.Begin, End: syntax.End, Sep: syntax.Sep, Max: syntax.Max}
	if t.choice == "function" || t.ParallelToolCalls != nil && !*t.ParallelToolCalls {
		cfg.Max = 1
	}
	for _, f := range t.functions {
		if t.choice == "function" && f.Name != t.forced {
			continue
		}
		cfg.Calls = append(cfg.Calls, call{Prefix: syntax.Prefix(f.Name), Schema: f.Parameters, Suffix: syntax.Suffix})
	}
	b, _ := json.Marshal(cfg) // strings and raw JSON the request checked
	out := append([]byte(`{"tool_calls":`), b...)
	if opensThinking {
		out = append(out, `,"think_budget":`...)
		out = strconv.AppendInt(out, int64(max(budget, 1)), 10)
	}
	return append(out, '}')
}

// controlTexts maps the ids of the format's control-token markers (DeepSeek's) to their text, which the
// parser needs and the detokenizer leaves out: each marker that the tokenizer reads as one token.
func (s *Server) controlTexts(sv *served, f chat.ToolFormat) (map[int32]string, *apiError) {
	var m map[int32]string
	for _, text := range f.ControlTexts() {
		ids, e := s.tokenize(sv, text, false, "tools")
		if e != nil {
			return nil, e
		}
		if len(ids) == 1 {
			if m == nil {
				m = map[int32]string{}
			}
			m[ids[0]] = text
		}
	}
	return m, nil
}
