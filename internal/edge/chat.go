package edge

import (
	"cmp"
	"encoding/json"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/chat"
	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	commonRequest
	Messages           []chatMessage              `json:"messages"`
	ChatTemplateKwargs map[string]json.RawMessage `json:"chat_template_kwargs"` // llama.cpp's and vLLM's extension
	Thinking           *struct {
		Type string `json:"type"` // "enabled" or "disabled"
	} `json:"thinking"` // DeepSeek's switch
	toolRequest
	ResponseFormat *responseFormat `json:"response_format"`

	schema json.RawMessage // response_format's JSON schema, once check has run; nil when any text goes
}

// chatMessage is one message of a request.
type chatMessage struct {
	Role             string          `json:"role"`
	Content          json.RawMessage `json:"content"` // a string, null, or an array of content parts
	ReasoningContent string          `json:"reasoning_content"`
	Reasoning        string          `json:"reasoning"` // vLLM's and ollama's name of reasoning_content
	Name             string          `json:"name"`
	ToolCallID       string          `json:"tool_call_id"`
	ToolCalls        []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

// roles maps the roles a request may use to the ones templates know.
var roles = map[string]string{"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}

// message converts the i-th message of a request.
func (m *chatMessage) message(i int) (chat.Message, *apiError) {
	role, ok := roles[m.Role]
	if !ok {
		return chat.Message{}, badRequest(fmt.Sprintf("messages[%d].role", i), "unknown role %q", m.Role)
	}
	text, e := m.text(i)
	if e != nil {
		return chat.Message{}, e
	}
	if role == "tool" && m.ToolCallID == "" {
		return chat.Message{}, badRequest(fmt.Sprintf("messages[%d].tool_call_id", i), "a tool message needs the tool_call_id of the call it answers")
	}
	out := chat.Message{Role: role, Content: text, ReasoningContent: cmp.Or(m.ReasoningContent, m.Reasoning), Name: m.Name, ToolCallID: m.ToolCallID}
	for j, c := range m.ToolCalls {
		param := fmt.Sprintf("messages[%d].tool_calls[%d]", i, j)
		switch {
		case c.Type != "" && c.Type != "function":
			return chat.Message{}, badRequest(param+".type", "tool call type %q is not supported", c.Type)
		case c.Function.Name == "":
			return chat.Message{}, badRequest(param+".function.name", "a tool call needs the name of its function")
		case c.Function.Arguments != "" && !json.Valid([]byte(c.Function.Arguments)):
			return chat.Message{}, badRequest(param+".function.arguments", "a tool call's arguments must be JSON text")
		}
		out.ToolCalls = append(out.ToolCalls, chat.ToolCall{ID: c.ID, Type: c.Type,
			Function: chat.FunctionCall{Name: c.Function.Name, Arguments: c.Function.Arguments}})
	}
	return out, nil
}

// text returns a message's content: a string, null, or the text of an array of content parts.
func (m *chatMessage) text(i int) (string, *apiError) {
	if len(m.Content) == 0 || string(m.Content) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	param := fmt.Sprintf("messages[%d].content", i)
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return "", badRequest(param, "content must be a string or an array of content parts")
	}
	for _, p := range parts {
		if p.Type != "text" {
			return "", badRequest(param, "content part type %q is not supported (text only)", p.Type)
		}
		s += p.Text
	}
	return s, nil
}

// templateOptions turns the request's template switches into chat options.
func (r *chatRequest) templateOptions(sv *served) (chat.Options, *apiError) {
	opts := chat.Options{AddGenerationPrompt: true, BOSToken: sv.info.BOSToken, EOSToken: sv.info.EOSToken}
	if r.Thinking != nil {
		switch r.Thinking.Type {
		case "enabled", "disabled":
			on := r.Thinking.Type == "enabled"
			opts.EnableThinking = &on
		default:
			return opts, badRequest("thinking.type", `thinking.type must be "enabled" or "disabled", got %q`, r.Thinking.Type)
		}
	}
	if len(r.ChatTemplateKwargs) > 0 {
		opts.Vars = make(map[string]any, len(r.ChatTemplateKwargs))
		for k, v := range r.ChatTemplateKwargs {
			opts.Vars[k] = v
		}
	}
	return opts, nil
}

// check validates the chat fields that come before the plugin loads: the messages are there, the tools,
// and a response_format, whose schema it keeps; response_format and tool_choice "required" or a named
// function choose the built-in plugin.
func (r *chatRequest) check(g *generation) *apiError {
	switch {
	case len(r.Messages) == 0:
		return badRequest("messages", "messages must be a non-empty array")
	case g.logprobsInt:
		return badRequest("logprobs", "logprobs must be a boolean for chat; top_logprobs gives the alternatives")
	}
	if e := r.checkTools(); e != nil {
		return e
	}
	schema, e := r.ResponseFormat.schema()
	switch {
	case e != nil:
		return e
	case r.constrained() && schema != nil:
		return badRequest("tool_choice", "tool_choice %q constrains the answer to calls; it cannot be combined with response_format %q",
			r.choice, r.ResponseFormat.Type)
	case r.constrained() && g.grammar != "":
		return badRequest("tool_choice", "tool_choice %q constrains the answer to calls; it cannot be combined with grammar", r.choice)
	case r.constrained() && g.plugin != "":
		return badRequest("tool_choice", "tool_choice %q runs the built-in plugin; it cannot be combined with plugin %q", r.choice, g.plugin)
	case r.constrained():
		g.usePlugin(engine.BuiltinPolicy, nil, "tool_choice")
	default:
		if e := g.useSchema(schema, r.ResponseFormat); e != nil {
			return e
		}
	}
	r.schema = schema
	return nil
}

// chatCompletions answers POST /v1/chat/completions.
func (s *Server) chatCompletions(ctx *fasthttp.RequestCtx) { s.serveJob(ctx, s.chatJob) }

// chatJob builds the job of a chat request: the conversation rendered by the model's template and
// tokenized, with response_format's schema in the built-in plugin's config.
func (s *Server) chatJob(ctx *fasthttp.RequestCtx) (*job, *apiError) {
	var req chatRequest
	sv, gen, e := s.open(ctx, &req)
	if e != nil {
		return nil, e
	}
	msgs := make([]chat.Message, len(req.Messages))
	for i := range req.Messages {
		if msgs[i], e = req.Messages[i].message(i); e != nil {
			return nil, e
		}
	}
	opts, e := req.templateOptions(sv)
	if e != nil {
		return nil, e
	}
	format := chat.DetectToolFormat(sv.info.ChatTemplate)
	if len(req.functions) > 0 {
		if format == chat.ToolsNone {
			return nil, badRequest("tools", "model %q has no chat template with a tool-call format this server reads (Qwen2.5, Llama 3.x, DeepSeek-V3/R1)", sv.info.ID)
		}
		if opts.Vars == nil {
			opts.Vars = map[string]any{}
		}
		opts.Vars["tools"] = req.Tools // rendered even with tool_choice "none", as vLLM does
	}
	if sv.tmplErr != nil {
		s.log.Error("edge: chat request for a model whose template does not compile", "model", sv.info.ID, "err", sv.tmplErr)
		return nil, errInternal
	}
	text, err := sv.tmpl.Render(msgs, opts)
	if err != nil { // raise_exception and the like: the conversation does not suit the template
		return nil, badRequest("messages", "%v", err)
	}
	// Templates write BOS themselves; only the plain format (no template) needs the tokenizer's.
	prompt, e := s.tokenize(sv, text, sv.info.ChatTemplate == "" && sv.info.AddBOS, "messages")
	if e != nil {
		return nil, e
	}
	opens := chat.OpensThinking(text)
	budget := cmp.Or(gen.maxTokens, sv.info.ContextLength)
	if req.schema != nil {
		gen.pluginConfig = structuredConfig(req.schema, opens, budget)
	}
	if gen.grammar != "" {
		gen.pluginConfig = grammarConfig(gen.grammar, opens, budget)
	}
	j := &job{model: sv, prompt: prompt, gen: gen, chat: true, opensThinking: opens, param: "messages"}
	if req.parses() {
		syntax, _ := format.Syntax()
		if req.constrained() {
			gen.pluginConfig = req.toolsConfig(syntax, opens, budget)
		}
		j.tools = format
		if j.toolText, e = s.controlTexts(sv, format); e != nil {
			return nil, e
		}
	}
	return j, nil
}
