package edge

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

func readTestTemplate(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.Root(), "testdata", "templates", name+".jinja"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const weatherTools = `"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now",` +
	`"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},` +
	`{"type":"function","function":{"name":"get_time"}}]`

// TestToolsValidation: each malformed tool-calling field is a 400 invalid_request_error naming it.
func TestToolsValidation(t *testing.T) {
	s := newTestServer(&fakeModel{info: engine.ModelInfo{ChatTemplate: readTestTemplate(t, "Qwen-Qwen2.5-7B-Instruct")}, pieces: []string{"ok"}})
	fn := func(name string) string {
		return `{"type":"function","function":{"name":"` + name + `"}}`
	}
	for _, c := range []struct{ body, param string }{
		{`"tools":{}`, "tools"},
		{`"tools":[{"type":"retrieval","function":{"name":"a"}}]`, "tools[0].type"},
		{`"tools":[{"type":"function"}]`, "tools[0].function"},
		{`"tools":[` + fn("a") + `,` + fn("has space") + `]`, "tools[1].function.name"},
		{`"tools":[` + fn("") + `]`, "tools[0].function.name"},
		{`"tools":[` + fn(strings.Repeat("x", 65)) + `]`, "tools[0].function.name"},
		{`"tools":[` + fn("a") + `,` + fn("a") + `]`, "tools[1].function.name"},
		{`"tools":[{"type":"function","function":{"name":"a","parameters":[]}}]`, "tools[0].function.parameters"},
		{`"tool_choice":"auto"`, "tool_choice"},
		{`"parallel_tool_calls":false`, "parallel_tool_calls"},
		{`"parallel_tool_calls":"yes",` + weatherTools, "parallel_tool_calls"},
		{weatherTools + `,"tool_choice":"sometimes"`, "tool_choice"},
		{weatherTools + `,"tool_choice":{"type":"function","function":{"name":"get_news"}}`, "tool_choice"},
		{weatherTools + `,"tool_choice":{"type":"function"}`, "tool_choice"},
		{weatherTools + `,"tool_choice":"required","response_format":{"type":"json_object"}`, "tool_choice"},
		{weatherTools + `,"tool_choice":"required","plugin":"p"`, "tool_choice"},
	} {
		e := post(s, "/v1/chat/completions", `{`+hi+`,`+c.body+`}`).apiErr(t, 400)
		if e.Param == nil || *e.Param != c.param || e.Type != "invalid_request_error" {
			t.Errorf("%s: %+v, want param %q", c.body, e, c.param)
		}
	}
	for _, c := range []struct{ msgs, param string }{
		{`[{"role":"tool","content":"18C"}]`, "messages[0].tool_call_id"},
		{`[{"role":"user","content":"w"},{"role":"assistant","tool_calls":[{"type":"function","function":{"arguments":"{}"}}]}]`, "messages[1].tool_calls[0].function.name"},
		{`[{"role":"user","content":"w"},{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{oops"}}]}]`, "messages[1].tool_calls[0].function.arguments"},
	} {
		e := post(s, "/v1/chat/completions", `{"messages":`+c.msgs+`}`).apiErr(t, 400)
		if e.Param == nil || *e.Param != c.param {
			t.Errorf("%s: %+v, want param %q", c.msgs, e, c.param)
		}
	}
	// A model whose template has no tool-call format refuses tools.
	plain := newTestServer(&fakeModel{pieces: []string{"ok"}})
	if e := post(plain, "/v1/chat/completions", `{`+hi+`,`+weatherTools+`}`).apiErr(t, 400); *e.Param != "tools" {
		t.Errorf("no template: %+v", e)
	}
}

// toolMessage is a chat message with tool calls, as a client reads it.
type toolMessage struct {
	Content   *string `json:"content"`
	ToolCalls []struct {
		Index    *int   `json:"index"` // streamed deltas only
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

// callsOf renders a message's text and calls for comparison, ids left out (they are random).
func callsOf(content string, m toolMessage) string {
	out := "content=" + content
	for _, c := range m.ToolCalls {
		out += "|" + c.Type + " " + c.Function.Name + " " + c.Function.Arguments
	}
	return out
}

// wholeToolAnswer reads a whole chat response's first choice: its message and finish reason.
func wholeToolAnswer(t *testing.T, r response) (toolMessage, string) {
	t.Helper()
	var v struct {
		Choices []struct {
			Message      toolMessage `json:"message"`
			FinishReason string      `json:"finish_reason"`
		} `json:"choices"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &v) != nil || len(v.Choices) != 1 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	for _, c := range v.Choices[0].Message.ToolCalls {
		if !strings.HasPrefix(c.ID, "call_") || c.Type != "function" {
			t.Errorf("call %+v", c)
		}
	}
	return v.Choices[0].Message, v.Choices[0].FinishReason
}

// streamedToolAnswer reassembles a stream's first choice as OpenAI's clients do: content deltas joined,
// tool_calls deltas merged by index (id, type and name from the first, arguments appended).
func streamedToolAnswer(t *testing.T, r response) (toolMessage, string) {
	t.Helper()
	var m toolMessage
	var content, finish string
	evs := r.events(t)
	for _, ev := range evs[:len(evs)-1] {
		var c struct {
			Choices []struct {
				Delta struct {
					Content *string `json:"content"`
					toolMessage
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(ev), &c); err != nil || len(c.Choices) != 1 {
			t.Fatalf("chunk %s: %v", ev, err)
		}
		d := c.Choices[0].Delta
		if d.Content != nil {
			content += *d.Content
		}
		for _, tc := range d.ToolCalls {
			switch {
			case tc.Index == nil || *tc.Index > len(m.ToolCalls):
				t.Fatalf("tool_calls delta without the next index: %s", ev)
			case *tc.Index == len(m.ToolCalls):
				if tc.ID == "" || tc.Type != "function" || tc.Function.Name == "" {
					t.Fatalf("a call's first delta lacks id, type or name: %s", ev)
				}
				m.ToolCalls = append(m.ToolCalls, tc)
			default:
				if tc.ID != "" || tc.Function.Name != "" {
					t.Fatalf("a later delta of a call repeats its id or name: %s", ev)
				}
				m.ToolCalls[*tc.Index].Function.Arguments += tc.Function.Arguments
			}
		}
		if c.Choices[0].FinishReason != nil {
			finish = *c.Choices[0].FinishReason
		}
	}
	if content != "" {
		m.Content = &content
	}
	return m, finish
}

// TestToolCallsOutput: a scripted answer in each family's format comes back as tool_calls with the text
// outside them as content, whole and streamed alike, and finish_reason "tool_calls"; with tool_choice
// "none" the same answer is text.
func TestToolCallsOutput(t *testing.T) {
	cases := []struct {
		template string
		pieces   []string
		want     string
	}{
		{"Qwen-Qwen2.5-7B-Instruct", []string{"Checking", ".\n<tool", "_call>\n{\"name\": \"get_weather\", ", "\"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
			"\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>"},
			`content=Checking.|function get_weather {"city": "Paris"}|function get_time {}`},
		{"meta-llama-Llama-3.1-8B-Instruct", []string{"{\"name\": \"get_weather\", \"param", "eters\": {\"city\": \"Rome\"}}"},
			`content=|function get_weather {"city": "Rome"}`},
		{"deepseek-ai-DeepSeek-R1-Distill-Llama-8B", []string{"Thinking done.</think>\n\nOK<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\":",
			" \"Oslo\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"}, `content=OK|function get_weather {"city": "Oslo"}`},
	}
	for _, c := range cases {
		m := &fakeModel{info: engine.ModelInfo{ChatTemplate: readTestTemplate(t, c.template), ContextLength: 4096}, pieces: c.pieces, finish: engine.FinishStop}
		s := newTestServer(m)
		body := `{` + hi + `,` + weatherTools
		msg, finish := wholeToolAnswer(t, post(s, "/v1/chat/completions", body+`}`))
		content := ""
		if msg.Content != nil {
			content = *msg.Content
		}
		if got := callsOf(content, msg); got != c.want || finish != "tool_calls" || (content == "") != (msg.Content == nil) {
			t.Errorf("%s: %s (finish %s, content %v), want %s", c.template, got, finish, msg.Content, c.want)
		}
		smsg, sfinish := streamedToolAnswer(t, post(s, "/v1/chat/completions", body+`,"stream":true}`))
		scontent := ""
		if smsg.Content != nil {
			scontent = *smsg.Content
		}
		if got := callsOf(scontent, smsg); got != c.want || sfinish != "tool_calls" {
			t.Errorf("%s streamed: %s (finish %s), want %s", c.template, got, sfinish, c.want)
		}
		// tool_choice "none": the calls are text.
		msg, finish = wholeToolAnswer(t, post(s, "/v1/chat/completions", body+`,"tool_choice":"none"}`))
		if len(msg.ToolCalls) != 0 || finish != "stop" || msg.Content == nil || !strings.HasSuffix(strings.Join(c.pieces, ""), *msg.Content) {
			t.Errorf("%s with none: %+v %s", c.template, msg, finish)
		}
	}
}

// markerModel is a fake model whose tokenizer reads DeepSeek's markers as control tokens 900…, which
// its script emits without text, as the detokenizer streams control tokens.
type markerModel struct{ *fakeModel }

var dsMarkers = []string{"<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>", "<｜tool▁sep｜>"}

func (m markerModel) Tokenize(ctx context.Context, text string, addBOS, special bool) ([]int32, error) {
	for i, mk := range dsMarkers {
		if text == mk {
			return []int32{900 + int32(i)}, nil
		}
	}
	return m.fakeModel.Tokenize(ctx, text, addBOS, special)
}

// TestToolCallsControlTokens: DeepSeek's markers arrive as control tokens with no text; the parser still
// reads the call (after the reasoning the template's prompt opened).
func TestToolCallsControlTokens(t *testing.T) {
	script := []engine.Piece{{Token: 4, Text: "</think>"}, {Token: 900}, {Token: 902}, {Token: 5, Text: "function"}, {Token: 904},
		{Token: 6, Text: "get_time\n```json\n{}\n```"}, {Token: 903}, {Token: 901}}
	m := &fakeModel{info: engine.ModelInfo{ChatTemplate: readTestTemplate(t, "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B")},
		script: script, choices: []engine.Choice{{FinishReason: engine.FinishStop}}}
	s := newTestServer(markerModel{m})
	msg, finish := wholeToolAnswer(t, post(s, "/v1/chat/completions", `{`+hi+`,`+weatherTools+`}`))
	if got := callsOf("", msg); got != "content=|function get_time {}" || finish != "tool_calls" {
		t.Errorf("%s, finish %s", got, finish)
	}
}
