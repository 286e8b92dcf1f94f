package chat

import "strings"

// ToolFormat is a model family's syntax for tool calls in its answers, as its chat template teaches it.
type ToolFormat uint8

// The tool-call formats.
const (
	ToolsNone     ToolFormat = iota // the template knows no tool calls
	ToolsQwen                       // Qwen2.5 (Hermes): <tool_call>\n{"name": N, "arguments": A}\n</tool_call>, one per call
	ToolsLlama                      // Llama 3.1/3.2/3.3: the answer is {"name": N, "parameters": A}
	ToolsDeepSeek                   // DeepSeek-V3/R1: <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>N\n```json\nA\n```<｜tool▁call▁end｜>…<｜tool▁calls▁end｜>
)

// DeepSeek's tool-call markers (control tokens in its vocabulary).
const (
	dsCallsBegin = "<｜tool▁calls▁begin｜>"
	dsCallsEnd   = "<｜tool▁calls▁end｜>"
	dsCallBegin  = "<｜tool▁call▁begin｜>"
	dsCallEnd    = "<｜tool▁call▁end｜>"
	dsSep        = "<｜tool▁sep｜>"
)

// Qwen's tool-call tags, and Llama's marker of a tool call.
const (
	qwenOpen   = "<tool_call>"
	qwenClose  = "</tool_call>"
	pythonTag  = "<|python_tag|>"
	llamaParam = `"parameters": `
)

// DetectToolFormat tells a chat template's tool-call format from what the template writes for an
// assistant's tool calls, as llama.cpp's chat-format detection does. DeepSeek-V3.1's format (no
// ```json block) is none of these.
func DetectToolFormat(template string) ToolFormat {
	switch {
	case strings.Contains(template, qwenOpen):
		return ToolsQwen
	case strings.Contains(template, dsCallBegin) && strings.Contains(template, "```json"):
		return ToolsDeepSeek // V3.1's calls have no ```json block: a format of its own, not this one
	case strings.Contains(template, "<|start_header_id|>") && strings.Contains(template, "ipython") && strings.Contains(template, llamaParam):
		return ToolsLlama
	}
	return ToolsNone
}

// String names the format.
func (f ToolFormat) String() string {
	return [...]string{"none", "qwen", "llama", "deepseek"}[f]
}

// ControlTexts are the format's markers that are control tokens in the family's vocabulary: their
// text must be shown to the parser, which the detokenizer leaves out of the answer.
func (f ToolFormat) ControlTexts() []string {
	if f == ToolsDeepSeek {
		return []string{dsCallsBegin, dsCallsEnd, dsCallBegin, dsCallEnd, dsSep}
	}
	return nil
}

// CallSyntax is how the format writes calls: Begin, then calls separated by Sep, then End; a call of
// function name is Prefix(name), its JSON arguments, then Suffix. Max is 1 when the format holds one
// call only (Llama's), else 0.
type CallSyntax struct {
	Begin, Sep, End string
	Suffix          string
	Max             int
	prefix          func(name string) string
}

// Prefix is what comes before the arguments of a call of function name (a name the request checked:
// letters, digits, '_' and '-').
func (c CallSyntax) Prefix(name string) string { return c.prefix(name) }

// Syntax returns the format's CallSyntax, exactly as its chat template writes calls; ok is false for
// ToolsNone.
func (f ToolFormat) Syntax() (c CallSyntax, ok bool) {
	switch f {
	case ToolsQwen:
		return CallSyntax{Sep: "\n", Suffix: "}\n" + qwenClose,
			prefix: func(n string) string { return qwenOpen + "\n{\"name\": \"" + n + "\", \"arguments\": " }}, true
	case ToolsLlama:
		return CallSyntax{Suffix: "}", Max: 1,
			prefix: func(n string) string { return "{\"name\": \"" + n + "\", " + llamaParam }}, true
	case ToolsDeepSeek:
		return CallSyntax{Begin: dsCallsBegin, Sep: "\n", End: dsCallsEnd, Suffix: "\n```" + dsCallEnd,
			prefix: func(n string) string { return dsCallBegin + "function" + dsSep + n + "\n```json\n" }}, true
	}
	return CallSyntax{}, false
}
