package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/store"
	"github.com/wasmoe/wasmoe/internal/tenant"
)

// The plugin API: a tenant's deployed policy plugins (README.md, Deploying plugins), with the tenant's
// key. The admin key acts on any tenant's with ?tenant=NAME; on an open node everything is one anonymous
// tenant's.
//
//	GET    /v1/plugins                          the plugins
//	GET    /v1/plugins/NAME                     one plugin: its deployment and the previous one
//	DELETE /v1/plugins/NAME                     delete it, every version with it
//	GET    /v1/plugins/NAME/versions            its versions, newest first
//	POST   /v1/plugins/NAME/versions            upload a bundle (deploy.go)
//	DELETE /v1/plugins/NAME/versions/ID         delete a version no deployment uses
//	GET    /v1/plugins/NAME/deployment          where its traffic goes
//	PUT    /v1/plugins/NAME/deployment          route it: {"versions":[{"version_id":N,"percentage":P},…]}
//	POST   /v1/plugins/NAME/rollback            {"version_id":N}, or no body: the previous deployment
func init() {
	routes["/v1/plugins"] = route{fasthttp.MethodGet, tenantKey, (*Server).listPlugins}
	prefixRoutes = append(prefixRoutes, prefixRoute{"/v1/plugins/", route{"", tenantKey, (*Server).pluginAPI}})
}

// scope is whose plugins a request acts on: the store's tenant name ("" on an open node) and the
// tenant's limits.
type scope struct {
	tenant string // the store's name for the tenant ("" on an open node)
	owner  string // the engine's: tenant.Tenant.ID, so a tenant made again under a name gets fresh instances
	limits tenant.Limits
}

// errNoStore answers the plugin API on a node without a store.
var errNoStore = &apiError{Status: fasthttp.StatusNotFound, Type: typeInvalidRequest, Code: "deploy_disabled",
	Message: "Deploying plugins is off: this node has no store (wasmoe serve --store FILE)."}

// pluginScope returns the store and the scope of a plugin API request: the caller's tenant; on an open
// node the anonymous one; for the admin key the tenant its ?tenant= names.
func (s *Server) pluginScope(ctx *fasthttp.RequestCtx) (*store.Store, scope, *apiError) {
	st := s.cfg.Store
	if st == nil {
		return nil, scope{}, errNoStore
	}
	if t := tenantOf(ctx); t != nil {
		return st, scope{t.Name, t.ID(), t.Limits}, nil
	}
	reg := s.cfg.Tenants
	if reg == nil || reg.Open() {
		return st, scope{}, nil
	}
	name := string(ctx.QueryArgs().Peek("tenant"))
	if name == "" {
		return nil, scope{}, badRequest("tenant", "the admin key acts on one tenant's plugins: add ?tenant=NAME")
	}
	t, ok := reg.Get(name)
	if !ok {
		return nil, scope{}, &apiError{Status: fasthttp.StatusNotFound, Type: typeInvalidRequest, Param: "tenant", Code: "tenant_not_found",
			Message: fmt.Sprintf("no tenant %q", name)}
	}
	return st, scope{t.Name, t.ID(), t.Limits}, nil
}

// storeError turns a store error into the API's: 404, 400, 409 (a limit or a conflict), 413.
func storeError(err error) *apiError {
	msg := err.Error()
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{store.ErrNotFound, fasthttp.StatusNotFound, "not_found"},
		{store.ErrInvalid, fasthttp.StatusBadRequest, "invalid_value"},
		{store.ErrLimit, fasthttp.StatusConflict, "limit_reached"},
		{store.ErrConflict, fasthttp.StatusConflict, "conflict"},
		{store.ErrTooLarge, fasthttp.StatusRequestEntityTooLarge, "request_too_large"},
	} {
		if errors.Is(err, c.err) {
			return &apiError{Status: c.status, Type: typeInvalidRequest, Code: c.code, Message: msg}
		}
	}
	return nil
}

// storeFailed answers a store error: the API's error when it is one, else 500 (logged).
func (s *Server) storeFailed(ctx *fasthttp.RequestCtx, err error) {
	if e := storeError(err); e != nil {
		writeError(ctx, e)
		return
	}
	s.log.Error("edge: the plugin store failed", "path", string(ctx.Path()), "err", err)
	writeError(ctx, errInternal)
}

// listPlugins answers GET /v1/plugins.
func (s *Server) listPlugins(ctx *fasthttp.RequestCtx) {
	st, sc, e := s.pluginScope(ctx)
	if e != nil {
		writeError(ctx, e)
		return
	}
	ps, err := st.Plugins(sc.tenant)
	if err != nil {
		s.storeFailed(ctx, err)
		return
	}
	if ps == nil {
		ps = []store.Plugin{}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"object": "list", "data": ps})
}

// pluginAPI routes the paths under /v1/plugins/ by their parts and method.
func (s *Server) pluginAPI(ctx *fasthttp.RequestCtx) {
	st, sc, e := s.pluginScope(ctx)
	if e != nil {
		writeError(ctx, e)
		return
	}
	parts := strings.Split(strings.TrimPrefix(string(ctx.Path()), "/v1/plugins/"), "/")
	name, method := parts[0], string(ctx.Method())
	if method == fasthttp.MethodHead {
		method = fasthttp.MethodGet
	}
	if err := store.ValidName(name); err != nil {
		s.storeFailed(ctx, err)
		return
	}
	var methods []string // the endpoint's
	switch path := strings.Join(parts[1:], "/"); {
	case len(parts) == 1:
		methods = []string{fasthttp.MethodGet, fasthttp.MethodDelete}
	case path == "versions":
		methods = []string{fasthttp.MethodGet, fasthttp.MethodPost}
	case len(parts) == 3 && parts[1] == "versions":
		methods = []string{fasthttp.MethodDelete}
	case path == "deployment":
		methods = []string{fasthttp.MethodGet, fasthttp.MethodPut}
	case path == "rollback":
		methods = []string{fasthttp.MethodPost}
	default:
		writeError(ctx, &apiError{Status: fasthttp.StatusNotFound, Type: typeInvalidRequest,
			Message: fmt.Sprintf("Invalid URL (%s %s)", ctx.Method(), ctx.Path())})
		return
	}
	if !slices.Contains(methods, method) {
		writeError(ctx, &apiError{Status: fasthttp.StatusMethodNotAllowed, Type: typeInvalidRequest,
			Message: fmt.Sprintf("method %s is not allowed on %s; use %s", ctx.Method(), ctx.Path(), strings.Join(methods, " or "))})
		ctx.Response.Header.Set("Allow", strings.Join(methods, ", "))
		return
	}
	switch method + " " + strings.Join(parts[1:min(len(parts), 2)], "") {
	case "GET ":
		p, _, err := st.Plugin(sc.tenant, name)
		s.respondStore(ctx, p, err)
	case "DELETE ":
		s.respondStore(ctx, map[string]any{"deleted": name}, st.DeletePlugin(sc.tenant, name))
	case "GET versions":
		_, vs, err := st.Plugin(sc.tenant, name)
		s.respondStore(ctx, map[string]any{"object": "list", "data": vs}, err)
	case "POST versions":
		s.deploy(ctx, st, sc, name)
	case "DELETE versions":
		id, err := strconv.ParseUint(parts[2], 10, 64)
		if err != nil {
			writeError(ctx, badRequest("", "version %q: a version id is a number", parts[2]))
			return
		}
		s.respondStore(ctx, map[string]any{"deleted": id}, st.DeleteVersion(sc.tenant, name, id))
	case "GET deployment":
		p, _, err := st.Plugin(sc.tenant, name)
		s.respondStore(ctx, p.Deployment, err)
	case "PUT deployment":
		d, e := parseDeployment(ctx.PostBody())
		if e != nil {
			writeError(ctx, e)
			return
		}
		p, err := st.SetDeployment(sc.tenant, name, d)
		s.respondStore(ctx, p, err)
	case "POST rollback":
		id, e := parseRollback(ctx.PostBody())
		if e != nil {
			writeError(ctx, e)
			return
		}
		p, err := st.Rollback(sc.tenant, name, id)
		s.respondStore(ctx, p, err)
	}
}

// respondStore answers v with 200, or the store's error.
func (s *Server) respondStore(ctx *fasthttp.RequestCtx, v any, err error) {
	if err != nil {
		s.storeFailed(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, v)
}

// parseDeployment reads a deployment body: {"versions":[{"version_id":N,"percentage":P},…]}, as
// Cloudflare's deployments API takes it ("strategy", if given, must be "percentage").
func parseDeployment(body []byte) (store.Deployment, *apiError) {
	var req struct {
		Strategy string        `json:"strategy"`
		Versions []store.Share `json:"versions"`
	}
	if e := decodeStrict(body, &req); e != nil {
		return store.Deployment{}, e
	}
	if req.Strategy != "" && req.Strategy != "percentage" {
		return store.Deployment{}, badRequest("strategy", "strategy %q: the only one is \"percentage\"", req.Strategy)
	}
	return store.Deployment{Versions: req.Versions}, nil
}

// parseRollback reads a rollback body: empty, {} (the previous deployment) or {"version_id":N}.
func parseRollback(body []byte) (uint64, *apiError) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return 0, nil
	}
	var req struct {
		Version uint64 `json:"version_id"`
	}
	if e := decodeStrict(body, &req); e != nil {
		return 0, e
	}
	return req.Version, nil
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and trailing data.
func decodeStrict(body []byte, v any) *apiError {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("", "the request body: %v", err)
	}
	if dec.More() {
		return badRequest("", "the request body: text after the JSON object")
	}
	return nil
}
