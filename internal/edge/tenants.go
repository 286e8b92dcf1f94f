package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/store"
	"github.com/wasmoe/wasmoe/internal/tenant"
)

// The admin API over the node's tenants (admin key only): GET /admin/tenants lists them, and
// /admin/tenants/NAME is one tenant, to GET, PUT (create or replace) or DELETE. Tenants are shown as they
// are stored: names, SHA-256 hashes of their keys, limits. A change applies to the next request.

// tenantsPrefix is the path under which each tenant is a resource.
const tenantsPrefix = "/admin/tenants/"

// maxTenantBody bounds a PUT body: a tenant is a name, a few key hashes and its limits.
const maxTenantBody = 64 << 10

// tenantList is the body of GET /admin/tenants, a list in OpenAI's shape.
type tenantList struct {
	Object string          `json:"object"`
	Data   []tenant.Tenant `json:"data"`
}

// listTenants answers GET /admin/tenants: every tenant, in the order they were added.
func (s *Server) listTenants(ctx *fasthttp.RequestCtx) {
	ts := s.cfg.Tenants.Config().Tenants
	if ts == nil {
		ts = []tenant.Tenant{}
	}
	writeJSON(ctx, fasthttp.StatusOK, tenantList{Object: "list", Data: ts})
}

// adminTenant answers the methods on /admin/tenants/NAME.
func (s *Server) adminTenant(ctx *fasthttp.RequestCtx) {
	name := string(ctx.Path()[len(tenantsPrefix):])
	if strings.Contains(name, "/") {
		writeError(ctx, &apiError{Status: fasthttp.StatusNotFound, Type: typeInvalidRequest,
			Message: fmt.Sprintf("Invalid URL (%s %s)", ctx.Method(), ctx.Path())})
		return
	}
	switch string(ctx.Method()) {
	case fasthttp.MethodGet, fasthttp.MethodHead:
		s.getTenant(ctx, name)
	case fasthttp.MethodPut:
		s.putTenant(ctx, name)
	case fasthttp.MethodDelete:
		s.deleteTenant(ctx, name)
	default:
		writeError(ctx, &apiError{Status: fasthttp.StatusMethodNotAllowed, Type: typeInvalidRequest,
			Message: fmt.Sprintf("method %s is not allowed on %s; use GET, PUT or DELETE", ctx.Method(), ctx.Path())})
		ctx.Response.Header.Set("Allow", "GET, PUT, DELETE")
	}
}

// getTenant answers GET /admin/tenants/NAME.
func (s *Server) getTenant(ctx *fasthttp.RequestCtx, name string) {
	t, ok := s.cfg.Tenants.Get(name)
	if !ok {
		writeError(ctx, noTenant(name))
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, t)
}

// putTenant answers PUT /admin/tenants/NAME: the body is the whole tenant, which replaces the one of that
// name (200) or is added (201). The tenant's quota use carries over a replacement.
func (s *Server) putTenant(ctx *fasthttp.RequestCtx, name string) {
	t, e := parseTenant(name, ctx.PostBody())
	if e != nil {
		writeError(ctx, e)
		return
	}
	created, err := s.cfg.Tenants.Put(t)
	if err != nil {
		writeError(ctx, s.tenancyError(err))
		return
	}
	status := fasthttp.StatusOK
	if created {
		status = fasthttp.StatusCreated
		ctx.Response.Header.Set(fasthttp.HeaderLocation, tenantsPrefix+name)
	}
	stored, _ := s.cfg.Tenants.Get(name)
	writeJSON(ctx, status, stored)
}

// deleteTenant answers DELETE /admin/tenants/NAME: 204, and the tenant's keys stop working at once.
func (s *Server) deleteTenant(ctx *fasthttp.RequestCtx, name string) {
	if st := s.cfg.Store; st != nil {
		if _, ok := s.cfg.Tenants.Get(name); ok {
			if err := deletePlugins(st, name); err != nil {
				s.storeFailed(ctx, err)
				return
			}
		}
	}
	if err := s.cfg.Tenants.Delete(name); err != nil {
		if errors.Is(err, tenant.ErrNotFound) {
			writeError(ctx, noTenant(name))
		} else {
			writeError(ctx, s.tenancyError(err))
		}
		return
	}
	s.quotas.forget(name)
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// deletePlugins deletes every plugin a tenant deployed: a tenant made again under the name starts with
// none (the store keys plugins by name).
func deletePlugins(st *store.Store, name string) error {
	ps, err := st.Plugins(name)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := st.DeletePlugin(name, p.Name); err != nil {
			return err
		}
	}
	return nil
}

// noTenant is the 404 of a tenant that does not exist.
func noTenant(name string) *apiError {
	return &apiError{Status: fasthttp.StatusNotFound, Type: typeInvalidRequest, Code: "tenant_not_found",
		Message: fmt.Sprintf("no tenant is called %q", name)}
}

// tenancyError maps an error of a registry change: an invalid tenancy is the client's 400, naming the
// field; anything else (the tenancy could not be saved) is logged and answered with 500.
func (s *Server) tenancyError(err error) *apiError {
	if errors.Is(err, tenant.ErrInvalid) {
		return invalidTenant(err)
	}
	s.log.Error("edge: the tenancy did not change", "err", err)
	return &apiError{Status: fasthttp.StatusInternalServerError, Type: typeServer,
		Message: "the change could not be saved; the tenants are as they were"}
}

// invalidTenant is the 400 of a tenant that does not validate, naming its field.
func invalidTenant(err error) *apiError {
	var fe *tenant.FieldError
	if !errors.As(err, &fe) {
		return badRequest("", "%v", err)
	}
	return badRequest(fe.Field, "%s: %s", fe.Field, fe.Reason)
}

// parseTenant reads a PUT body for the tenant called name: one JSON object as tenant.Tenant marshals it
// (unknown fields refused; "name" may be left out, and must be name if given), which must validate.
func parseTenant(name string, body []byte) (tenant.Tenant, *apiError) {
	var t tenant.Tenant
	if len(body) > maxTenantBody {
		return t, &apiError{Status: fasthttp.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Code: "request_too_large",
			Message: fmt.Sprintf("a tenant's body may be at most %d bytes, got %d", maxTenantBody, len(body))}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return t, badRequest("", "the request body is empty; send the tenant as a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return tenant.Tenant{}, tenantBodyError(body, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return tenant.Tenant{}, badRequest("", "the request body must be one JSON object, with nothing after it")
	}
	switch {
	case t.Name == "":
		t.Name = name
	case t.Name != name:
		return tenant.Tenant{}, badRequest("name", "name %q differs from the tenant in the path, %q", t.Name, name)
	}
	if err := t.Validate(); err != nil {
		return tenant.Tenant{}, invalidTenant(err)
	}
	return t, nil
}

// tenantBodyError is the 400 of a PUT body that does not decode, naming the field at fault when there
// is one.
func tenantBodyError(body []byte, err error) *apiError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return badRequest("", "the request body is not valid JSON: %v (byte %d)", se, se.Offset)
	case errors.As(err, &te) && te.Field == "":
		return badRequest("", "the request body must be a JSON object, not %s", te.Value)
	case errors.As(err, &te):
		field, kind := strings.TrimPrefix(te.Field, "Limits."), kindName(te.Type) // the embedded struct's name is no JSON field
		if te.Type == reflect.TypeFor[tenant.Duration]() {
			kind = `a duration string such as "100ms"`
		}
		return badRequest(field, "%s must be %s, not %s", field, kind, te.Value)
	}
	if key, ferr := culprit(body); key != "" {
		msg := strings.TrimPrefix(ferr.Error(), "json: ")
		if !strings.HasPrefix(msg, "unknown field") {
			msg = key + ": " + msg
		}
		return badRequest(key, "%s", msg)
	}
	return badRequest("", "the request body is not valid JSON: %v", err)
}

// culprit finds the top-level field of a JSON object that does not decode into a tenant on its own (an
// unknown field, a duration that does not parse), and its error; "" when there is none.
func culprit(body []byte) (string, error) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return "", nil
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		one, _ := json.Marshal(map[string]json.RawMessage{k: fields[k]})
		dec := json.NewDecoder(bytes.NewReader(one))
		dec.DisallowUnknownFields()
		var t tenant.Tenant
		if err := dec.Decode(&t); err != nil {
			return k, err
		}
	}
	return "", nil
}
