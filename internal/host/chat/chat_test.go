package chat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

func TestPlain(t *testing.T) {
	got, err := Render("", greeting, Options{AddGenerationPrompt: true, BOSToken: bos})
	if err != nil {
		t.Fatal(err)
	}
	want := "system: You are helpful.\n\nuser: Hi\n\nassistant: <think>\nThe user greets me.\n</think>\n\nHello!\n\nuser: 2+2?\n\nassistant:"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := Plain(greeting[1:2], false); got != "user: Hi\n\n" {
		t.Errorf("without generation prompt: %q", got)
	}
}

func TestOpensThinking(t *testing.T) {
	for p, want := range map[string]bool{
		"x<｜Assistant｜><think>\n": true, "x<think>": true, "x<think> \r\n": true,
		"x<think>\n</think>": false, "x<think></think>": false, "x": false, "": false,
	} {
		if OpensThinking(p) != want {
			t.Errorf("OpensThinking(%q) != %v", p, want)
		}
	}
}

// TestGlobals checks the globals chat templates use besides the messages.
func TestGlobals(t *testing.T) {
	cases := []struct{ tmpl, want string }{
		{"{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}", "4"},
		{"{{ messages[2]['content'].split('</think>')[-1].strip() }}", "Hello!"},
		{"{{ messages[-1].content }}|{{ messages | length }}|{{ bos_token }}|{{ eos_token }}", "2+2?|4|<s>|</s>"},
		{"{% for i in range(3) %}{{ i }}{% endfor %}{% for i in range(5, 0, -2) %}{{ i }}{% endfor %}", "012531"},
		{"{% if add_generation_prompt %}yes{% endif %}{{ enable_thinking }}", "yesTrue"},
		{"{{ strftime_now('%Y') }}", strconv.Itoa(time.Now().Year())},
		{"{{ messages[0].tool_calls is defined }}/{{ messages[0]['content'] is none }}", "False/False"},
	}
	for _, c := range cases {
		got, err := Render(c.tmpl, greeting, Options{AddGenerationPrompt: true, BOSToken: "<s>", EOSToken: "</s>"})
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.tmpl, got, err, c.want)
		}
	}
}

func TestMessageFields(t *testing.T) {
	msgs := []Message{
		{Role: "assistant", ReasoningContent: "r", Name: "bot", ToolCalls: []ToolCall{{ID: "c1", Type: "function", Function: FunctionCall{Name: "f", Arguments: "{}"}}}},
		{Role: "tool", ToolCallID: "c1", Content: "out"},
	}
	tmpl := "{% for m in messages %}{{ m | tojson }};{% endfor %}"
	got, err := Render(tmpl, msgs, Options{})
	want := `{"role": "assistant", "content": null, "reasoning_content": "r", "name": "bot", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]};` +
		`{"role": "tool", "content": "out", "tool_call_id": "c1"};`
	if err != nil || got != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
}

func TestVars(t *testing.T) {
	vars := map[string]any{
		"raw":   json.RawMessage(`{"z": 1, "a": [2.5, true, null, "s"], "m": {"y": -3}}`),
		"plain": map[string]any{"z": 1, "a": "b"},
		"n":     7,
	}
	got, err := Render("{{ raw | tojson }}|{{ plain | tojson }}|{{ raw.z + n }}", nil, Options{Vars: vars})
	want := `{"z": 1, "a": [2.5, true, null, "s"], "m": {"y": -3}}|{"a": "b", "z": 1}|8`
	if err != nil || got != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
	// The conversation and the special tokens cannot be replaced by a variable.
	got, err = Render("{{ messages | length }}{{ bos_token }}", greeting[:1], Options{BOSToken: "B", Vars: map[string]any{"messages": 5, "bos_token": "X"}})
	if err != nil || got != "1B" {
		t.Errorf("variables override the conversation: %q, %v", got, err)
	}
	for _, bad := range []any{json.RawMessage(`{"a":`), json.RawMessage(`1 2`), struct{}{}} {
		if _, err := Render("x", nil, Options{Vars: map[string]any{"v": bad}}); !errors.Is(err, ErrTemplate) {
			t.Errorf("variable %v: error %v, want ErrTemplate", bad, err)
		}
	}
}

// TestErrors checks that broken templates and template exceptions come back as errors, never as panics.
func TestErrors(t *testing.T) {
	for _, bad := range []string{
		"{% for %}",
		"{% if x %}",
		"{{ raise_exception('Conversation roles must alternate user/assistant') }}",
		"{{ messages[0]['content'] | nosuchfilter }}",
		"{{ nosuchfunction() }}",
		"{{ 'a' * -1 }}",                           // strings.Repeat panics inside the library
		"{{ messages | tojson(separators=[1]) }}",  // json.dumps cannot use them either
		"{% for i in range(200000) %}{% endfor %}", // more than range allows
		"{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
		"{{ range(1.5) }}",
		"{{ range(1, 2, 0) }}",
	} {
		_, err := Render(bad, greeting, Options{})
		if !errors.Is(err, ErrTemplate) {
			t.Errorf("%s: error %v, want ErrTemplate", bad, err)
		}
	}
	_, err := Render("{{ raise_exception('roles must alternate') }}", greeting, Options{})
	if err == nil || !strings.Contains(err.Error(), "roles must alternate") {
		t.Errorf("raise_exception message lost: %v", err)
	}
}

// FuzzRender renders arbitrary template text: it must return an output or an error, never panic.
// Templates that can recurse (macros, recursive loops) or repeat strings (*, indent) are skipped: they
// can exhaust the process in Jinja too (see the package doc).
func FuzzRender(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(testutil.Root(), "testdata", "templates", "*.jinja"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "a</think>b")
	}
	f.Add("{% set ns = namespace(x=1) %}{% for m in messages %}{{ m['content'].split('</think>')[-1] }}{% endfor %}", "hi")
	f.Add("{{ raise_exception('no') }}{{ range(3) | tojson }}", "")
	f.Fuzz(func(t *testing.T, tmpl, content string) {
		for _, s := range []string{"macro", "recursive", "*", "indent"} {
			if strings.Contains(tmpl, s) {
				t.Skip()
			}
		}
		msgs := []Message{{Role: "system", Content: content}, {Role: "user", Content: content},
			{Role: "assistant", ToolCalls: []ToolCall{{Function: FunctionCall{Name: content, Arguments: content}}}},
			{Role: "tool", Content: content}}
		out, err := Render(tmpl, msgs, Options{AddGenerationPrompt: true, BOSToken: bos, Vars: map[string]any{"tools": json.RawMessage(weatherTool)}})
		if err != nil && out != "" {
			t.Fatalf("output %q with error %v", out, err)
		}
	})
}
