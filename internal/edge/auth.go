package edge

import (
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/tenant"
)

// access is who may call a route.
type access int

const (
	anyone    access = iota // probes: health, readiness, metrics
	tenantKey               // a tenant's key, or anyone when the node has no tenants
	adminKey                // the admin key (Config.Tenants' [admin]); without one configured, nobody
	operator                // anyone on an open node, else the admin key: /metrics, which shows every tenant
)

// tenantValue is the request's user-value key under which authorize leaves the caller's tenant.
const tenantValue = "wasmoe.tenant"

// errNoKey and errBadKey are the 401s of a missing and an unknown key, in OpenAI's shape.
var (
	errNoKey = &apiError{Status: fasthttp.StatusUnauthorized, Type: typeInvalidRequest, Code: "missing_api_key",
		Message: "You didn't provide an API key. Send it in the Authorization header: Authorization: Bearer KEY."}
	errBadKey = &apiError{Status: fasthttp.StatusUnauthorized, Type: typeInvalidRequest, Code: "invalid_api_key",
		Message: "Incorrect API key provided."}
	errNotAdmin = &apiError{Status: fasthttp.StatusForbidden, Type: typeInvalidRequest, Code: "forbidden",
		Message: "This route needs the node's admin key."}
	errNoAdmin = &apiError{Status: fasthttp.StatusNotFound, Type: typeInvalidRequest, Code: "admin_disabled",
		Message: "This route needs the node's admin key, and the node's configuration has no [admin] key_sha256."}
)

// authorize checks the caller against the route's access and, for tenant routes, leaves the caller's
// tenant for tenantOf. The admin key also passes tenant routes, as no tenant (no tenant limits apply).
func (s *Server) authorize(ctx *fasthttp.RequestCtx, a access) *apiError {
	reg := s.cfg.Tenants
	auth := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	switch a {
	case tenantKey:
		if reg == nil {
			return nil
		}
		t, err := reg.Authenticate(auth)
		switch {
		case errors.Is(err, tenant.ErrMissingKey):
			return errNoKey
		case errors.Is(err, tenant.ErrUnknownKey) && reg.IsAdmin(auth):
			return nil
		case err != nil:
			return errBadKey
		}
		if t != nil {
			ctx.SetUserValue(tenantValue, t)
		}
		return nil
	case operator, adminKey:
		switch {
		case a == operator && (reg == nil || reg.Open()):
			return nil // an open node's metrics are anyone's, as before tenancy
		case reg == nil || !reg.HasAdmin():
			return errNoAdmin
		case len(auth) == 0:
			return errNoKey
		case !reg.IsAdmin(auth):
			return errNotAdmin
		}
		return nil
	}
	return nil
}

// tenantOf returns the tenant authorize found for the request: nil on an open node or for the admin.
func tenantOf(ctx *fasthttp.RequestCtx) *tenant.Tenant {
	t, _ := ctx.UserValue(tenantValue).(*tenant.Tenant)
	return t
}
