package edge

import (
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// modelCard is a model as /v1/models shows it, in OpenAI's shape.
type modelCard struct {
	ID            string `json:"id"`
	Object        string `json:"object"`
	Created       int64  `json:"created"`
	OwnedBy       string `json:"owned_by"`
	ContextLength int    `json:"context_length"` // llama.cpp and vLLM report it too
}

// card describes the model served under name (its ID or an alias).
func (s *Server) card(name string) modelCard {
	return modelCard{ID: name, Object: "model", Created: s.created, OwnedBy: "wasmoe", ContextLength: s.models[name].info.ContextLength}
}

// listModels answers GET /v1/models: every name a request may use, aliases as entries of their own.
func (s *Server) listModels(ctx *fasthttp.RequestCtx) {
	list := struct {
		Object string      `json:"object"`
		Data   []modelCard `json:"data"`
	}{Object: "list", Data: make([]modelCard, 0, len(s.names))}
	for _, name := range s.names {
		list.Data = append(list.Data, s.card(name))
	}
	writeJSON(ctx, fasthttp.StatusOK, list)
}

// retrieveModel answers GET /v1/models/{id} (OpenAI's retrieve): the model's card, or 404 model_not_found.
func (s *Server) retrieveModel(ctx *fasthttp.RequestCtx) {
	_, name, _ := strings.Cut(string(ctx.Path()), "/models/") // the route's prefix ends in /models/
	if _, ok := s.models[name]; !ok {
		writeError(ctx, s.notFound(name))
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, s.card(name))
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
		return nil, badRequest("model", "model is required (serving %s)", strings.Join(s.names, ", "))
	}
	return nil, s.notFound(name)
}

// notFound is the 404 of a model name the server does not serve, as OpenAI words it.
func (s *Server) notFound(name string) *apiError {
	return &apiError{Status: fasthttp.StatusNotFound, Type: typeInvalidRequest, Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("The model `%s` does not exist (serving %s)", name, strings.Join(s.names, ", "))}
}
