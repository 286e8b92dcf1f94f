// Package chat renders conversations into prompts with a model's Jinja chat template
// (tokenizer.chat_template), as Hugging Face transformers and llama.cpp do.
//
// Templates run on github.com/ardanlabs/jinja with Jinja2's trim_blocks and lstrip_blocks on, as
// transformers sets them. Templates see messages, add_generation_prompt, bos_token, eos_token,
// enable_thinking, the globals raise_exception, namespace, strftime_now and range, and whatever
// Options.Vars adds (tools, chat_template_kwargs). The tojson filter is transformers' (tojson.go).
//
// Templates are trusted input: they come inside the model file the operator loads. Render turns the
// library's panics into errors and bounds range() to 100,000 items per render (as Jinja's sandbox does),
// but a template that recurses without end, or multiplies a string into gigabytes, exhausts the process,
// as it would exhaust a Python process running transformers.
package chat

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ardanlabs/jinja"
)

// Message is one turn of a conversation, in the OpenAI chat format.
type Message struct {
	Role             string     // system, user, assistant, tool
	Content          string     // on an assistant turn with ToolCalls, "" is passed as none (null)
	ReasoningContent string     // an assistant turn's reasoning, passed as reasoning_content if not ""
	Name             string     // passed as name if not ""
	ToolCallID       string     // the call a tool turn answers, passed as tool_call_id if not ""
	ToolCalls        []ToolCall // an assistant turn's calls, passed as tool_calls if any
}

// ToolCall is one function call of an assistant turn.
type ToolCall struct {
	ID       string // passed as id if not ""
	Type     string // "function" if ""
	Function FunctionCall
}

// FunctionCall is the function a ToolCall names. Arguments is the JSON text the OpenAI API carries; it
// reaches the template as a string, as it does in transformers.
type FunctionCall struct {
	Name      string
	Arguments string
}

// Options are the template variables beyond the messages.
type Options struct {
	AddGenerationPrompt bool
	BOSToken, EOSToken  string
	// EnableThinking is passed as enable_thinking, the switch of templates that can skip reasoning
	// (DeepSeek-V3.1 derives its thinking from it). llama.cpp passes true unless told otherwise, and so do
	// we: nil means true. Transformers passes nothing, which these templates read as false.
	EnableThinking *bool
	// Vars are further variables, e.g. tools or a request's chat_template_kwargs; they override
	// enable_thinking but not the other variables above. Values may be nil, bool, int, int64, float64,
	// string, []any, map[string]any (keys sorted) or json.RawMessage (object key order kept, as Python's
	// json.loads keeps it, so tojson prints keys as the client sent them).
	Vars map[string]any
}

// ErrTemplate wraps the errors of Compile and Render: a template that does not parse, raise_exception,
// an unknown filter, a panic inside the template library.
var ErrTemplate = errors.New("chat template")

// maxRangeItems bounds the items all range() calls of one render produce together (Jinja's MAX_RANGE).
const maxRangeItems = 100_000

// Template is a compiled chat template, safe for concurrent use.
type Template struct {
	t *jinja.Template // nil: Plain
}

// Compile parses a chat template; "" selects the Plain format.
func Compile(src string) (t *Template, err error) {
	if src == "" {
		return &Template{}, nil
	}
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("%w: compile: panic: %v", ErrTemplate, r)
		}
	}()
	jt, err := jinja.Compile(rewriteTojson(src))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	return &Template{t: jt}, nil
}

// Render fills the template with the conversation.
func (t *Template) Render(msgs []Message, opts Options) (out string, err error) {
	if t.t == nil {
		return Plain(msgs, opts.AddGenerationPrompt), nil
	}
	data := make(map[string]jinja.Value, len(opts.Vars)+6)
	data["enable_thinking"] = jinja.NewBool(opts.EnableThinking == nil || *opts.EnableThinking)
	for k, v := range opts.Vars {
		jv, err := toValue(v)
		if err != nil {
			return "", fmt.Errorf("%w: variable %q: %w", ErrTemplate, k, err)
		}
		data[k] = jv
	}
	data["messages"] = messagesValue(msgs)
	data["add_generation_prompt"] = jinja.NewBool(opts.AddGenerationPrompt)
	data["bos_token"] = jinja.NewString(opts.BOSToken)
	data["eos_token"] = jinja.NewString(opts.EOSToken)
	data["range"] = boundedRange(maxRangeItems)
	data[tojsonName] = jinja.NewCallable("tojson", tojsonFilter)
	defer func() { // the template language is rich; never let a template bring the server down
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("%w: render: panic: %v", ErrTemplate, r)
		}
	}()
	out, err = t.t.RenderValues(data)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	return out, nil
}

// Render compiles tmpl and fills it with the conversation; "" renders the Plain format. Compile once and
// use Template.Render to render many conversations with one template.
func Render(tmpl string, msgs []Message, opts Options) (string, error) {
	t, err := Compile(tmpl)
	if err != nil {
		return "", err
	}
	return t.Render(msgs, opts)
}

// Plain is the format for models without a chat template: one "role: content" paragraph per message and,
// with the generation prompt, a final "assistant:", e.g. "user: Hi\n\nassistant:". It writes no BOS (the
// caller lets the tokenizer add one) and ignores reasoning and tool calls.
func Plain(msgs []Message, addGenerationPrompt bool) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Role)
		b.WriteString(": ")
		b.WriteString(m.Content)
		b.WriteString("\n\n")
	}
	if addGenerationPrompt {
		b.WriteString("assistant:")
	}
	return b.String()
}

// OpensThinking reports whether a rendered prompt leaves the model inside a <think> block (R1-style
// templates end the generation prompt with "<think>\n"), so that its output starts with reasoning.
func OpensThinking(prompt string) bool {
	return strings.HasSuffix(strings.TrimRight(prompt, " \t\r\n"), "<think>")
}
