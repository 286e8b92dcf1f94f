// Package chat renders conversations into prompts with a model's Jinja chat template
// (tokenizer.chat_template), as Hugging Face transformers and llama.cpp do.
package chat

import (
	"fmt"
	"strings"
	"sync"

	"github.com/ardanlabs/jinja"
)

// Message is one turn of a conversation.
type Message struct {
	Role             string // system, user, assistant, tool
	Content          string
	ReasoningContent string // an assistant turn's reasoning, for templates that show it
}

// Options are the template variables beyond the messages.
type Options struct {
	AddGenerationPrompt bool
	BOSToken, EOSToken  string
	// EnableThinking is passed as enable_thinking (and thinking); reasoning templates switch on it.
	// llama.cpp passes true unless told otherwise, and so do we: nil means true.
	EnableThinking *bool
	// Extra holds further variables (a request's chat_template_kwargs); they override the above.
	Extra map[string]any
}

var compiled sync.Map // template source → *jinja.Template

// Render fills the template with the conversation. An empty template uses a plain "role: content" format
// (see Plain).
func Render(tmpl string, msgs []Message, opts Options) (out string, err error) {
	if tmpl == "" {
		return Plain(msgs, opts.AddGenerationPrompt), nil
	}
	defer func() { // the template language is rich; never let a template bring the server down
		if r := recover(); r != nil {
			err = fmt.Errorf("chat template: %v", r)
		}
	}()
	t, ok := compiled.Load(tmpl)
	if !ok {
		c, err := jinja.Compile(tmpl)
		if err != nil {
			return "", fmt.Errorf("chat template: %w", err)
		}
		t, _ = compiled.LoadOrStore(tmpl, c)
	}
	list := make([]any, len(msgs))
	for i, m := range msgs {
		mm := map[string]any{"role": m.Role, "content": m.Content}
		if m.ReasoningContent != "" {
			mm["reasoning_content"] = m.ReasoningContent
		}
		list[i] = mm
	}
	thinking := opts.EnableThinking == nil || *opts.EnableThinking
	data := map[string]any{
		"messages": list, "add_generation_prompt": opts.AddGenerationPrompt,
		"bos_token": opts.BOSToken, "eos_token": opts.EOSToken,
		"enable_thinking": thinking, "thinking": thinking,
	}
	for k, v := range opts.Extra {
		data[k] = v
	}
	out, err = t.(*jinja.Template).Render(data)
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	return out, nil
}

// Plain is the format for models without a template: one "role: content" paragraph per message and, with
// the generation prompt, a final "assistant:".
func Plain(msgs []Message, addGenerationPrompt bool) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "%s: %s\n\n", m.Role, m.Content)
	}
	if addGenerationPrompt {
		b.WriteString("assistant:")
	}
	return b.String()
}

// OpensThinking reports whether a rendered prompt leaves the model inside a <think> block (R1-style
// templates end the generation prompt with "<think>\n"), so its output starts with reasoning.
func OpensThinking(prompt string) bool {
	p := strings.TrimRight(prompt, " \n")
	return strings.HasSuffix(p, "<think>")
}
