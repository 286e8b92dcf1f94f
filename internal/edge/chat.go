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
	Tools          json.RawMessage `json:"tools"`
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
	out := chat.Message{Role: role, Content: text, ReasoningContent: cmp.Or(m.ReasoningContent, m.Reasoning), Name: m.Name, ToolCallID: m.ToolCallID}
	for j, c := range m.ToolCalls {
		if c.Type != "" && c.Type != "function" {
			return chat.Message{}, badRequest(fmt.Sprintf("messages[%d].tool_calls[%d].type", i, j), "tool call type %q is not supported", c.Type)
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

// check validates the chat fields that come before the plugin loads: the messages are there, no tools,
// and a response_format, whose schema it keeps and whose built-in plugin it chooses.
func (r *chatRequest) check(g *generation) *apiError {
	switch {
	case len(r.Messages) == 0:
		return badRequest("messages", "messages must be a non-empty array")
	case len(r.Tools) > 0 && string(r.Tools) != "null" && string(r.Tools) != "[]":
		return badRequest("tools", "tools are not supported")
	case g.logprobsInt:
		return badRequest("logprobs", "logprobs must be a boolean for chat; top_logprobs gives the alternatives")
	}
	schema, e := r.ResponseFormat.schema()
	switch {
	case e != nil:
		return e
	case schema != nil && g.grammar != "":
		return badRequest("grammar", "grammar and response_format %q: one constraint at most", r.ResponseFormat.Type)
	case schema != nil && g.plugin != "":
		return badRequest("response_format", "response_format %q runs the built-in plugin; it cannot be combined with plugin %q",
			r.ResponseFormat.Type, g.plugin)
	case schema != nil:
		g.usePlugin(engine.BuiltinPolicy, nil, "response_format")
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
	if req.schema != nil {
		gen.pluginConfig = structuredConfig(req.schema, opens, cmp.Or(gen.maxTokens, sv.info.ContextLength))
	}
	if gen.grammar != "" {
		gen.pluginConfig = grammarConfig(gen.grammar, opens, cmp.Or(gen.maxTokens, sv.info.ContextLength))
	}
	return &job{model: sv, prompt: prompt, gen: gen, chat: true, opensThinking: opens, param: "messages"}, nil
}
