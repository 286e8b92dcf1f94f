// Package edge is wasmoe's HTTP face: an OpenAI-compatible API (chat completions, completions, models,
// health) on fasthttp, streaming Server-Sent Events exactly as OpenAI does, with DeepSeek's
// reasoning_content (and vLLM's name for it, reasoning) for <think> models, stop strings, and OpenAI-style
// JSON errors; llama-server's /tokenize and /detokenize (tokenize.go) too. /ready says whether
// the node takes requests, and /metrics shows Prometheus metrics with vLLM's meanings (metrics.go).
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
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sort"
	"sync/atomic"
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
	MaxHeaderBytes   int           // largest request line and header block together; larger ones get 431
	DefaultMaxTokens int           // max_tokens of a request that gives none; < 0: until the context is full
	RequestTimeout   time.Duration // longest a generation may run; past it 504 (or an error event)
	ReadTimeout      time.Duration // longest to read a request; twice that is the keep-alive idle limit
	WriteTimeout     time.Duration // longest a stream's event may wait for the client to read; past it the stream is cut off
	CORSOrigin       string        // Access-Control-Allow-Origin for every response; "" sends no CORS headers
	Logger           *slog.Logger  // nil: slog.Default()
	MetricsNames     string        // MetricsNamesVLLM: /metrics shows every metric under vLLM's name too
	MaxTenantLabels  int           // distinct tenants /metrics labels by name; later ones are "other"
	// Tenants are who may use the node; nil or a registry without tenants leaves the node open (every
	// generating request passes), and the admin API needs the registry's admin key.
	Tenants *tenant.Registry
	// Store keeps the tenants' deployed plugins (the /v1/plugins API); nil turns deploying off.
	Store *store.Store
	// Aliases are more names of the served models, alias → a model's ID: a request naming an alias
	// reaches that model, and /v1/models lists every name. An alias of an unknown model, or one that is a
	// model's ID, is logged and left out.
	Aliases map[string]string
	// NoPlayground turns off the web playground at / (playground.go): / is 404 like any unknown path.
	NoPlayground bool

	now func() time.Time // the tenants' quotas' clock; nil: time.Now (tests set a fake one)
}

// DefaultConfig returns 4 MiB bodies, 16 KiB of request headers, 1024 tokens by default, 10-minute
// generations, 1-minute reads, 30-second writes, and metrics under wasmoe's names for up to 100 tenants.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 4 << 20, MaxHeaderBytes: 16 << 10, DefaultMaxTokens: 1024,
		RequestTimeout: 10 * time.Minute, ReadTimeout: time.Minute, WriteTimeout: 30 * time.Second,
		MetricsNames: MetricsNamesWasmoe, MaxTenantLabels: 100}
}

// Server serves one or more models over HTTP.
type Server struct {
	cfg     Config
	log     *slog.Logger
	models  map[string]*served
	ids     []string // sorted
	names   []string // what /v1/models lists: each ID of ids followed by its aliases, sorted
	created int64    // "created" of /v1/models entries: when the server was made
	srv     *fasthttp.Server
	base    context.Context // parent of every generation; cancelled when Shutdown gives up waiting
	stop    context.CancelCauseFunc
	metrics *metrics
	drained atomic.Bool // Drain was called: new generations get 503, and so does /ready
	quotas  *quotas     // what each tenant uses of its limits
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
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = d.MaxHeaderBytes
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
	if cfg.MaxTenantLabels <= 0 {
		cfg.MaxTenantLabels = d.MaxTenantLabels
	}
	s := &Server{cfg: cfg, log: cfg.Logger, models: map[string]*served{}, created: time.Now().Unix(), quotas: newQuotas(cfg.now)}
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
	s.addAliases(cfg.Aliases)
	s.metrics = newMetrics(cfg, s.ids, s.models)
	s.srv = &fasthttp.Server{
		Handler:            s.handle,
		ErrorHandler:       s.requestError,
		Name:               "wasmoe",
		MaxRequestBodySize: cfg.MaxBodyBytes,
		ReadBufferSize:     cfg.MaxHeaderBytes, // the request line and headers must fit it
		ReadTimeout:        cfg.ReadTimeout,
		IdleTimeout:        2 * cfg.ReadTimeout,
		Logger:             fasthttpLogger{s},
		// fasthttp's errors then quote less of the request; neither answers nor logs quote its errors anyway.
		SecureErrorLogMessage: true,
	}
	return s
}

// addAliases serves each model under its aliases too, and lists the names.
func (s *Server) addAliases(aliases map[string]string) {
	byModel := map[string][]string{}
	for alias, id := range aliases {
		sv, ok := s.models[id]
		_, taken := s.models[alias]
		switch {
		case !ok:
			s.log.Warn("edge: an alias names no served model; leaving it out", "alias", alias, "model", id)
		case taken || alias == "":
			s.log.Warn("edge: an alias is empty or a model's ID; leaving it out", "alias", alias, "model", id)
		default:
			byModel[id] = append(byModel[id], alias)
			s.models[alias] = sv
		}
	}
	for _, id := range s.ids {
		sort.Strings(byModel[id])
		s.names = append(append(s.names, id), byModel[id]...)
	}
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(lingerListener{ln}) }

// Drain makes the server refuse new generations (503 with Retry-After) and answer /ready with 503, while
// the running ones go on: a load balancer that polls /ready stops sending it requests. Shutdown drains.
func (s *Server) Drain() { s.drained.Store(true) }

// errDraining answers a generation request to a server that is draining.
var errDraining = &apiError{Status: fasthttp.StatusServiceUnavailable, Type: typeServer, Code: "shutting_down",
	Message: "the server is shutting down; retry on another one"}

// Shutdown drains the server, stops accepting connections and waits for open requests to finish. When ctx
// ends first, the generations still running are cancelled (their streams end with an error event) and
// ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Drain()
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
	"/ready":               {fasthttp.MethodGet, anyone, (*Server).ready},
	"/metrics":             {fasthttp.MethodGet, operator, (*Server).serveMetrics},
	"/admin/tenants":       {fasthttp.MethodGet, adminKey, (*Server).listTenants},
	"/tokenize":            {fasthttp.MethodPost, tenantKey, (*Server).tokenizeText},     // llama-server's
	"/detokenize":          {fasthttp.MethodPost, tenantKey, (*Server).detokenizeTokens}, // llama-server's
	"/":                    {"", anyone, (*Server).playground},                           // the web page; its API calls carry a key
}

// prefixRoutes serve every path under a prefix (one that ends in '/'), for APIs whose paths carry names
// (/admin/tenants/NAME). The first matching prefix wins; exact routes are looked up first.
var prefixRoutes = []prefixRoute{
	{"/admin/tenants/", route{"", adminKey, (*Server).adminTenant}},
	{"/v1/models/", route{fasthttp.MethodGet, tenantKey, (*Server).retrieveModel}},
	{"/models/", route{fasthttp.MethodGet, tenantKey, (*Server).retrieveModel}},
	{playgroundAssetPrefix, route{"", anyone, (*Server).playground}},
}

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

// handle routes a request. A panic anywhere below is logged and answered with 500. A tenant's response
// carries its rate-limit headers, as they stand when the handler returns.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("edge: panic serving request", "path", string(ctx.Path()), "panic", r, "stack", string(debug.Stack()))
			writeError(ctx, errInternal)
		}
		s.cors(ctx)
		if t := tenantOf(ctx); t != nil {
			s.quotas.headers(&ctx.Response.Header, t)
		}
	}()
	rt, ok := findRoute(ctx.Path())
	if !ok {
		writeError(ctx, invalidURL(ctx))
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

// invalidURL is the 404 of a path the server does not serve, worded as OpenAI's.
func invalidURL(ctx *fasthttp.RequestCtx) *apiError {
	return &apiError{Status: fasthttp.StatusNotFound, Type: typeInvalidRequest,
		Message: fmt.Sprintf("Invalid URL (%s %s)", ctx.Method(), ctx.Path())}
}

// cors adds the CORS headers when they are configured.
func (s *Server) cors(ctx *fasthttp.RequestCtx) {
	if s.cfg.CORSOrigin == "" {
		return
	}
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Origin", s.cfg.CORSOrigin)
	h.Set("Access-Control-Expose-Headers", corsExposed)
	if ctx.IsOptions() {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "86400")
	}
}

// corsExposed are the response headers a browser client may read besides the CORS-safelisted ones: the
// rate-limit headers, Retry-After and Location.
const corsExposed = "Retry-After, Location, x-ratelimit-limit-requests, x-ratelimit-remaining-requests, " +
	"x-ratelimit-reset-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens"
