// Package edge is wasmoe's HTTP face: an OpenAI-compatible API (chat completions, completions, models,
// health) on fasthttp, with Server-Sent Events streaming exactly as OpenAI streams, DeepSeek's
// reasoning_content for <think> models, stop strings, and OpenAI-style JSON errors.
package edge

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"net"
	"sort"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/host/engine"
)

// Model is what the server needs of a model; *engine.Engine implements it.
type Model interface {
	Info() engine.ModelInfo
	Tokenize(ctx context.Context, text string, addBOS, parseSpecial bool) ([]int32, error)
	Generate(ctx context.Context, req engine.Request, emit func(engine.Piece) error) (engine.Result, error)
}

// Config holds the server's limits.
type Config struct {
	MaxBodyBytes     int           // largest request body (413 past it)
	DefaultMaxTokens int           // max_tokens of a request that gives none
	RequestTimeout   time.Duration // longest a generation may run
}

// DefaultConfig returns 4 MiB bodies, 1024 tokens by default, 10-minute generations.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 4 << 20, DefaultMaxTokens: 1024, RequestTimeout: 10 * time.Minute}
}

// Server serves one or more models.
type Server struct {
	cfg    Config
	models map[string]Model
	ids    []string
	srv    *fasthttp.Server
}

// NewServer serves models under their Info().ID.
func NewServer(cfg Config, models ...Model) *Server {
	d := DefaultConfig()
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = d.MaxBodyBytes
	}
	if cfg.DefaultMaxTokens <= 0 {
		cfg.DefaultMaxTokens = d.DefaultMaxTokens
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = d.RequestTimeout
	}
	s := &Server{cfg: cfg, models: map[string]Model{}}
	for _, m := range models {
		id := m.Info().ID
		s.models[id] = m
		s.ids = append(s.ids, id)
	}
	sort.Strings(s.ids)
	s.srv = &fasthttp.Server{
		Handler:            s.handle,
		Name:               "wasmoe",
		MaxRequestBodySize: cfg.MaxBodyBytes,
		ReadTimeout:        time.Minute,
		IdleTimeout:        2 * time.Minute,
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			if errors.Is(err, fasthttp.ErrBodyTooLarge) {
				writeError(ctx, &apiError{Status: 413, Type: "invalid_request_error",
					Message: fmt.Sprintf("request body exceeds %d bytes", cfg.MaxBodyBytes)})
				return
			}
			writeError(ctx, badRequest("", "malformed HTTP request: "+err.Error()))
		},
	}
	return s
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// ListenAndServe listens on addr and serves.
func (s *Server) ListenAndServe(addr string) error { return s.srv.ListenAndServe(addr) }

// Shutdown stops accepting connections and waits for open requests, until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.ShutdownWithContext(ctx) }

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("edge: panic serving %s: %v", ctx.Path(), r)
			writeError(ctx, &apiError{Status: 500, Type: "server_error", Message: "internal error"})
		}
	}()
	path, post := string(ctx.Path()), ctx.IsPost()
	switch path {
	case "/health":
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"status":"ok"}`)
	case "/v1/models":
		s.listModels(ctx)
	case "/v1/chat/completions", "/chat/completions":
		if !post {
			writeError(ctx, &apiError{Status: 405, Type: "invalid_request_error", Message: "use POST"})
			return
		}
		s.chatCompletions(ctx)
	case "/v1/completions", "/completions":
		if !post {
			writeError(ctx, &apiError{Status: 405, Type: "invalid_request_error", Message: "use POST"})
			return
		}
		s.completions(ctx)
	default:
		writeError(ctx, &apiError{Status: 404, Type: "invalid_request_error", Message: "no route " + path})
	}
}

func (s *Server) listModels(ctx *fasthttp.RequestCtx) {
	type card struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
		Context int    `json:"context_length"`
	}
	list := struct {
		Object string `json:"object"`
		Data   []card `json:"data"`
	}{Object: "list", Data: []card{}}
	for _, id := range s.ids {
		list.Data = append(list.Data, card{ID: id, Object: "model", OwnedBy: "wasmoe", Context: s.models[id].Info().ContextLength})
	}
	writeJSON(ctx, list)
}

// model finds the requested model; an empty name picks the only one.
func (s *Server) model(name string) (Model, *apiError) {
	if name == "" && len(s.ids) == 1 {
		return s.models[s.ids[0]], nil
	}
	if m, ok := s.models[name]; ok {
		return m, nil
	}
	return nil, &apiError{Status: 404, Type: "invalid_request_error", Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("model %q not found (serving %v)", name, s.ids)}
}

// randomSeed seeds requests that give no seed.
func randomSeed() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}
