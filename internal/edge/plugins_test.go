package edge

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
	"github.com/wasmoe/wasmoe/internal/host/wasm"
	"github.com/wasmoe/wasmoe/internal/store"
	"github.com/wasmoe/wasmoe/internal/tenant"
)

// deployModel is a fake model that runs deployed plugins: a module containing "bad" does not compile;
// any other loads as one stand-in policy (the fake generation never calls it).
type deployModel struct {
	*fakeModel
	mu     sync.Mutex
	limits map[[32]byte]engine.PluginLimits // the limits each module last loaded under
	owner  string                           // the owner of the last load
}

// lastOwner is the owner the last plugin was loaded for.
func (d *deployModel) lastOwner() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.owner
}

// standIn is the policy deployModel hands out.
var standIn = &wasm.Policy{}

// PolicyModule reads the module and records its limits, as the engine would load it.
func (d *deployModel) PolicyModule(owner string, sum [32]byte, lim engine.PluginLimits, module func() ([]byte, error)) (*wasm.Policy, error) {
	bin, err := module()
	if err != nil {
		return nil, err
	}
	if sha256.Sum256(bin) != sum {
		return nil, fmt.Errorf("%w: the module does not hash to its sum", engine.ErrBadPlugin)
	}
	if bytes.Contains(bin, []byte("bad")) {
		return nil, fmt.Errorf("%w: wasm: compile: invalid section", engine.ErrBadPlugin)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.limits == nil {
		d.limits = map[[32]byte]engine.PluginLimits{}
	}
	d.limits[sum], d.owner = lim, owner
	return standIn, nil
}

// wasmModule is a stand-in module: a wasm header, then text.
func wasmModule(text string) []byte { return append([]byte("\x00asm\x01\x00\x00\x00"), text...) }

// bundle encodes a bundle of mod for the plugin name.
func bundle(t *testing.T, name string, mod []byte, lim store.PluginLimits) []byte {
	t.Helper()
	b, err := store.EncodeBundle(store.Bundle{Manifest: store.Manifest{Name: name, Limits: lim}, Module: mod})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deployServer serves a deployModel with a store (limits lim) to the tenants of pluginTenants.
func deployServer(t *testing.T, lim store.Limits, cfg Config) (string, *deployModel) {
	t.Helper()
	m := &deployModel{fakeModel: &fakeModel{pieces: []string{"ok"}}}
	return storeServer(t, lim, cfg, m), m
}

// storeServer serves m with a store (limits lim) to two tenants, acme (key "acme-key", plugin step
// timeout 50ms) and beta ("beta-key"), and the admin key "root"; it returns the base URL.
func storeServer(t *testing.T, lim store.Limits, cfg Config, m Model) string {
	t.Helper()
	reg, err := tenant.New(tenant.Config{Admin: tenant.Admin{KeySHA256: hashKey("root")}, Tenants: []tenant.Tenant{
		{Name: "acme", KeySHA256: []string{hashKey("acme-key")}, Limits: tenant.Limits{PluginStepTimeout: tenant.Duration(50e6)}},
		{Name: "beta", KeySHA256: []string{hashKey("beta-key")}}}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "wasmoe.db"), lim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Tenants, cfg.Store = reg, st
	_, url := startServer(t, cfg, m)
	return url
}

// httpDo sends one request with key as the bearer token ("" sends none) and returns the status, the
// body and the response's plugin version header.
func httpDo(t *testing.T, key, method, url, contentType string, body []byte) (int, []byte, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header.Get(pluginVersionHeader)
}

// upload deploys a bundle and wants status.
func upload(t *testing.T, url, key, name, query string, b []byte, status int) map[string]any {
	t.Helper()
	code, body, _ := httpDo(t, key, "POST", url+"/v1/plugins/"+name+"/versions"+query, store.BundleContentType, b)
	if code != status {
		t.Fatalf("deploy %s%s: %d %s, want %d", name, query, code, body, status)
	}
	var v map[string]any
	json.Unmarshal(body, &v)
	return v
}

// use runs a completion under plugin ref and returns the status, the body and the version that ran.
func use(t *testing.T, url, key, ref string) (int, []byte, string) {
	t.Helper()
	return httpDo(t, key, "POST", url+"/v1/completions", "application/json",
		[]byte(`{"prompt":"x","max_tokens":1,"plugin":"`+ref+`"}`))
}

// errCode is the code of an error body.
func errCode(body []byte) string {
	var v struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(body, &v)
	return v.Error.Code
}

// A tenant's walk through the API: deploy, use, deploy v2, use it, name versions by id, tag and hash,
// roll back and use v1 again, list, route by hand, delete.
func TestPluginWorkflow(t *testing.T) {
	url, m := deployServer(t, store.Limits{}, DefaultConfig())
	v1 := upload(t, url, "acme-key", "p", "?tag=stable&message=first", bundle(t, "p", wasmModule("one"), store.PluginLimits{StepTimeout: tenant.Duration(20e6)}), 201)
	if v := v1["version"].(map[string]any); v["id"] != 1.0 || v["tag"] != "stable" || v["message"] != "first" ||
		v["sha256"] != fmt.Sprintf("%x", sha256.Sum256(wasmModule("one"))) {
		t.Errorf("deploy answer %v", v1)
	}
	if lim := m.limits[sha256.Sum256(wasmModule("one"))]; lim.StepTimeout != 20e6 {
		t.Errorf("compiled at deploy under %+v, want the plugin's tighter 20ms step", lim)
	}
	if code, body, ver := use(t, url, "acme-key", "p"); code != 200 || ver != "p@1" {
		t.Fatalf("use v1: %d %s %q", code, body, ver)
	}
	upload(t, url, "acme-key", "p", "", bundle(t, "p", wasmModule("two"), store.PluginLimits{}), 201)
	if lim := m.limits[sha256.Sum256(wasmModule("two"))]; lim.StepTimeout != 50e6 {
		t.Errorf("v2 runs under %+v, want the tenant's 50ms step", lim)
	}
	for ref, want := range map[string]string{"p": "p@2", "p@1": "p@1", "p@stable": "p@1", "p@2": "p@2",
		"sha256:" + v1["version"].(map[string]any)["sha256"].(string): "sha256:" + v1["version"].(map[string]any)["sha256"].(string)} {
		if code, body, ver := use(t, url, "acme-key", ref); code != 200 || ver != want {
			t.Errorf("use %q: %d %s, version %q, want %q", ref, code, body, ver, want)
		}
	}
	if code, body, _ := httpDo(t, "acme-key", "POST", url+"/v1/plugins/p/rollback", "", nil); code != 200 {
		t.Fatalf("rollback: %d %s", code, body)
	}
	if _, _, ver := use(t, url, "acme-key", "p"); ver != "p@1" {
		t.Errorf("after rollback %q runs", ver)
	}
	code, body, _ := httpDo(t, "acme-key", "GET", url+"/v1/plugins/p/versions", "", nil)
	var list struct {
		Data []store.Version `json:"data"`
	}
	if json.Unmarshal(body, &list); code != 200 || len(list.Data) != 2 || list.Data[0].ID != 2 {
		t.Errorf("versions: %d %s", code, body)
	}
	code, body, _ = httpDo(t, "acme-key", "PUT", url+"/v1/plugins/p/deployment", "application/json",
		[]byte(`{"strategy":"percentage","versions":[{"version_id":2,"percentage":100}]}`))
	if _, _, ver := use(t, url, "acme-key", "p"); code != 200 || ver != "p@2" {
		t.Errorf("deployment set by hand: %d %s; %q runs", code, body, ver)
	}
	code, body, _ = httpDo(t, "acme-key", "GET", url+"/v1/plugins", "", nil)
	if code != 200 || !strings.Contains(string(body), `"name":"p"`) {
		t.Errorf("list: %d %s", code, body)
	}
	if code, body, _ := httpDo(t, "acme-key", "DELETE", url+"/v1/plugins/p", "", nil); code != 200 {
		t.Errorf("delete: %d %s", code, body)
	}
	if code, body, _ := use(t, url, "acme-key", "p@1"); code != 400 || errCode(body) != "plugin_not_found" {
		t.Errorf("a deleted plugin: %d %s", code, body)
	}
}

// A 10% split sends each request to the new version with probability 0.1: of 1000 requests, the count
// lies within 5 standard deviations of 100 (binomial: sqrt(1000·0.1·0.9) ≈ 9.5).
func TestPluginSplit(t *testing.T) {
	url, _ := deployServer(t, store.Limits{}, DefaultConfig())
	upload(t, url, "beta-key", "s", "", bundle(t, "s", wasmModule("old"), store.PluginLimits{}), 201)
	d := upload(t, url, "beta-key", "s", "?percentage=10", bundle(t, "s", wasmModule("new"), store.PluginLimits{}), 201)
	if got, _ := json.Marshal(d["plugin"].(map[string]any)["deployment"]); string(got) != `{"versions":[{"percentage":90,"version_id":1},{"percentage":10,"version_id":2}]}` {
		t.Errorf("deployment after a 10%% deploy: %s", got)
	}
	const n, p = 1000, 0.1
	count := 0
	for range n {
		code, body, ver := use(t, url, "beta-key", "s")
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		if ver == "s@2" {
			count++
		}
	}
	sigma := math.Sqrt(n * p * (1 - p))
	if math.Abs(float64(count)-n*p) > 5*sigma {
		t.Errorf("the 10%% version ran %d of %d requests; want %v ± %.0f", count, n, n*p, 5*sigma)
	}
}

// A tenant never sees, runs, routes or deletes another's plugins, nor its modules by hash; the admin key
// acts on the tenant ?tenant= names.
func TestPluginIsolation(t *testing.T) {
	url, _ := deployServer(t, store.Limits{}, DefaultConfig())
	v := upload(t, url, "acme-key", "secret", "?tag=t", bundle(t, "secret", wasmModule("acme's"), store.PluginLimits{}), 201)
	hash := v["version"].(map[string]any)["sha256"].(string)
	for _, c := range []struct {
		method, path, body string
	}{
		{"GET", "/v1/plugins/secret", ""}, {"GET", "/v1/plugins/secret/versions", ""}, {"GET", "/v1/plugins/secret/deployment", ""},
		{"POST", "/v1/plugins/secret/rollback", `{"version_id":1}`}, {"DELETE", "/v1/plugins/secret", ""},
		{"PUT", "/v1/plugins/secret/deployment", `{"versions":[{"version_id":1,"percentage":100}]}`},
		{"DELETE", "/v1/plugins/secret/versions/1", ""},
	} {
		if code, body, _ := httpDo(t, "beta-key", c.method, url+c.path, "application/json", []byte(c.body)); code != 404 {
			t.Errorf("beta %s %s: %d %s, want 404", c.method, c.path, code, body)
		}
	}
	if code, body, _ := httpDo(t, "beta-key", "GET", url+"/v1/plugins", "", nil); code != 200 || string(body) != `{"data":[],"object":"list"}` {
		t.Errorf("beta lists %d %s", code, body)
	}
	for _, ref := range []string{"secret@1", "secret@t", "sha256:" + hash} {
		if code, body, _ := use(t, url, "beta-key", ref); code != 400 || errCode(body) != "plugin_not_found" {
			t.Errorf("beta uses %q: %d %s", ref, code, body)
		}
	}
	if code, body, _ := use(t, url, "beta-key", "secret"); code != 400 || strings.Contains(string(body), "acme") {
		t.Errorf("beta uses secret: %d %s", code, body)
	}
	// The same module deployed by beta is beta's own: it runs, by name and by hash.
	upload(t, url, "beta-key", "mine", "", bundle(t, "mine", wasmModule("acme's"), store.PluginLimits{}), 201)
	if code, body, _ := use(t, url, "beta-key", "sha256:"+hash); code != 200 {
		t.Errorf("beta's own copy by hash: %d %s", code, body)
	}
	if code, body, _ := httpDo(t, "root", "GET", url+"/v1/plugins?tenant=acme", "", nil); code != 200 || !strings.Contains(string(body), `"secret"`) {
		t.Errorf("admin lists acme's: %d %s", code, body)
	}
	if code, _, _ := httpDo(t, "root", "GET", url+"/v1/plugins", "", nil); code != 400 {
		t.Errorf("admin without ?tenant: %d", code)
	}
	if code, _, _ := httpDo(t, "root", "GET", url+"/v1/plugins?tenant=nobody", "", nil); code != 404 {
		t.Errorf("admin, unknown tenant: %d", code)
	}
	if code, _, _ := httpDo(t, "", "GET", url+"/v1/plugins", "", nil); code != 401 {
		t.Errorf("no key: %d", code)
	}
}

// A tenant the admin deletes takes its plugins along: one made again under its name starts with none, and
// gets instances of its own (the engine knows it by another ID).
func TestDeletedTenantTakesItsPlugins(t *testing.T) {
	url, m := deployServer(t, store.Limits{}, DefaultConfig())
	upload(t, url, "acme-key", "secret", "", bundle(t, "secret", wasmModule("acme's"), store.PluginLimits{}), 201)
	if code, body, _ := use(t, url, "acme-key", "secret"); code != 200 {
		t.Fatalf("acme uses its plugin: %d %s", code, body)
	}
	oldOwner := m.lastOwner()
	if code, body, _ := httpDo(t, "root", "DELETE", url+"/admin/tenants/acme", "", nil); code != 204 {
		t.Fatalf("delete acme: %d %s", code, body)
	}
	again := `{"name":"acme","key_sha256":["` + hashKey("new-acme-key") + `"]}`
	if code, body, _ := httpDo(t, "root", "PUT", url+"/admin/tenants/acme", "application/json", []byte(again)); code != 201 {
		t.Fatalf("make acme again: %d %s", code, body)
	}
	if code, body, _ := httpDo(t, "new-acme-key", "GET", url+"/v1/plugins", "", nil); code != 200 || string(body) != `{"data":[],"object":"list"}` {
		t.Fatalf("the new acme lists %d %s, want no plugins", code, body)
	}
	if code, body, _ := use(t, url, "new-acme-key", "secret@1"); code != 400 || errCode(body) != "plugin_not_found" {
		t.Fatalf("the new acme uses the old one's plugin: %d %s", code, body)
	}
	upload(t, url, "new-acme-key", "secret", "", bundle(t, "secret", wasmModule("acme's"), store.PluginLimits{}), 201)
	if code, body, _ := use(t, url, "new-acme-key", "secret"); code != 200 {
		t.Fatalf("the new acme uses its own plugin: %d %s", code, body)
	}
	if m.lastOwner() == oldOwner || !strings.HasPrefix(m.lastOwner(), "acme#") {
		t.Fatalf("the new acme's instances are owned by %q, the old one's by %q", m.lastOwner(), oldOwner)
	}
}

// Bad uploads: each refused with its status and a message, nothing stored.
func TestDeployErrors(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxBodyBytes = 128 << 10
	url, _ := deployServer(t, store.Limits{MaxModuleBytes: 1 << 20}, cfg)
	bomb := bundle(t, "p", append(wasmModule(""), make([]byte, 2<<20)...), store.PluginLimits{})
	if len(bomb) > 128<<10 {
		t.Fatalf("the bomb is %d bytes compressed", len(bomb))
	}
	big := make([]byte, 200<<10) // incompressible
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	good := bundle(t, "p", wasmModule("fine"), store.PluginLimits{})
	for _, c := range []struct {
		name, path, ctype string
		body              []byte
		status            int
		want              string
	}{
		{"content type", "/v1/plugins/p/versions", "application/wasm", good, 415, "application/x-wasmoe-bundle"},
		{"not a bundle", "/v1/plugins/p/versions", store.BundleContentType, wasmModule("raw"), 400, "snappy"},
		{"snappy bomb", "/v1/plugins/p/versions", store.BundleContentType, bomb, 413, "decompresses to more than"},
		{"oversize upload", "/v1/plugins/p/versions", store.BundleContentType, bundle(t, "p", append(wasmModule(""), big...), store.PluginLimits{}), 413, "exceeds"},
		{"name mismatch", "/v1/plugins/q/versions", store.BundleContentType, good, 400, "names plugin"},
		{"does not compile", "/v1/plugins/p/versions", store.BundleContentType, bundle(t, "p", wasmModule("bad"), store.PluginLimits{}), 400, "invalid section"},
		{"bad percentage", "/v1/plugins/p/versions?percentage=half", store.BundleContentType, good, 400, "percentage"},
		{"bad tag", "/v1/plugins/p/versions?tag=1.0", store.BundleContentType, good, 400, "tag"},
		{"split with nothing", "/v1/plugins/p/versions?percentage=10", store.BundleContentType, good, 409, "deploy with 100% first"},
		{"bad name", "/v1/plugins/wasmoe/versions", store.BundleContentType, good, 400, "built-in"},
		{"bad route", "/v1/plugins/p/nothing", "", nil, 404, "Invalid URL"},
	} {
		code, body, _ := httpDo(t, "acme-key", "POST", url+c.path, c.ctype, c.body)
		if code != c.status || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, code, body, c.status, c.want)
		}
	}
	if code, body, _ := httpDo(t, "acme-key", "GET", url+"/v1/plugins", "", nil); code != 200 || string(body) != `{"data":[],"object":"list"}` {
		t.Errorf("after refused uploads: %d %s", code, body)
	}
	if code, body, _ := httpDo(t, "acme-key", "PATCH", url+"/v1/plugins/p/deployment", "", nil); code != 405 {
		t.Errorf("PATCH: %d %s", code, body)
	}
	for _, body := range []string{`{"versions":[{"version_id":1,"percentage":100}],"x":1}`, `{"strategy":"immediate","versions":[]}`, `[`} {
		if code, resp, _ := httpDo(t, "acme-key", "PUT", url+"/v1/plugins/p/deployment", "application/json", []byte(body)); code != 400 {
			t.Errorf("deployment body %s: %d %s", body, code, resp)
		}
	}
}

// On an open node every caller is one anonymous tenant; without a store the API is off and the model's
// own plugins still run.
func TestOpenNodePlugins(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "wasmoe.db"), store.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := DefaultConfig()
	cfg.Store = st
	m := &deployModel{fakeModel: &fakeModel{pieces: []string{"ok"}}}
	_, url := startServer(t, cfg, m)
	upload(t, url, "", "p", "", bundle(t, "p", wasmModule("one"), store.PluginLimits{}), 201)
	if code, body, ver := use(t, url, "whatever", "p"); code != 200 || ver != "p@1" {
		t.Errorf("open node: %d %s %q", code, body, ver)
	}
	_, off := startServer(t, DefaultConfig(), &pluginModel{fakeModel: &fakeModel{pieces: []string{"ok"}}, policies: map[string]*wasm.Policy{"dir": standIn}})
	if code, body, _ := httpDo(t, "", "GET", off+"/v1/plugins", "", nil); code != 404 || errCode(body) != "deploy_disabled" {
		t.Errorf("no store: %d %s", code, body)
	}
	if code, body, _ := use(t, off, "", "dir"); code != 200 {
		t.Errorf("a plugin directory plugin without a store: %d %s", code, body)
	}
}
