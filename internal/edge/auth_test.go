package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/tenant"
)

// hashKey is the hex SHA-256 of a key, as an operator writes it in the configuration.
func hashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// callAs is call with an Authorization header ("" sends none).
func callAs(s *Server, auth, method, path, body string) response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	ctx.Request.SetBodyString(body)
	if auth != "" {
		ctx.Request.Header.Set(fasthttp.HeaderAuthorization, auth)
	}
	s.handle(&ctx)
	return response{ctx.Response.StatusCode(), &ctx.Response.Header, append([]byte(nil), ctx.Response.Body()...)}
}

// tenantServer serves a fake model to one tenant, acme (key "acme-key"), with the admin key "root".
func tenantServer(t *testing.T) (*Server, *fakeModel) {
	t.Helper()
	reg, err := tenant.New(tenant.Config{Admin: tenant.Admin{KeySHA256: hashKey("root")},
		Tenants: []tenant.Tenant{{Name: "acme", KeySHA256: []string{hashKey("acme-key")}}}})
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeModel{pieces: []string{"hi"}}
	cfg := DefaultConfig()
	cfg.Logger, cfg.Tenants = quiet, reg
	return NewServer(cfg, m), m
}

func TestAuthorize(t *testing.T) {
	s, _ := tenantServer(t)
	body := `{"prompt":"x","max_tokens":1}`
	for _, c := range []struct {
		auth, method, path string
		status             int
		code               string
	}{
		{"", "POST", "/v1/completions", 401, "missing_api_key"},
		{"Bearer nope", "POST", "/v1/completions", 401, "invalid_api_key"},
		{"Basic YWNtZTprZXk=", "POST", "/v1/completions", 401, "missing_api_key"},
		{"Bearer acme-key", "POST", "/v1/completions", 200, ""},
		{"Bearer root", "POST", "/v1/completions", 200, ""}, // the operator may call any route
		{"", "GET", "/v1/models", 401, "missing_api_key"},
		{"Bearer acme-key", "GET", "/v1/models", 200, ""},
		{"", "GET", "/health", 200, ""}, // probes need no key
		{"", "GET", "/ready", 200, ""},
		{"", "GET", "/metrics", 401, "missing_api_key"}, // every tenant's traffic: the operator's only
		{"Bearer acme-key", "GET", "/metrics", 403, "forbidden"},
		{"Bearer root", "GET", "/metrics", 200, ""},
	} {
		r := callAs(s, c.auth, c.method, c.path, body)
		if r.status != c.status {
			t.Errorf("%s %s with %q: status %d, want %d: %s", c.method, c.path, c.auth, r.status, c.status, r.body)
			continue
		}
		if c.code != "" {
			e, _ := r.object(t)["error"].(map[string]any)
			if e["code"] != c.code || e["type"] != typeInvalidRequest {
				t.Errorf("%s %s with %q: error %v, want code %s", c.method, c.path, c.auth, e, c.code)
			}
		}
	}
}

// Without tenants the node stays open, whatever Authorization says.
func TestOpenNodeAuthorize(t *testing.T) {
	reg, err := tenant.New(tenant.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Logger, cfg.Tenants = quiet, reg
	s := NewServer(cfg, &fakeModel{pieces: []string{"hi"}})
	for _, auth := range []string{"", "Bearer wrong"} {
		if r := callAs(s, auth, "POST", "/v1/completions", `{"prompt":"x","max_tokens":1}`); r.status != 200 {
			t.Errorf("open node, Authorization %q: %d %s", auth, r.status, r.body)
		}
	}
}

// Admin routes take only the admin key, and are off without one; prefix routes serve the paths under
// their prefix only.
func TestAdminAccessAndPrefixRoutes(t *testing.T) {
	saved := prefixRoutes
	t.Cleanup(func() { prefixRoutes = saved })
	prefixRoutes = append(prefixRoutes, prefixRoute{"/admin/test/", route{"", adminKey, func(_ *Server, ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString(string(ctx.Method()) + " " + string(ctx.Path()))
	}}})
	s, _ := tenantServer(t)
	for _, c := range []struct {
		auth, path string
		status     int
	}{
		{"Bearer root", "/admin/test/x", 200},
		{"Bearer acme-key", "/admin/test/x", 403},
		{"Bearer nope", "/admin/test/x", 403},
		{"", "/admin/test/x", 401},
		{"Bearer root", "/admin/test/", 404}, // the prefix itself names nothing
		{"Bearer root", "/admin/testx", 404},
	} {
		r := callAs(s, c.auth, "DELETE", c.path, "")
		if r.status != c.status {
			t.Errorf("%q %s: %d, want %d: %s", c.auth, c.path, r.status, c.status, r.body)
		} else if c.status == 200 && string(r.body) != "DELETE "+c.path {
			t.Errorf("%s: body %q", c.path, r.body)
		}
	}
	open := NewServer(Config{Logger: quiet}, &fakeModel{})
	if r := callAs(open, "Bearer root", "GET", "/admin/test/x", ""); r.status != 404 {
		t.Errorf("admin route without an admin key: %d %s", r.status, r.body)
	}
}

// A closed node without an admin key shows its metrics to nobody: they would show every tenant's traffic.
func TestMetricsNeedAnAdminKey(t *testing.T) {
	reg, err := tenant.New(tenant.Config{Tenants: []tenant.Tenant{{Name: "acme", KeySHA256: []string{hashKey("acme-key")}}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Logger, cfg.Tenants = quiet, reg
	s := NewServer(cfg, &fakeModel{pieces: []string{"hi"}})
	for _, auth := range []string{"", "Bearer acme-key"} {
		r := callAs(s, auth, "GET", "/metrics", "")
		if e, _ := r.object(t)["error"].(map[string]any); r.status != 404 || e["code"] != "admin_disabled" {
			t.Errorf("/metrics with %q: %d %s", auth, r.status, r.body)
		}
	}
}
