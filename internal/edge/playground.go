package edge

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

// The playground is a chat page at / (playground/index.html) whose script and style are served under
// /playground/: static files embedded in the binary, public (the API calls the page makes carry the key
// its user typed). Config.NoPlayground turns it off.

//go:embed playground
var playgroundFS embed.FS

// playgroundAssetPrefix is the path the page's script and style are served under.
const playgroundAssetPrefix = "/playground/"

// playgroundCSP lets the page load its own script, style and images and call its own server, nothing
// else: no inline script or style, no other origin, no framing.
const playgroundCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is an embedded file with what its response needs.
type asset struct {
	body        []byte
	contentType string
	etag        string // a strong validator: the body's SHA-256, quoted
}

// playgroundTypes are the Content-Types of the page's files by extension (not the mime package's, which
// the system's mime.types may change).
var playgroundTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// playgroundAssets are the served files by URL path: / is index.html, the rest /playground/NAME.
var playgroundAssets = loadPlaygroundAssets()

// loadPlaygroundAssets reads the embedded files once.
func loadPlaygroundAssets() map[string]asset {
	out := map[string]asset{}
	entries, err := fs.ReadDir(playgroundFS, "playground")
	if err != nil {
		panic(err) // the directory is embedded: it is there
	}
	for _, e := range entries {
		body, err := playgroundFS.ReadFile("playground/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		a := asset{body: body, contentType: playgroundTypes[path.Ext(e.Name())], etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		if a.contentType == "" {
			panic(fmt.Sprintf("edge: playground file %s has no known content type", e.Name()))
		}
		if e.Name() == "index.html" {
			out["/"] = a
		} else {
			out[playgroundAssetPrefix+e.Name()] = a
		}
	}
	return out
}

// playground serves the page and its files (GET and HEAD), with their ETag: a request whose
// If-None-Match names it gets 304. Cache-Control no-cache makes a browser revalidate, so a new binary's
// page is seen at once. With Config.NoPlayground, or for a file that is not there, it is 404 like any
// unknown path.
func (s *Server) playground(ctx *fasthttp.RequestCtx) {
	a, ok := playgroundAssets[string(ctx.Path())]
	if s.cfg.NoPlayground || !ok {
		writeError(ctx, invalidURL(ctx))
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		writeError(ctx, &apiError{Status: fasthttp.StatusMethodNotAllowed, Type: typeInvalidRequest,
			Message: fmt.Sprintf("method %s is not allowed on %s; use GET", ctx.Method(), ctx.Path())})
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		return
	}
	h := &ctx.Response.Header
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", playgroundCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if strings.Contains(string(ctx.Request.Header.Peek("If-None-Match")), a.etag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetContentType(a.contentType)
	ctx.SetBody(a.body)
}
