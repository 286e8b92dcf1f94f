// Package edge is wasmoe's HTTP face: an OpenAI-compatible API (chat completions, completions, models,
// health) on fasthttp, streaming Server-Sent Events exactly as OpenAI does, with DeepSeek's
// reasoning_content for <think> models, stop strings, and OpenAI-style JSON errors.
//
// A request may name a policy plugin ("plugin", "plugin_config"; guest/ABI-v1.md) that steers its
// decoding, and chat's response_format (OpenAI's structured outputs) runs the built-in one. A plugin that
// forks the request answers with several choices, streamed as OpenAI streams n > 1; a plugin that fails
// fails its request only, as the tenant's error (400 "plugin_error", or an error event mid-stream).
//
// A generation runs in its own goroutine and hands its pieces to the handler one at a time. The response
// status is decided once the first piece (or the engine's error) is there, so an overloaded engine gives a
// real 503 (with Retry-After) even to a streaming request. A client that leaves cancels its generation,
// streamed or not, queued or running: fasthttp does not read the connection while a handler runs, so a
// watcher peeks at the socket a few times a second until the generation ends. A stream whose client
// stops reading is cut off once an event has waited WriteTimeout to be written, and so is its generation.
// A stop string, the request timeout and Shutdown cancel a generation too.
package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sort"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/chat"
	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/store"
	"github.com/wasmoe/wasmoe/internal/tenant"
)

// Model is what the server needs of a model; *engine.Engine implements it.
type Model interface {
	Info() engine.ModelInfo
	Tokenize(ctx context.Context, text string, addBOS, parseSpecial bool) ([]int32, error)
	// Generate calls emit once per generated token; an error from emit stops the generation, and Generate
	// then returns that error or a Result.
	Generate(ctx context.Context, req engine.Request, emit func(engine.Piece) error) (engine.Result, error)
}

// Config holds the server's settings. NewServer gives zero fields DefaultConfig's values.
type Config struct {
	MaxBodyBytes     int           // largest request body; larger ones get 413
	DefaultMaxTokens int           // max_tokens of a request that gives none; < 0: until the context is full
	RequestTimeout   time.Duration // longest a generation may run; past it 504 (or an error event)
	ReadTimeout      time.Duration // longest to read a request; twice that is the keep-alive idle limit
	WriteTimeout     time.Duration // longest a stream's event may wait for the client to read; past it the stream is cut off
	CORSOrigin       string        // Access-Control-Allow-Origin for every response; "" sends no CORS headers
	// Tenants are who may use the node; nil or a registry without tenants leaves the node open (every
	// generating request passes), and the admin API needs the registry's admin key.
	Tenants *tenant.Registry
	// Store keeps the tenants' deployed plugins (the /v1/plugins API); nil turns deploying off.
	Store  *store.Store
	Logger *slog.Logger // nil: slog.Default()
}

// DefaultConfig returns a loopback address, 4 MiB bodies, 1024 tokens by default, 10-minute generations,
// 1-minute reads and 30-second writes.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 4 << 20, DefaultMaxTokens: 1024,
		RequestTimeout: 10 * time.Minute, ReadTimeout: time.Minute, WriteTimeout: 30 * time.Second}
}

// Server serves one or more models over HTTP.
type Server struct {
	cfg     Config
	log     *slog.Logger
	models  map[string]*served
	ids     []string // sorted
	created int64    // "created" of /v1/models entries: when the server was made
	srv     *fasthttp.Server
	base    context.Context // parent of every generation; cancelled when Shutdown gives up waiting
	stop    context.CancelCauseFunc
}

// served is a model with what the server derives from it once.
type served struct {
	Model
	info    engine.ModelInfo
	tmpl    *chat.Template
	tmplErr error // the model's chat template does not compile: chat requests get 500
}

// NewServer serves models under their Info().ID (a later model with the same ID replaces an earlier one).
// A chat template that does not compile is logged, and that model's chat requests fail with 500.
func NewServer(cfg Config, models ...Model) *Server {
	d := DefaultConfig()
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = d.MaxBodyBytes
	}
	if cfg.DefaultMaxTokens == 0 {
		cfg.DefaultMaxTokens = d.DefaultMaxTokens
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = d.RequestTimeout
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = d.ReadTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = d.WriteTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, models: map[string]*served{}, created: time.Now().Unix()}
	s.base, s.stop = context.WithCancelCause(context.Background())
	for _, m := range models {
		sv := &served{Model: m, info: m.Info()}
		sv.tmpl, sv.tmplErr = chat.Compile(sv.info.ChatTemplate)
		if sv.tmplErr != nil {
			s.log.Error("edge: chat template does not compile; chat requests will fail", "model", sv.info.ID, "err", sv.tmplErr)
		}
		if _, dup := s.models[sv.info.ID]; dup {
			s.log.Warn("edge: two models with one ID; serving the later", "model", sv.info.ID)
		} else {
			s.ids = append(s.ids, sv.info.ID)
		}
		s.models[sv.info.ID] = sv
	}
	sort.Strings(s.ids)
	s.srv = &fasthttp.Server{
		Handler:            s.handle,
		ErrorHandler:       s.requestError,
		Name:               "wasmoe",
		MaxRequestBodySize: cfg.MaxBodyBytes,
		ReadTimeout:        cfg.ReadTimeout,
		IdleTimeout:        2 * cfg.ReadTimeout,
		Logger:             fasthttpLogger{s.log},
	}
	return s
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops accepting connections and waits for open requests to finish. When ctx ends first, the
// generations still running are cancelled (their streams end with an error event) and ctx's error is
// returned.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.ShutdownWithContext(ctx)
	s.stop(errShutdown)
	return err
}

// A route is an endpoint's method, who may call it, and its handler. A route with method "" takes every
// method and answers 405 itself for those it does not serve.
type route struct {
	method string
	access access
	serve  func(*Server, *fasthttp.RequestCtx)
}

var routes = map[string]route{
	"/v1/chat/completions": {fasthttp.MethodPost, tenantKey, (*Server).chatCompletions},
	"/chat/completions":    {fasthttp.MethodPost, tenantKey, (*Server).chatCompletions}, // DeepSeek's and llama.cpp's alias
	"/v1/completions":      {fasthttp.MethodPost, tenantKey, (*Server).completions},
	"/completions":         {fasthttp.MethodPost, tenantKey, (*Server).completions},
	"/v1/models":           {fasthttp.MethodGet, tenantKey, (*Server).listModels},
	"/models":              {fasthttp.MethodGet, tenantKey, (*Server).listModels},
	"/health":              {fasthttp.MethodGet, anyone, (*Server).health},
}

// prefixRoutes serve every path under a prefix (one that ends in '/'), for APIs whose paths carry names
// (/admin/tenants/NAME). The first matching prefix wins; exact routes are looked up first.
var prefixRoutes []prefixRoute

// prefixRoute is a route for every path under prefix.
type prefixRoute struct {
	prefix string
	route
}

// findRoute returns the route of path.
func findRoute(path []byte) (route, bool) {
	if rt, ok := routes[string(path)]; ok {
		return rt, true
	}
	for _, pr := range prefixRoutes {
		if len(path) > len(pr.prefix) && string(path[:len(pr.prefix)]) == pr.prefix {
			return pr.route, true
		}
	}
	return route{}, false
}

// handle routes a request. A panic anywhere below is logged and answered with 500.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("edge: panic serving request", "path", string(ctx.Path()), "panic", r, "stack", string(debug.Stack()))
			writeError(ctx, errInternal)
		}
		s.cors(ctx)
	}()
	rt, ok := findRoute(ctx.Path())
	if !ok {
		writeError(ctx, &apiError{Status: fasthttp.StatusNotFound, Type: typeInvalidRequest,
			Message: fmt.Sprintf("Invalid URL (%s %s)", ctx.Method(), ctx.Path())})
		return
	}
	method := string(ctx.Method())
	switch {
	case method == fasthttp.MethodOptions && s.cfg.CORSOrigin != "":
		ctx.SetStatusCode(fasthttp.StatusNoContent) // CORS preflight; cors adds the headers
	case rt.method == "", method == rt.method, method == fasthttp.MethodHead && rt.method == fasthttp.MethodGet:
		if e := s.authorize(ctx, rt.access); e != nil {
			writeError(ctx, e)
			return
		}
		rt.serve(s, ctx)
	default:
		writeError(ctx, &apiError{Status: fasthttp.StatusMethodNotAllowed, Type: typeInvalidRequest,
			Message: fmt.Sprintf("method %s is not allowed on %s; use %s", method, ctx.Path(), rt.method)})
		ctx.Response.Header.Set("Allow", rt.method)
	}
}

// cors adds the CORS headers when they are configured.
func (s *Server) cors(ctx *fasthttp.RequestCtx) {
	if s.cfg.CORSOrigin == "" {
		return
	}
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Origin", s.cfg.CORSOrigin)
	if ctx.IsOptions() {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "86400")
	}
}

// requestError answers a request fasthttp could not read: too large, too slow or malformed.
func (s *Server) requestError(ctx *fasthttp.RequestCtx, err error) {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeError(ctx, &apiError{Status: fasthttp.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Code: "request_too_large",
			Message: fmt.Sprintf("request body exceeds %d bytes", s.cfg.MaxBodyBytes)})
	case errors.As(err, &ne) && ne.Timeout():
		writeError(ctx, &apiError{Status: fasthttp.StatusRequestTimeout, Type: typeInvalidRequest, Message: "timed out reading the request"})
	default:
		writeError(ctx, badRequest("", "malformed HTTP request: %v", err))
	}
	s.cors(ctx)
}

// fasthttpLogger sends fasthttp's own messages to the server's logger.
type fasthttpLogger struct{ log *slog.Logger }

// Printf logs one fasthttp message as a warning.
func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn("edge: fasthttp: " + fmt.Sprintf(format, args...))
}
