package edge

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/store"
)

// FuzzPluginAPI sends arbitrary deploy, deployment and rollback requests (path, query, body) for a
// plugin with two versions on an open node: every answer is a success or a 4xx with an error body, never
// a 500, and afterwards the plugin's deployment still routes 100% of its traffic to versions it has.
func FuzzPluginAPI(f *testing.F) {
	b, err := store.EncodeBundle(store.Bundle{Manifest: store.Manifest{Name: "p"}, Module: wasmModule("three")})
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range []struct {
		method     uint8
		sub, query string
		body       []byte
	}{
		{0, "deployment", "", []byte(`{"strategy":"percentage","versions":[{"version_id":1,"percentage":30},{"version_id":2,"percentage":70}]}`)},
		{0, "deployment", "", []byte(`{"versions":[{"version_id":2,"percentage":100}]}`)},
		{1, "rollback", "", []byte(`{"version_id":1}`)},
		{1, "rollback", "", nil},
		{1, "versions", "percentage=10&tag=canary&message=hi", b},
		{1, "versions", "percentage=0", b[:len(b)/2]},
		{2, "versions", "", nil},
		{2, "deployment", "", nil},
	} {
		f.Add(c.method, c.sub, c.query, c.body)
	}
	st, err := store.Open(filepath.Join(f.TempDir(), "wasmoe.db"), store.Limits{MaxModuleBytes: 1 << 16, MaxVersions: 4})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	for _, mod := range []string{"one", "two"} {
		if _, _, err := st.Deploy(store.DeployRequest{Manifest: store.Manifest{Name: "p"}, Module: wasmModule(mod), Percentage: 100}); err != nil {
			f.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.Logger, cfg.Store = quiet, st
	s := NewServer(cfg, &deployModel{fakeModel: &fakeModel{pieces: []string{"ok"}}})
	methods := []string{fasthttp.MethodPut, fasthttp.MethodPost, fasthttp.MethodGet}
	f.Fuzz(func(t *testing.T, method uint8, sub, query string, body []byte) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(methods[int(method)%len(methods)])
		ctx.Request.SetRequestURI("/v1/plugins/p/" + sub + "?" + query)
		ctx.Request.Header.SetContentType(store.BundleContentType)
		ctx.Request.SetBody(body)
		s.handle(&ctx)
		status := ctx.Response.StatusCode()
		if status >= 500 || status < 200 {
			t.Fatalf("%s %s: %d %s", ctx.Method(), ctx.RequestURI(), status, ctx.Response.Body())
		}
		if status >= 400 {
			var e struct {
				Error *errorJSON `json:"error"`
			}
			if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil || e.Error == nil || e.Error.Message == "" {
				t.Fatalf("%d without an error body: %s", status, ctx.Response.Body())
			}
		}
		p, vs, err := st.Plugin("", "p")
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, sh := range p.Deployment.Versions {
			total += sh.Percentage
			found := false
			for _, v := range vs {
				found = found || v.ID == sh.Version
			}
			if !found {
				t.Fatalf("the deployment routes to version %d, which is gone", sh.Version)
			}
		}
		if total != 100 {
			t.Fatalf("the deployment routes %d%%: %+v", total, p.Deployment)
		}
	})
}
