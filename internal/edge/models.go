package edge

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/engine"
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

// health answers GET /health: 200 while the process serves.
func (s *Server) health(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType(contentJSON)
	ctx.SetBodyString(`{"status":"ok"}`)
}

// warmable is a Model that starts its guests in the background after it opens; *engine.Engine is one.
type warmable interface {
	Warmed() <-chan struct{}
}

var _ warmable = (*engine.Engine)(nil)

// ready answers GET /ready: 200 once every model has warmed up, 503 while one is warming up or the
// server is draining (Drain, Shutdown).
func (s *Server) ready(ctx *fasthttp.RequestCtx) {
	status := s.readiness()
	if status != "ready" {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	}
	ctx.SetContentType(contentJSON)
	ctx.SetBodyString(`{"status":"` + status + `"}`)
}

// readiness is "ready", or why the server takes no requests: "draining" or "warming_up".
func (s *Server) readiness() string {
	if s.drained.Load() {
		return "draining"
	}
	for _, id := range s.ids {
		if w, ok := s.models[id].Model.(warmable); ok {
			select {
			case <-w.Warmed():
			default:
				return "warming_up"
			}
		}
	}
	return "ready"
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
