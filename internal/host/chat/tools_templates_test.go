package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// toolCase is one conversation of testdata/tools/cases.json, in the OpenAI request shape.
type toolCase struct {
	Name     string `json:"name"`
	Template string `json:"template"`
	Messages []struct {
		Role       string  `json:"role"`
		Content    *string `json:"content"`
		ToolCallID string  `json:"tool_call_id"`
		ToolCalls  []struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Tools    json.RawMessage            `json:"tools"`
	BOSToken string                     `json:"bos_token"`
	Vars     map[string]json.RawMessage `json:"vars"`
}

// TestToolTemplates renders conversations with tools, tool calls and tool results through the real chat
// templates of Qwen2.5, Llama 3.1/3.2/3.3 and DeepSeek-R1 and compares them byte for byte with
// testdata/tools/expected.json, which render.py wrote with Python's Jinja2 as transformers sets it up
// (a template's raise_exception is expected as an error).
func TestToolTemplates(t *testing.T) {
	dir := filepath.Join("testdata", "tools")
	var cases []toolCase
	var want map[string]string
	for name, v := range map[string]any{"cases.json": &cases, "expected.json": &want} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	if len(cases) < 50 || len(want) != len(cases) {
		t.Fatalf("%d cases, %d expected prompts", len(cases), len(want))
	}
	templates := map[string]*Template{}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			tmpl := templates[c.Template]
			if tmpl == nil {
				var err error
				if tmpl, err = Compile(readTemplate(t, c.Template)); err != nil {
					t.Fatal(err)
				}
				templates[c.Template] = tmpl
			}
			// transformers passes no enable_thinking: templates read it as false.
			opts := Options{AddGenerationPrompt: true, BOSToken: c.BOSToken, EnableThinking: &off, Vars: map[string]any{}}
			for k, v := range c.Vars {
				opts.Vars[k] = v
			}
			if c.Tools != nil {
				opts.Vars["tools"] = c.Tools
			}
			var msgs []Message
			for _, m := range c.Messages {
				msg := Message{Role: m.Role, ToolCallID: m.ToolCallID}
				if m.Content != nil {
					msg.Content = *m.Content
				}
				for _, tc := range m.ToolCalls {
					msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: tc.ID, Type: tc.Type,
						Function: FunctionCall{Name: tc.Function.Name, Arguments: tc.Function.Arguments}})
				}
				msgs = append(msgs, msg)
			}
			got, err := tmpl.Render(msgs, opts)
			exp := want[c.Name]
			if msg, isErr := strings.CutPrefix(exp, "error: "); isErr {
				if err == nil || !strings.Contains(err.Error(), msg) {
					t.Fatalf("got %q, %v; want the error %q", got, err, msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != exp {
				t.Errorf("\n got %q\nwant %q", got, exp)
			}
		})
	}
}
