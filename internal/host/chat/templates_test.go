package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

// The expected prompts below were worked out by hand from each template's text (testdata/templates) and
// deepseek-arch.md §9, with transformers' semantics: Jinja2 with trim_blocks and lstrip_blocks, Python's
// str.split, json.dumps(ensure_ascii=False) for tojson. They are not outputs of this package.

const (
	bos = "<｜begin▁of▁sentence｜>"
	eos = "<｜end▁of▁sentence｜>"
)

func readTemplate(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.Root(), "testdata", "templates", name+".jinja"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// greeting is a two-turn conversation whose earlier assistant turn kept its reasoning.
var greeting = []Message{
	{Role: "system", Content: "You are helpful."},
	{Role: "user", Content: "Hi"},
	{Role: "assistant", Content: "<think>\nThe user greets me.\n</think>\n\nHello!"},
	{Role: "user", Content: "2+2?"},
}

// toolUse calls two tools, reads both results and answers.
var toolUse = []Message{
	{Role: "user", Content: "Weather in Paris?"},
	{Role: "assistant", ToolCalls: []ToolCall{
		{ID: "c1", Function: FunctionCall{Name: "get_weather", Arguments: `{"city":"Paris"}`}},
		{ID: "c2", Function: FunctionCall{Name: "get_time", Arguments: `{"tz":"CET"}`}},
	}},
	{Role: "tool", ToolCallID: "c1", Content: "18C"},
	{Role: "tool", ToolCallID: "c2", Content: "14:00"},
	{Role: "assistant", Content: "It is 18C at 14:00."},
	{Role: "user", Content: "Thanks"},
}

// weatherTool is an OpenAI tool definition, as a client sends it.
const weatherTool = `[{"type":"function","function":{"name":"get_weather","description":"Get weather",` +
	`"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]`

var (
	on  = true
	off = false
)

func TestTemplates(t *testing.T) {
	cases := []struct {
		name, template string
		msgs           []Message
		opts           Options
		want           string
	}{
		// R1-Distill-Llama-8B: the last system message after BOS, reasoning cut from past turns, <think>\n opened.
		{"distill-llama/greeting", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B", greeting,
			Options{AddGenerationPrompt: true, BOSToken: bos},
			bos + "You are helpful.<｜User｜>Hi<｜Assistant｜>\n\nHello!" + eos + "<｜User｜>2+2?<｜Assistant｜><think>\n"},
		{"distill-llama/no-generation-prompt", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B", greeting[:2],
			Options{BOSToken: bos},
			bos + "You are helpful.<｜User｜>Hi"},
		{"distill-llama/last-system-wins", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B",
			[]Message{{Role: "system", Content: "A"}, {Role: "system", Content: "B"}, {Role: "user", Content: "Hi"}},
			Options{AddGenerationPrompt: true, BOSToken: bos},
			bos + "B<｜User｜>Hi<｜Assistant｜><think>\n"},
		// content is none on the tool-call turn; this template closes the calls only after a second call.
		{"distill-llama/tools", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B", toolUse,
			Options{AddGenerationPrompt: true, BOSToken: bos},
			bos + "<｜User｜>Weather in Paris?" +
				"<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\":\"Paris\"}\n```<｜tool▁call▁end｜>" +
				"\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{\"tz\":\"CET\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>" + eos +
				"<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>18C<｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>14:00<｜tool▁output▁end｜>" +
				"<｜tool▁outputs▁end｜>It is 18C at 14:00." + eos + "<｜User｜>Thanks<｜Assistant｜><think>\n"},
		// Ending on a tool result: the outputs are closed and no assistant turn is opened.
		{"distill-llama/ends-on-tool", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B",
			[]Message{{Role: "user", Content: "Q"}, {Role: "assistant", ToolCalls: toolUse[1].ToolCalls[:1]}, {Role: "tool", Content: "18C"}},
			Options{AddGenerationPrompt: true, BOSToken: bos},
			bos + "<｜User｜>Q<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\":\"Paris\"}\n```<｜tool▁call▁end｜>" +
				"<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>18C<｜tool▁output▁end｜><｜tool▁outputs▁end｜>"},

		// llama.cpp's copy of R1-Distill-Qwen-32B closes <think> unless enable_thinking is true.
		{"distill-qwen/thinking", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", greeting,
			Options{AddGenerationPrompt: true, BOSToken: bos},
			bos + "You are helpful.<｜User｜>Hi<｜Assistant｜>\n\nHello!" + eos + "<｜User｜>2+2?<｜Assistant｜><think>\n"},
		{"distill-qwen/not-thinking", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", greeting,
			Options{AddGenerationPrompt: true, BOSToken: bos, EnableThinking: &off},
			bos + "You are helpful.<｜User｜>Hi<｜Assistant｜>\n\nHello!" + eos + "<｜User｜>2+2?<｜Assistant｜><think>\n</think>"},
		{"distill-qwen/kwargs-override", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", greeting[1:2],
			Options{AddGenerationPrompt: true, BOSToken: bos, EnableThinking: &on, Vars: map[string]any{"enable_thinking": false}},
			bos + "<｜User｜>Hi<｜Assistant｜><think>\n</think>"},
		// Arguments go through tojson: a JSON string of the JSON text.
		{"distill-qwen/tools", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", toolUse,
			Options{AddGenerationPrompt: true, BOSToken: bos},
			bos + "<｜User｜>Weather in Paris?" +
				"<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n\"{\\\"city\\\":\\\"Paris\\\"}\"\n```<｜tool▁call▁end｜>" +
				"\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n\"{\\\"tz\\\":\\\"CET\\\"}\"\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>" + eos +
				"<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>18C<｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>14:00<｜tool▁output▁end｜>" +
				"<｜tool▁outputs▁end｜>It is 18C at 14:00." + eos + "<｜User｜>Thanks<｜Assistant｜><think>\n"},

		// DeepSeek-V3.1: system messages joined by a blank line, <think></think> marks non-thinking turns.
		{"v3.1/not-thinking", "deepseek-ai-DeepSeek-V3.1", greeting,
			Options{AddGenerationPrompt: true, BOSToken: bos, EnableThinking: &off},
			bos + "You are helpful.<｜User｜>Hi<｜Assistant｜><think></think>\n\nHello!" + eos + "<｜User｜>2+2?<｜Assistant｜><think></think>"},
		{"v3.1/thinking", "deepseek-ai-DeepSeek-V3.1", greeting,
			Options{AddGenerationPrompt: true, BOSToken: bos},
			bos + "You are helpful.<｜User｜>Hi<｜Assistant｜><think></think>\n\nHello!" + eos + "<｜User｜>2+2?<｜Assistant｜><think>"},
		{"v3.1/thinking-var-wins", "deepseek-ai-DeepSeek-V3.1", greeting[1:2],
			Options{AddGenerationPrompt: true, BOSToken: bos, Vars: map[string]any{"thinking": false}},
			bos + "<｜User｜>Hi<｜Assistant｜><think></think>"},
		{"v3.1/systems-joined", "deepseek-ai-DeepSeek-V3.1",
			[]Message{{Role: "system", Content: "A"}, {Role: "user", Content: "Hi"}, {Role: "system", Content: "B"}},
			Options{AddGenerationPrompt: true, BOSToken: bos},
			bos + "A\n\nB<｜User｜>Hi<｜Assistant｜><think>"},
		{"v3.1/tools", "deepseek-ai-DeepSeek-V3.1", toolUse,
			Options{AddGenerationPrompt: true, BOSToken: bos, EnableThinking: &off},
			bos + "<｜User｜>Weather in Paris?<｜Assistant｜><think></think>" +
				"<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>\"{\\\"city\\\":\\\"Paris\\\"}\"<｜tool▁call▁end｜>" +
				"<｜tool▁call▁begin｜>get_time<｜tool▁sep｜>\"{\\\"tz\\\":\\\"CET\\\"}\"<｜tool▁call▁end｜><｜tool▁calls▁end｜>" + eos +
				"<｜tool▁output▁begin｜>18C<｜tool▁output▁end｜><｜tool▁output▁begin｜>14:00<｜tool▁output▁end｜>" +
				"It is 18C at 14:00." + eos + "<｜User｜>Thanks<｜Assistant｜><think></think>"},

		// llama.cpp's DeepSeek-R1 template ends user turns with EOS.
		{"llama.cpp-r1/greeting", "llama-cpp-deepseek-r1", greeting,
			Options{AddGenerationPrompt: true, BOSToken: bos},
			bos + "You are helpful.<｜User｜>Hi" + eos + "<｜Assistant｜>\n\nHello!" + eos + "<｜User｜>2+2?" + eos + "<｜Assistant｜><think>\n"},
		{"llama.cpp-r1/tools", "llama-cpp-deepseek-r1", toolUse[:3],
			Options{AddGenerationPrompt: true, BOSToken: bos},
			bos + "<｜User｜>Weather in Paris?" + eos +
				"<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n\"{\\\"city\\\":\\\"Paris\\\"}\"\n```<｜tool▁call▁end｜>" +
				"\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n\"{\\\"tz\\\":\\\"CET\\\"}\"\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>" + eos +
				"<｜tool▁outputs▁begin｜>\n<｜tool▁output▁begin｜>18C<｜tool▁output▁end｜><｜tool▁outputs▁end｜>" + eos + "<｜Assistant｜><think>\n"},
		// The tool list, printed by tojson(indent=2), keys in the client's order as json.dumps keeps them.
		{"llama.cpp-r1/tool-list", "llama-cpp-deepseek-r1", greeting[1:2],
			Options{AddGenerationPrompt: true, BOSToken: bos, Vars: map[string]any{"tools": json.RawMessage(
				`[{"type":"function","function":{"description":"Get weather","name":"get_weather","parameters":{"properties":{"city":{"type":"string"}},"type":"object"}}}]`)}},
			bos + "You can call any of the following function tools to satisfy the user's requests: [\n  {\n    \"description\": \"Get weather\",\n" +
				"    \"name\": \"get_weather\",\n    \"parameters\": {\n      \"properties\": {\n        \"city\": {\n          \"type\": \"string\"\n        }\n      },\n" +
				"      \"type\": \"object\"\n    }\n  }\n]\n\nExample function tool call syntax:\n\n" +
				"<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>example_function_name\n```json\n{\n  \"arg1\": \"some_value\"\n  ...\n}\n```\n" +
				"<｜tool▁call▁end｜><｜tool▁calls▁end｜>\n\n<｜User｜>Hi" + eos + "<｜Assistant｜><think>\n"},

		// Qwen2.5 keeps reasoning in past turns and has a default system prompt.
		{"qwen2.5/greeting", "Qwen-Qwen2.5-7B-Instruct", greeting, Options{AddGenerationPrompt: true},
			"<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n" +
				"<|im_start|>assistant\n<think>\nThe user greets me.\n</think>\n\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"},
		{"qwen2.5/default-system", "Qwen-Qwen2.5-7B-Instruct", greeting[1:2], Options{},
			"<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"},
		// With tools, each definition is printed by tojson in the client's key order.
		{"qwen2.5/tools", "Qwen-Qwen2.5-7B-Instruct", toolUse[:3],
			Options{AddGenerationPrompt: true, Vars: map[string]any{"tools": json.RawMessage(weatherTool)}},
			"<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\n" +
				"You may call one or more functions to assist with the user query.\n\n" +
				"You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
				`{"type": "function", "function": {"name": "get_weather", "description": "Get weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}` +
				"\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n" +
				"<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" +
				"<|im_start|>user\nWeather in Paris?<|im_end|>\n" +
				"<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\":\\\"Paris\\\"}\"}\n</tool_call>" +
				"\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": \"{\\\"tz\\\":\\\"CET\\\"}\"}\n</tool_call><|im_end|>\n" +
				"<|im_start|>user\n<tool_response>\n18C\n</tool_response><|im_end|>\n<|im_start|>assistant\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Render(readTemplate(t, c.template), c.msgs, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestTemplatesCompileOnceRenderMany renders one compiled template from many goroutines.
func TestTemplatesCompileOnceRenderMany(t *testing.T) {
	tmpl, err := Compile(readTemplate(t, "deepseek-ai-DeepSeek-R1-Distill-Llama-8B"))
	if err != nil {
		t.Fatal(err)
	}
	want := bos + "<｜User｜>Hi<｜Assistant｜><think>\n"
	errs := make(chan string, 8)
	for range 8 {
		go func() {
			got, err := tmpl.Render(greeting[1:2], Options{AddGenerationPrompt: true, BOSToken: bos})
			if err != nil || got != want {
				errs <- got
				return
			}
			errs <- ""
		}()
	}
	for range 8 {
		if got := <-errs; got != "" {
			t.Errorf("concurrent render: %q", got)
		}
	}
}
