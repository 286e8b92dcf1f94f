package edge

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/store"
)

// pluginVersionHeader tells the client which deployed version ran its request: NAME@ID, or the module's
// sha256: reference.
const pluginVersionHeader = "Wasmoe-Plugin-Version"

// deployedPolicy looks the generation's "plugin" up among the caller's deployed plugins: "NAME" (its
// deployment; of a split, a version drawn at random with the split's percentages, per request), "NAME@ID",
// "NAME@TAG" or "sha256:HEX". It runs under the tenant's plugin limits tightened by the plugin's own. ok
// is false when the caller has no deployed plugin by a plain NAME (the node's plugin directory and the
// built-in policy are looked up then) or none at all (no store; the admin key, which has no namespace).
func (s *Server) deployedPolicy(ctx *fasthttp.RequestCtx, sv *served, g *generation) (_ *wasm.Policy, _ *apiError, ok bool) {
	st := s.cfg.Store
	if st == nil || g.pluginParam != "plugin" {
		return nil, nil, false
	}
	var sc scope
	if t := tenantOf(ctx); t != nil {
		sc = scope{t.Name, t.ID(), t.Limits}
	} else if reg := s.cfg.Tenants; reg != nil && !reg.Open() {
		return nil, nil, false
	}
	r, err := st.Resolve(sc.tenant, g.plugin, rand.IntN(100))
	switch {
	case errors.Is(err, store.ErrUnknownPlugin) && !strings.ContainsAny(g.plugin, "@:"):
		return nil, nil, false
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid):
		return nil, &apiError{Status: fasthttp.StatusBadRequest, Type: typeInvalidRequest, Param: g.pluginParam, Code: "plugin_not_found",
			Message: fmt.Sprintf("plugin %q: %v", g.plugin, err)}, true
	case err != nil:
		s.log.Error("edge: resolving a deployed plugin", "plugin", g.plugin, "err", err)
		return nil, errInternal, true
	}
	mm, isMM := sv.Model.(ModulePluginModel)
	if !isMM {
		return nil, badRequest(g.pluginParam, "plugin %q: model %q does not run plugins", g.plugin, sv.info.ID), true
	}
	p, err := mm.PolicyModule(sc.owner, r.Sum, pluginLimits(sc.limits, r.Limits), func() ([]byte, error) { return st.Module(sc.tenant, r.Sum) })
	if err != nil {
		if e := pluginLoadError(err, g.pluginParam, fmt.Sprintf("plugin %q", g.plugin)); e != nil {
			return nil, e, true
		}
		s.log.Error("edge: loading a deployed plugin", "plugin", g.plugin, "model", sv.info.ID, "err", err)
		return nil, errInternal, true
	}
	if r.Plugin != "" {
		ctx.Response.Header.Set(pluginVersionHeader, fmt.Sprintf("%s@%d", r.Plugin, r.Version))
	} else {
		ctx.Response.Header.Set(pluginVersionHeader, fmt.Sprintf("sha256:%x", r.Sum))
	}
	return p, nil, true
}
