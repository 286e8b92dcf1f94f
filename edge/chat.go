package edge

import (
	"encoding/json"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/host/chat"
)

type chatRequest struct {
	commonRequest
	Messages           []chatMessage  `json:"messages"`
	ChatTemplateKwargs map[string]any `json:"chat_template_kwargs"`
}

type chatMessage struct {
	Role             string          `json:"role"`
	Content          json.RawMessage `json:"content"`
	ReasoningContent string          `json:"reasoning_content"`
}

// text returns a message's content: a string, null, or an array of parts whose "text" parts are joined.
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
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return "", badRequest(fmt.Sprintf("messages[%d].content", i), "content must be a string or an array of content parts")
	}
	for _, p := range parts {
		if p.Type != "text" {
			return "", badRequest(fmt.Sprintf("messages[%d].content", i), fmt.Sprintf("content part type %q is not supported (text only)", p.Type))
		}
		s += p.Text
	}
	return s, nil
}

var roles = map[string]string{"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}

func (s *Server) chatCompletions(ctx *fasthttp.RequestCtx) {
	var req chatRequest
	if e := decodeJSON(ctx.PostBody(), &req); e != nil {
		writeError(ctx, e)
		return
	}
	m, e := s.model(req.Model)
	if e != nil {
		writeError(ctx, e)
		return
	}
	info := m.Info()
	gen, e := req.validate(s.cfg.DefaultMaxTokens, info.VocabSize, randomSeed)
	if e != nil {
		writeError(ctx, e)
		return
	}
	if len(req.Messages) == 0 {
		writeError(ctx, badRequest("messages", "messages must be a non-empty array"))
		return
	}
	msgs := make([]chat.Message, len(req.Messages))
	for i := range req.Messages {
		role, ok := roles[req.Messages[i].Role]
		if !ok {
			writeError(ctx, badRequest(fmt.Sprintf("messages[%d].role", i), fmt.Sprintf("unknown role %q", req.Messages[i].Role)))
			return
		}
		text, e := req.Messages[i].text(i)
		if e != nil {
			writeError(ctx, e)
			return
		}
		msgs[i] = chat.Message{Role: role, Content: text, ReasoningContent: req.Messages[i].ReasoningContent}
	}
	opts := chat.Options{AddGenerationPrompt: true, BOSToken: info.BOSToken, EOSToken: info.EOSToken, Extra: req.ChatTemplateKwargs}
	if v, ok := req.ChatTemplateKwargs["enable_thinking"].(bool); ok {
		opts.EnableThinking = &v
	}
	text, err := chat.Render(info.ChatTemplate, msgs, opts)
	if err != nil {
		writeError(ctx, badRequest("messages", err.Error()))
		return
	}
	// Templates write BOS themselves; only the plain fallback needs the tokenizer's.
	prompt, err := m.Tokenize(ctx, text, info.ChatTemplate == "" && info.AddBOS, true)
	if err != nil {
		writeError(ctx, engineError(err))
		return
	}
	s.respond(ctx, &job{model: m, modelID: info.ID, prompt: prompt, gen: gen, chat: true, opensThinking: chat.OpensThinking(text)})
}
