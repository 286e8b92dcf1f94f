package edge

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/tenant"
)

// httpResponse is what httpCall returns.
type httpResponse struct {
	status int
	header http.Header
	body   []byte
}

// httpCall makes one HTTP request with key as its bearer token ("" sends no Authorization).
func httpCall(t *testing.T, method, url, key, body string) httpResponse {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return httpResponse{resp.StatusCode, resp.Header, b}
}

// apiErr decodes an OpenAI error body and checks the status.
func (r httpResponse) apiErr(t *testing.T, status int) errorJSON {
	t.Helper()
	var v struct {
		Error *errorJSON `json:"error"`
	}
	if err := json.Unmarshal(r.body, &v); err != nil || v.Error == nil || v.Error.Message == "" {
		t.Fatalf("status %d, not an OpenAI error body: %q", r.status, r.body)
	}
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return *v.Error
}

// str is a nullable JSON string as a plain one ("" for null).
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// now is the clock's time.
func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// advance moves the clock on by d.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// startTenants serves m over HTTP to the tenants of cfg, with the admin key "root", under clock (nil:
// the real one).
func startTenants(t *testing.T, cfg tenant.Config, clock *fakeClock, m Model) (*Server, string) {
	t.Helper()
	cfg.Admin.KeySHA256 = hashKey("root")
	reg, err := tenant.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Tenants = reg
	if clock != nil {
		c.now = clock.now
	}
	return startServer(t, c, m)
}

// acme is a tenant with the key "acme-key" and limits l.
func acme(l tenant.Limits) tenant.Config {
	return tenant.Config{Tenants: []tenant.Tenant{{Name: "acme", KeySHA256: []string{hashKey("acme-key")}, Limits: l}}}
}

const completion1 = `{"prompt":"x","max_tokens":1}`

// Keys through HTTP: a missing or unknown key is refused, and the admin API's changes apply to the next
// request: a replaced key stops working, a new tenant's key starts.
func TestTenantKeysHTTP(t *testing.T) {
	_, url := startTenants(t, acme(tenant.Limits{}), nil, &fakeModel{pieces: []string{"hi"}})
	gen := url + "/v1/completions"
	for _, c := range []struct {
		key    string
		status int
		code   string
	}{{"", 401, "missing_api_key"}, {"wrong", 401, "invalid_api_key"}, {"acme-key", 200, ""}} {
		r := httpCall(t, "POST", gen, c.key, completion1)
		if c.status != 200 {
			if e := r.apiErr(t, c.status); str(e.Code) != c.code {
				t.Errorf("key %q: code %q, want %q", c.key, str(e.Code), c.code)
			}
		} else if r.status != 200 {
			t.Errorf("key %q: %d %s", c.key, r.status, r.body)
		}
	}

	replaced := `{"key_sha256":["` + hashKey("acme-key-2") + `"]}`
	if r := httpCall(t, "PUT", url+"/admin/tenants/acme", "root", replaced); r.status != 200 {
		t.Fatalf("replacing acme's keys: %d %s", r.status, r.body)
	}
	if e := httpCall(t, "POST", gen, "acme-key", completion1).apiErr(t, 401); str(e.Code) != "invalid_api_key" {
		t.Errorf("revoked key: %+v", e)
	}
	if r := httpCall(t, "POST", gen, "acme-key-2", completion1); r.status != 200 {
		t.Errorf("new key: %d %s", r.status, r.body)
	}

	if r := httpCall(t, "POST", gen, "beta-key", completion1); r.status != 401 {
		t.Fatalf("beta before it exists: %d", r.status)
	}
	if r := httpCall(t, "PUT", url+"/admin/tenants/beta", "root", `{"key_sha256":["`+hashKey("beta-key")+`"]}`); r.status != 201 {
		t.Fatalf("adding beta: %d %s", r.status, r.body)
	}
	if r := httpCall(t, "POST", gen, "beta-key", completion1); r.status != 200 {
		t.Errorf("beta's key after PUT: %d %s", r.status, r.body)
	}
	if r := httpCall(t, "DELETE", url+"/admin/tenants/beta", "root", ""); r.status != 204 {
		t.Fatalf("deleting beta: %d %s", r.status, r.body)
	}
	if r := httpCall(t, "POST", gen, "beta-key", completion1); r.status != 401 {
		t.Errorf("deleted tenant's key: %d %s", r.status, r.body)
	}
}

// A node without tenants serves anyone, and sends no rate-limit headers.
func TestOpenNodeHTTP(t *testing.T) {
	_, url := startServer(t, DefaultConfig(), &fakeModel{pieces: []string{"hi"}})
	for _, key := range []string{"", "anything"} {
		r := httpCall(t, "POST", url+"/v1/completions", key, completion1)
		if r.status != 200 || r.header.Get("x-ratelimit-limit-requests") != "" {
			t.Errorf("open node, key %q: %d %v %s", key, r.status, r.header, r.body)
		}
	}
}

// The admin API answers each method with the status REST gives it, shows tenants as they are stored
// (hashes, never keys), and names the field of an invalid body.
func TestAdminTenantsAPI(t *testing.T) {
	limits := tenant.Limits{RequestsPerMinute: 60, MaxConcurrent: 2, PluginStepTimeout: tenant.Duration(100 * time.Millisecond)}
	_, url := startTenants(t, acme(limits), nil, &fakeModel{})
	admin := url + "/admin/tenants"

	r := httpCall(t, "GET", admin, "root", "")
	var list struct {
		Object string           `json:"object"`
		Data   []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 || list.Object != "list" || len(list.Data) != 1 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	want := map[string]any{"name": "acme", "key_sha256": []any{hashKey("acme-key")}, "requests_per_minute": 60.0,
		"max_concurrent": 2.0, "plugin_step_timeout": "100ms"}
	if !reflect.DeepEqual(list.Data[0], want) || bytes.Contains(r.body, []byte(`"acme-key"`)) {
		t.Errorf("list: %s", r.body)
	}
	if r := httpCall(t, "GET", admin+"/acme", "root", ""); r.status != 200 || !bytes.Contains(r.body, []byte(`"plugin_step_timeout":"100ms"`)) {
		t.Errorf("GET acme: %d %s", r.status, r.body)
	}
	if e := httpCall(t, "GET", admin+"/nope", "root", "").apiErr(t, 404); str(e.Code) != "tenant_not_found" {
		t.Errorf("GET unknown: %+v", e)
	}

	beta := `{"name":"beta","key_sha256":["` + hashKey("b") + `"],"tokens_per_minute":1000,"plugin_cpu_budget":"10s"}`
	r = httpCall(t, "PUT", admin+"/beta", "root", beta)
	if r.status != 201 || r.header.Get("Location") != "/admin/tenants/beta" || !jsonEqual(t, r.body, []byte(beta)) {
		t.Errorf("PUT new: %d %v %s", r.status, r.header, r.body)
	}
	beta2 := `{"key_sha256":["` + hashKey("b2") + `"],"max_tokens":50}` // the name comes from the path
	r = httpCall(t, "PUT", admin+"/beta", "root", beta2)
	if r.status != 200 || !jsonEqual(t, r.body, []byte(`{"name":"beta","key_sha256":["`+hashKey("b2")+`"],"max_tokens":50}`)) {
		t.Errorf("PUT replace: %d %s", r.status, r.body)
	}
	if r := httpCall(t, "GET", admin, "root", ""); !bytes.Contains(r.body, []byte(`"max_tokens":50`)) {
		t.Errorf("the replacement is not listed: %s", r.body)
	}

	h := hashKey("new")
	for _, c := range []struct {
		name, body, param string
	}{
		{"gamma", `{"name":"delta","key_sha256":["` + h + `"]}`, "name"},
		{"Gamma", `{"key_sha256":["` + h + `"]}`, "name"},
		{"gamma", `{}`, "key_sha256"},
		{"gamma", `null`, "key_sha256"},
		{"gamma", `{"key_sha256":["abc"]}`, "key_sha256[0]"},
		{"gamma", `{"key_sha256":["` + h + `","` + strings.Repeat("x", 64) + `"]}`, "key_sha256[1]"},
		{"gamma", `{"key_sha256":["` + h + `"],"max_concurrent":-1}`, "max_concurrent"},
		{"gamma", `{"key_sha256":["` + h + `"],"requests_per_minute":"10"}`, "requests_per_minute"},
		{"gamma", `{"key_sha256":["` + h + `"],"tokens_per_minute":1e30}`, "tokens_per_minute"},
		{"gamma", `{"key_sha256":"` + h + `"}`, "key_sha256"},
		{"gamma", `{"key_sha256":[7]}`, "key_sha256"},
		{"gamma", `{"key_sha256":["` + h + `"],"plugin_step_timeout":"soon"}`, "plugin_step_timeout"},
		{"gamma", `{"key_sha256":["` + h + `"],"plugin_cpu_budget":10}`, "plugin_cpu_budget"},
		{"gamma", `{"key_sha256":["` + h + `"],"rpm":10}`, "rpm"},
		{"gamma", `{"key_sha256":["` + hashKey("acme-key") + `"]}`, "key_sha256[0]"}, // acme's key
		{"gamma", `{"key_sha256":["` + hashKey("root") + `"]}`, "key_sha256[0]"},     // the admin's
		{"gamma", `{"key_sha256":["` + h + `"]} {}`, ""},
		{"gamma", `[{"key_sha256":["` + h + `"]}]`, ""},
		{"gamma", `{"key_sha256":["` + h + `"]`, ""},
		{"gamma", ``, ""},
	} {
		e := httpCall(t, "PUT", admin+"/"+c.name, "root", c.body).apiErr(t, 400)
		if str(e.Param) != c.param || e.Type != typeInvalidRequest {
			t.Errorf("PUT %s %s: param %q, want %q (%s)", c.name, c.body, str(e.Param), c.param, e.Message)
		}
	}
	if r := httpCall(t, "GET", admin+"/gamma", "root", ""); r.status != 404 {
		t.Errorf("a refused PUT created gamma: %d %s", r.status, r.body)
	}
	huge := `{"key_sha256":["` + h + `"],"name":"gamma"` + strings.Repeat(" ", maxTenantBody) + "}"
	if e := httpCall(t, "PUT", admin+"/gamma", "root", huge).apiErr(t, 413); str(e.Code) != "request_too_large" {
		t.Errorf("huge body: %+v", e)
	}

	if r := httpCall(t, "DELETE", admin+"/beta", "root", ""); r.status != 204 || len(r.body) != 0 {
		t.Errorf("DELETE: %d %s", r.status, r.body)
	}
	httpCall(t, "DELETE", admin+"/beta", "root", "").apiErr(t, 404)
	if r := httpCall(t, "POST", admin+"/acme", "root", "{}"); r.status != 405 || r.header.Get("Allow") != "GET, PUT, DELETE" {
		t.Errorf("POST on a tenant: %d %v", r.status, r.header)
	}
	httpCall(t, "GET", admin+"/acme/keys", "root", "").apiErr(t, 404)
	httpCall(t, "POST", admin, "root", "").apiErr(t, 405)
	httpCall(t, "GET", admin, "acme-key", "").apiErr(t, 403)
	httpCall(t, "PUT", admin+"/acme", "", beta2).apiErr(t, 401)
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// FuzzAdminTenantBody feeds arbitrary PUT bodies to the tenant parser: it must accept only a tenant that
// validates, under the path's name, that comes back the same through its own JSON; and refuse anything
// else with a 400 (or 413) in OpenAI's shape, never a panic.
func FuzzAdminTenantBody(f *testing.F) {
	h := hashKey("k")
	for _, body := range []string{
		`{"name":"acme","key_sha256":["` + h + `"],"requests_per_minute":600,"tokens_per_minute":200000,"max_concurrent":8}`,
		`{"key_sha256":["` + h + `","` + hashKey("k2") + `"],"max_tokens":1024,"plugin_memory_mb":64}`,
		`{"key_sha256":["` + strings.ToUpper(h) + `"],"plugin_step_timeout":"100ms","plugin_cpu_budget":"1m30s"}`,
		`{"key_sha256":["` + h + `"],"plugin_step_timeout":"1"}`,
		`{"key_sha256":["abc"]}`,
		`{"name":"other","key_sha256":["` + h + `"]}`,
		`{"key_sha256":["` + h + `"],"max_concurrent":-3}`,
		`{"key_sha256":["` + h + `"],"rpm":1}`,
		`{"Key_SHA256":["` + h + `"]} `,
		`{"key_sha256":null}`,
		`null`,
		`[]`,
		`{"key_sha256":["` + h + `"]}{`,
		`{"key_sha256":["` + h + `"],"requests_per_minute":9223372036854775808}`,
	} {
		f.Add("acme", []byte(body))
	}
	f.Add("Bad Name", []byte(`{"key_sha256":["`+h+`"]}`))
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		ten, e := parseTenant(name, body)
		if e != nil {
			if (e.Status != 400 && e.Status != 413) || e.Message == "" || e.Type != typeInvalidRequest || !json.Valid(appendError(nil, e)) {
				t.Fatalf("refusal %+v", e)
			}
			return
		}
		if ten.Name != name || ten.Validate() != nil {
			t.Fatalf("accepted %+v for %q", ten, name)
		}
		again, err := json.Marshal(ten)
		if err != nil {
			t.Fatal(err)
		}
		back, e := parseTenant(name, again)
		if e != nil || !reflect.DeepEqual(back, ten) {
			t.Fatalf("%+v does not come back through %s: %+v %v", ten, again, back, e)
		}
	})
}
