package edge

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/store"
	"github.com/wasmoe/wasmoe/internal/tenant"
)

// ModulePluginModel is a PluginModel that also runs deployed plugins, named by their module's content;
// *engine.Engine implements it.
type ModulePluginModel interface {
	// PolicyModule returns owner's policy guest of the module with SHA-256 sum (instances serve only
	// their owner) under the model's plugin limits tightened by lim, reading the module with module only
	// when it is not loaded yet; a module that cannot run is an error wrapping engine.ErrBadPlugin that
	// says why.
	PolicyModule(owner string, sum [32]byte, lim engine.PluginLimits, module func() ([]byte, error)) (*wasm.Policy, error)
}

var _ ModulePluginModel = (*engine.Engine)(nil)

// deployed is the answer to a deploy: the new version, the plugin's record after it, and how long the
// module took to compile and start on the node's models.
type deployed struct {
	Version   store.Version `json:"version"`
	Plugin    store.Plugin  `json:"plugin"`
	CompileMS float64       `json:"compile_ms"`
}

// deploy answers POST /v1/plugins/NAME/versions: the body is a bundle (store.BundleContentType), the
// query may give tag, message and percentage (default 100). The module is compiled and started (ctl_init)
// on every model that runs plugins, under the limits it will run with, before the store takes it: a
// module that cannot run is refused with the reason, and the first request after the deploy finds it
// ready.
func (s *Server) deploy(ctx *fasthttp.RequestCtx, st *store.Store, sc scope, name string) {
	if ct, _, _ := mime.ParseMediaType(string(ctx.Request.Header.ContentType())); ct != store.BundleContentType {
		writeError(ctx, &apiError{Status: fasthttp.StatusUnsupportedMediaType, Type: typeInvalidRequest, Code: "unsupported_media_type",
			Message: fmt.Sprintf("Content-Type %q: upload a bundle as %s (wasmoe deploy makes one)", ctx.Request.Header.ContentType(), store.BundleContentType)})
		return
	}
	d, e := parseDeployQuery(ctx.QueryArgs())
	if e != nil {
		writeError(ctx, e)
		return
	}
	b, err := store.DecodeBundle(bytes.NewReader(ctx.PostBody()), st.Limits().MaxModuleBytes)
	if err != nil {
		s.storeFailed(ctx, err)
		return
	}
	if b.Manifest.Name != name {
		writeError(ctx, badRequest("name", "the bundle's manifest names plugin %q, the URL %q", b.Manifest.Name, name))
		return
	}
	d.Tenant, d.Manifest, d.Module = sc.tenant, b.Manifest, b.Module
	if err := st.Check(d); err != nil {
		s.storeFailed(ctx, err)
		return
	}
	start := time.Now()
	if e := s.precompile(sc.owner, b.Module, pluginLimits(sc.limits, b.Manifest.Limits)); e != nil {
		writeError(ctx, e)
		return
	}
	took := time.Since(start)
	v, p, err := st.Deploy(d)
	if err != nil {
		s.storeFailed(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, deployed{Version: v, Plugin: p, CompileMS: float64(took.Microseconds()) / 1000})
}

// parseDeployQuery reads a deploy's tag, message and percentage.
func parseDeployQuery(q *fasthttp.Args) (store.DeployRequest, *apiError) {
	d := store.DeployRequest{Tag: string(q.Peek("tag")), Message: string(q.Peek("message")), Percentage: 100}
	if raw := q.Peek("percentage"); raw != nil {
		p, err := strconv.Atoi(string(raw))
		if err != nil || p < 0 || p > 100 {
			return d, badRequest("percentage", "percentage %q: want a whole number from 0 (upload only) to 100", raw)
		}
		d.Percentage = p
	}
	return d, nil
}

// precompile compiles the module and starts an instance for owner on every model that runs plugins, in
// parallel with other requests (engine loads do not wait for each other).
func (s *Server) precompile(owner string, module []byte, lim engine.PluginLimits) *apiError {
	sum := sha256.Sum256(module)
	ran := false
	for _, id := range s.ids {
		mm, ok := s.models[id].Model.(ModulePluginModel)
		if !ok {
			continue
		}
		ran = true
		if _, err := mm.PolicyModule(owner, sum, lim, func() ([]byte, error) { return module, nil }); err != nil {
			if e := pluginLoadError(err, "", fmt.Sprintf("the module cannot run on model %q", id)); e != nil {
				return e
			}
			s.log.Error("edge: compiling a deployed plugin", "model", id, "err", err)
			return errInternal
		}
	}
	if !ran {
		return badRequest("", "no model on this node runs plugins")
	}
	return nil
}

// pluginLoadError is the 400 of a plugin that does not load (ErrBadPlugin), naming what with prefix; any
// other error is nil (the caller's 500).
func pluginLoadError(err error, param, prefix string) *apiError {
	if !errors.Is(err, engine.ErrBadPlugin) {
		return nil
	}
	msg := strings.TrimPrefix(err.Error(), engine.ErrBadPlugin.Error()+": ")
	return &apiError{Status: fasthttp.StatusBadRequest, Type: typeInvalidRequest, Param: param, Code: "invalid_plugin",
		Message: prefix + ": " + msg}
}

// pluginLimits are the limits a tenant's plugin asks of the engine: each the smaller non-zero of the
// tenant's and the plugin manifest's.
func pluginLimits(t tenant.Limits, m store.PluginLimits) engine.PluginLimits {
	smaller := func(a, b int64) int64 {
		if a == 0 || b != 0 && b < a {
			return b
		}
		return a
	}
	return engine.PluginLimits{
		MemoryMB:    int(smaller(int64(t.PluginMemoryMB), int64(m.MemoryMB))),
		StepTimeout: time.Duration(smaller(int64(t.PluginStepTimeout), int64(m.StepTimeout))),
		CPUBudget:   time.Duration(smaller(int64(t.PluginCPUBudget), int64(m.CPUBudget))),
	}
}
