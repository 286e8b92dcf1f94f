package edge

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"
)

// listModels answers GET /v1/models.
func (s *Server) listModels(ctx *fasthttp.RequestCtx) {
	type card struct {
		ID            string `json:"id"`
		Object        string `json:"object"`
		Created       int64  `json:"created"`
		OwnedBy       string `json:"owned_by"`
		ContextLength int    `json:"context_length"` // llama.cpp and vLLM report it too
	}
	list := struct {
		Object string `json:"object"`
		Data   []card `json:"data"`
	}{Object: "list", Data: make([]card, 0, len(s.ids))}
	for _, id := range s.ids {
		list.Data = append(list.Data, card{ID: id, Object: "model", Created: s.created, OwnedBy: "wasmoe",
			ContextLength: s.models[id].info.ContextLength})
	}
	b, _ := json.Marshal(list) // plain structs of strings and ints always encode
	ctx.SetContentType(contentJSON)
	ctx.SetBody(b)
}

// health answers GET /health.
func (s *Server) health(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType(contentJSON)
	ctx.SetBodyString(`{"status":"ok"}`)
}

// model finds the requested model; an empty name picks the only one.
func (s *Server) model(name string) (*served, *apiError) {
	if name == "" && len(s.ids) == 1 {
		return s.models[s.ids[0]], nil
	}
	if m, ok := s.models[name]; ok {
		return m, nil
	}
	if name == "" {
		return nil, badRequest("model", "model is required (serving %s)", strings.Join(s.ids, ", "))
	}
	return nil, &apiError{Status: fasthttp.StatusNotFound, Type: typeInvalidRequest, Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("The model `%s` does not exist (serving %s)", name, strings.Join(s.ids, ", "))}
}
