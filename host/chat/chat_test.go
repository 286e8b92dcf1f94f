package chat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

const (
	bos = "<｜begin▁of▁sentence｜>"
	eos = "<｜end▁of▁sentence｜>"
)

func template(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.Root(), "testdata", "templates", name+".jinja"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var conversation = []Message{
	{Role: "system", Content: "You are helpful."},
	{Role: "user", Content: "Hi"},
	{Role: "assistant", Content: "<think>greet back</think>Hello!"},
	{Role: "user", Content: "2+2?"},
}

// TestTemplates renders a conversation with each template and compares with the structure spec §9 and
// the models' documentation give: R1-style templates drop reasoning from past assistant turns and open
// <think> in the generation prompt.
func TestTemplates(t *testing.T) {
	off := false
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", Options{AddGenerationPrompt: true, BOSToken: bos},
			bos + "You are helpful.<｜User｜>Hi<｜Assistant｜>Hello!" + eos + "<｜User｜>2+2?<｜Assistant｜><think>\n"},
		{"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", Options{AddGenerationPrompt: true, BOSToken: bos, EnableThinking: &off},
			bos + "You are helpful.<｜User｜>Hi<｜Assistant｜>Hello!" + eos + "<｜User｜>2+2?<｜Assistant｜><think>\n</think>"},
		{"deepseek-ai-DeepSeek-R1-Distill-Llama-8B", Options{AddGenerationPrompt: true, BOSToken: bos},
			bos + "You are helpful.<｜User｜>Hi<｜Assistant｜>Hello!" + eos + "<｜User｜>2+2?<｜Assistant｜><think>\n"},
		{"deepseek-ai-DeepSeek-R1-Distill-Llama-8B", Options{AddGenerationPrompt: false, BOSToken: bos},
			bos + "You are helpful.<｜User｜>Hi<｜Assistant｜>Hello!" + eos + "<｜User｜>2+2?"},
		{"deepseek-ai-DeepSeek-V3.1", Options{AddGenerationPrompt: true, BOSToken: bos, EnableThinking: &off},
			bos + "You are helpful.<｜User｜>Hi<｜Assistant｜><think></think>Hello!" + eos + "<｜User｜>2+2?<｜Assistant｜><think></think>"},
		{"deepseek-ai-DeepSeek-V3.1", Options{AddGenerationPrompt: true, BOSToken: bos},
			bos + "You are helpful.<｜User｜>Hi<｜Assistant｜><think></think>Hello!" + eos + "<｜User｜>2+2?<｜Assistant｜><think>"},
		{"Qwen-Qwen2.5-7B-Instruct", Options{AddGenerationPrompt: true},
			"<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n" +
				"<|im_start|>assistant\n<think>greet back</think>Hello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"},
	}
	for _, c := range cases {
		got, err := Render(template(t, c.name), conversation, c.opts)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	// The Qwen2.5 template has a default system prompt when none is given.
	got, _ := Render(template(t, "Qwen-Qwen2.5-7B-Instruct"), conversation[1:2], Options{AddGenerationPrompt: true})
	if !strings.HasPrefix(got, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud.") {
		t.Errorf("Qwen default system prompt missing: %q", got)
	}
}

// TestLlamaCppR1Template renders llama.cpp's own DeepSeek-R1 template, whose user turns end with EOS.
func TestLlamaCppR1Template(t *testing.T) {
	got, err := Render(template(t, "llama-cpp-deepseek-r1"), conversation[:2], Options{AddGenerationPrompt: true, BOSToken: bos})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, bos+"You are helpful.<｜User｜>Hi") || !strings.Contains(got, "<｜Assistant｜>") {
		t.Errorf("got %q", got)
	}
}

func TestOpensThinking(t *testing.T) {
	for p, want := range map[string]bool{"x<｜Assistant｜><think>\n": true, "x<think>": true, "x<think>\n</think>": false, "x<think></think>": false, "x": false} {
		if OpensThinking(p) != want {
			t.Errorf("OpensThinking(%q) != %v", p, want)
		}
	}
}

func TestPlainAndErrors(t *testing.T) {
	got, _ := Render("", conversation[:2], Options{AddGenerationPrompt: true})
	if got != "system: You are helpful.\n\nuser: Hi\n\nassistant:" {
		t.Errorf("plain format: %q", got)
	}
	for _, bad := range []string{"{% for %}", "{{ raise_exception('no system role') }}", "{{ messages[0]['content'] | nosuchfilter }}"} {
		if _, err := Render(bad, conversation, Options{}); err == nil {
			t.Errorf("template %q rendered without error", bad)
		}
	}
}

func FuzzRender(f *testing.F) {
	f.Add("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}{% endfor %}", "hi")
	f.Add("{{ messages[0]['content'].split('</think>')[-1] }}", "a</think>b")
	f.Fuzz(func(t *testing.T, tmpl, content string) {
		Render(tmpl, []Message{{Role: "user", Content: content}}, Options{AddGenerationPrompt: true})
	})
}
