package edge

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

// playgroundFile returns an embedded file of the page.
func playgroundFile(t *testing.T, name string) string {
	t.Helper()
	b, err := playgroundFS.ReadFile("playground/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPlaygroundPage checks GET /: the page as HTML, with a Content-Security-Policy that allows only the
// page's own origin (no inline code, which the page must then not have), a strong ETag that a revalidation
// answers with 304, and no-cache; HEAD gives the headers without the body, POST 405. The page is public
// on a node with tenants, whose API needs a key.
func TestPlaygroundPage(t *testing.T) {
	s, _ := tenantServer(t)
	r := call(s, "GET", "/", "")
	if r.status != 200 || string(r.header.ContentType()) != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q", r.status, r.header.ContentType())
	}
	if string(r.body) != playgroundFile(t, "index.html") {
		t.Errorf("GET / is not index.html")
	}
	csp := string(r.header.Peek("Content-Security-Policy"))
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") || strings.Contains(csp, "*") {
		t.Errorf("Content-Security-Policy %q allows more than the page's origin", csp)
	}
	// The policy blocks inline script and style: the page must load both from files.
	html := string(r.body)
	for _, re := range []string{`<script[^>]*>\s*[^<\s]`, `<script(?:(?:\s(?:defer|type="[^"]*"))*)>`, `<style`, `\sstyle=`, `\son[a-z]+=`, `https?:`, `src="//`, `href="//`} {
		if m := regexp.MustCompile(re).FindString(html); m != "" {
			t.Errorf("index.html has %q, which the policy blocks or which leaves the origin", m)
		}
	}
	etag := string(r.header.Peek("ETag"))
	if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(etag) || string(r.header.Peek("Cache-Control")) != "no-cache" {
		t.Errorf("ETag %q, Cache-Control %q", etag, r.header.Peek("Cache-Control"))
	}
	if got := string(r.header.Peek("X-Content-Type-Options")); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", got)
	}
	for _, c := range []struct {
		ifNoneMatch string
		status      int
	}{{etag, 304}, {`"0123", ` + etag, 304}, {`"0123"`, 200}} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/")
		ctx.Request.Header.Set("If-None-Match", c.ifNoneMatch)
		s.handle(&ctx)
		if ctx.Response.StatusCode() != c.status || (c.status == 304) != (len(ctx.Response.Body()) == 0) {
			t.Errorf("If-None-Match %s: %d with %d bytes, want %d", c.ifNoneMatch, ctx.Response.StatusCode(), len(ctx.Response.Body()), c.status)
		}
	}
	if r := call(s, "POST", "/", ""); r.status != 405 || string(r.header.Peek("Allow")) != "GET, HEAD" {
		t.Errorf("POST /: %d, Allow %q", r.status, r.header.Peek("Allow"))
	}
	if r := call(s, "GET", "/v1/models", ""); r.status != 401 {
		t.Errorf("the tenant node's /v1/models without a key: %d, want 401", r.status)
	}
	if r := call(s, "GET", "/playground/none.js", ""); r.status != 404 {
		t.Errorf("a file the page does not have: %d", r.status)
	}
}

// jsPath is a same-origin path in quotes; fetchCall is a fetch with its first argument and its options.
var (
	jsPath    = regexp.MustCompile("[\"'`](/[^\"'`\\s]*)[\"'`]")
	fetchCall = regexp.MustCompile(`fetch\(\s*([^,)]*)(?:,\s*\{([^}]*)\})?`)
	jsMethod  = regexp.MustCompile(`method:\s*"([A-Z]+)"`)
	htmlLink  = regexp.MustCompile(`(?:src|href)="([^"]*)"`)
)

// TestPlaygroundPathsExist parses the page and its script for the paths they use: every file the page
// links is served (with its type), every path in the script is a route of the server, and every fetch
// names its path as a literal (so none escapes this check) and uses a method its route answers.
func TestPlaygroundPathsExist(t *testing.T) {
	s := newTestServer(&fakeModel{pieces: []string{"hi"}})
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	links := htmlLink.FindAllStringSubmatch(playgroundFile(t, "index.html"), -1)
	if len(links) < 2 {
		t.Fatalf("index.html links %d files; want its script and style", len(links))
	}
	for _, m := range links {
		if strings.HasPrefix(m[1], "data:") {
			continue // inline, as the policy's img-src allows: the icon, so that no /favicon.ico is asked for
		}
		if !strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "//") {
			t.Errorf("index.html links %s, not a path on its own origin", m[1])
			continue
		}
		r := call(s, "GET", m[1], "")
		if want := types[filepath.Ext(m[1])]; r.status != 200 || string(r.header.ContentType()) != want || r.header.Peek("Content-Security-Policy") == nil {
			t.Errorf("GET %s: %d %q, want 200 %q with the CSP", m[1], r.status, r.header.ContentType(), want)
		}
		if name := strings.TrimPrefix(m[1], "/playground/"); string(r.body) != playgroundFile(t, name) {
			t.Errorf("GET %s is not the file %s", m[1], name)
		}
	}
	js := playgroundFile(t, "app.js")
	paths := map[string]bool{}
	for _, m := range jsPath.FindAllStringSubmatch(js, -1) {
		paths[m[1]] = true
		if _, ok := findRoute([]byte(m[1])); !ok {
			t.Errorf("app.js uses %s, which the server does not serve", m[1])
		}
	}
	if !paths["/v1/chat/completions"] || !paths["/v1/models"] {
		t.Fatalf("app.js's paths %v lack the chat or the models route: the parse is broken", paths)
	}
	calls := fetchCall.FindAllStringSubmatch(js, -1)
	if len(calls) < 2 {
		t.Fatalf("app.js has %d fetch calls; want the models' and the chat's", len(calls))
	}
	for _, c := range calls {
		path, err := unquoteJS(c[1])
		if err != nil {
			t.Errorf("fetch(%s …): the path is not a string literal", c[1])
			continue
		}
		method := "GET"
		if m := jsMethod.FindStringSubmatch(c[2]); m != nil {
			method = m[1]
		}
		if r := call(s, method, path, "{}"); r.status == 404 || r.status == 405 {
			t.Errorf("app.js fetches %s %s: the server answers %d %s", method, path, r.status, r.body)
		}
	}
}

// unquoteJS returns a JavaScript string literal's text (one without escapes).
func unquoteJS(lit string) (string, error) {
	lit = strings.TrimSpace(lit)
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' || strings.ContainsAny(lit[1:len(lit)-1], `"\`) {
		return "", os.ErrInvalid
	}
	return lit[1 : len(lit)-1], nil
}

// TestPlaygroundScriptParses runs `node --check` on the page's script; `make test` installs node
// (testutil.Node).
func TestPlaygroundScriptParses(t *testing.T) {
	node := testutil.Node(t)
	path := filepath.Join(t.TempDir(), "app.js")
	if err := os.WriteFile(path, []byte(playgroundFile(t, "app.js")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(node, "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("node --check app.js: %v\n%s", err, out)
	}
}

// TestNoPlayground checks Config.NoPlayground: / and the page's files are 404 with an OpenAI error, as
// any unknown path, whatever the method; the API is unchanged.
func TestNoPlayground(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Logger, cfg.NoPlayground = quiet, true
	s := NewServer(cfg, &fakeModel{pieces: []string{"hi"}})
	for _, c := range []struct{ method, path string }{{"GET", "/"}, {"HEAD", "/"}, {"POST", "/"}, {"GET", "/playground/app.js"}} {
		e := call(s, c.method, c.path, "").apiErr(t, 404)
		if !strings.Contains(e.Message, "Invalid URL ("+c.method+" "+c.path+")") {
			t.Errorf("%s %s: %q", c.method, c.path, e.Message)
		}
	}
	if r := call(s, "GET", "/v1/models", ""); r.status != 200 {
		t.Errorf("/v1/models with NoPlayground: %d", r.status)
	}
}
