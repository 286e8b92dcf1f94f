package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
)

// PluginModel is a Model that runs policy plugins (guest/ABI-v1.md); *engine.Engine implements it.
// Requests name a plugin in "plugin", and response_format asks for the built-in one
// (engine.BuiltinPolicy). A Model without it serves no plugins: such requests get 400.
type PluginModel interface {
	// Policy returns the plugin called name; an unknown or broken one is an error wrapping
	// engine.ErrBadPlugin.
	Policy(name string) (*wasm.Policy, error)
}

var _ PluginModel = (*engine.Engine)(nil)

// pluginConfig turns the request's plugin_config into the plugin's config bytes: a JSON string is its
// contents, any other value its JSON text, null or absent nothing.
func pluginConfig(raw json.RawMessage) ([]byte, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil { // cannot happen: the body decoded
			return nil, badRequest("plugin_config", "plugin_config: %v", err)
		}
		return []byte(s), nil
	}
	return append([]byte(nil), raw...), nil
}

// usePlugin makes the generation run under the plugin called name with config; param is the request
// field that asked for it, named in errors.
func (g *generation) usePlugin(name string, config []byte, param string) {
	g.plugin, g.pluginConfig, g.pluginParam = name, config, param
}

// resolvePlugin loads the generation's plugin, if it has one: one the caller deployed, or else one of
// the model's (the plugin directory, the built-in policy).
func (s *Server) resolvePlugin(ctx *fasthttp.RequestCtx, sv *served, g *generation) *apiError {
	if g.plugin == "" {
		return nil
	}
	if p, e, ok := s.deployedPolicy(ctx, sv, g); ok {
		g.policy = p
		return e
	}
	pm, ok := sv.Model.(PluginModel)
	if !ok {
		return badRequest(g.pluginParam, "plugin %q: model %q does not run plugins", g.plugin, sv.info.ID)
	}
	p, err := pm.Policy(g.plugin)
	switch {
	case err != nil && errors.Is(err, engine.ErrBadPlugin):
		msg := strings.TrimPrefix(err.Error(), engine.ErrBadPlugin.Error()+": ")
		if quoted := fmt.Sprintf("%q", g.plugin); !strings.Contains(msg, quoted) {
			msg = "plugin " + quoted + ": " + msg
		}
		return badRequest(g.pluginParam, "%s", msg)
	case err != nil:
		s.log.Error("edge: loading a plugin", "plugin", g.plugin, "model", sv.info.ID, "err", err)
		return errInternal
	case p == nil:
		s.log.Error("edge: the model returned no plugin and no error", "plugin", g.plugin, "model", sv.info.ID)
		return errInternal
	}
	g.policy = p
	return nil
}

// pluginFailure is the error of a generation whose plugin failed, or nil when err is not the plugin's:
// a guest that trapped, ran past its deadline or budget, answered a malformed action (internal/host/wasm: "wasm:"
// errors) or steered the engine somewhere it refuses ("engine: the policy …"). The message carries the
// guest's log tail that the error quotes. It is a 400: the tenant's code failed, not the server.
func pluginFailure(g *generation, err error) *apiError {
	if g.policy == nil || !pluginError(err) {
		return nil
	}
	return &apiError{Status: fasthttp.StatusBadRequest, Type: typePlugin, Param: g.pluginParam, Code: "plugin_failed",
		Message: fmt.Sprintf("plugin %q failed: %s", g.plugin, err.Error())}
}

// pluginError reports whether err, from a generation with a plugin, is the plugin's: an error of the wasm
// host ("wasm:") or the engine refusing what the policy asked ("engine: the policy …").
func pluginError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "wasm:") || strings.Contains(msg, "engine: the policy")
}
