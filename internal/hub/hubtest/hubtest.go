// Package hubtest is a fake Hugging Face Hub for tests: the endpoints a download uses, with the real hub's
// response shapes, headers and errors, and an LFS CDN on a second host that the hub redirects to.
//
// The shapes follow what huggingface_hub reads: `GET /api/models/{repo}/revision/{rev}?blobs=true` answers
// the ModelInfo JSON (hf_api.py: "sha", "siblings" of RepoSibling: "rfilename", "size", "blobId", "lfs":
// {"sha256", "size", "pointerSize"}); `GET {repo}/resolve/{rev}/{path}` answers a small file itself with
// ETag (its git blob id) and X-Repo-Commit, and redirects an LFS file (302) to the CDN with X-Linked-Etag
// (its SHA-256), X-Linked-Size and X-Repo-Commit (file_download.py: get_hf_file_metadata,
// HUGGINGFACE_HEADER_X_LINKED_ETAG, _LINKED_SIZE, _REPO_COMMIT); errors carry X-Error-Code (RepoNotFound,
// GatedRepo, RevisionNotFound, EntryNotFound) and X-Error-Message, and a JSON body {"error": ...}
// (utils/_http.py: hf_raise_for_status). A private repository asked without a token is a 401
// RepoNotFound, as the hub hides whether it exists.
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Token is the access token the fake hub accepts for private and gated repositories.
const Token = "hf_testtoken"

// Hub is the fake hub and its CDN.
type Hub struct {
	*httptest.Server
	CDN   *httptest.Server
	mu    sync.Mutex
	repos map[string]*Repo
	log   []Request
	fail  []int // statuses the next hub requests answer, in order
}

// Repo is one repository on the fake hub.
type Repo struct {
	Files   map[string][]byte
	Private bool // a 401 RepoNotFound without the token
	Gated   bool // listed to all, downloads a 401 GatedRepo without the token
	NoRange bool // the CDN answers every request with the whole file (200), as a server without ranges does
	cut     map[string]int64
	stall   map[string]int64
	corrupt map[string]bool
}

// Request is one request either server received.
type Request struct {
	Host   string // "hub" or "cdn"
	Method string
	Path   string
	Range  string
	Auth   string
}

// New starts a fake hub and its CDN, closed when the test ends.
func New(t testing.TB) *Hub {
	h := &Hub{repos: map[string]*Repo{}}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serveHub))
	h.CDN = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	t.Cleanup(func() { h.Close(); h.CDN.Close() })
	return h
}

// Add puts a repository with files on the hub; .gguf and .safetensors files are stored in LFS, the rest
// in git.
func (h *Hub) Add(repo string, files map[string][]byte) *Repo {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := &Repo{Files: files, cut: map[string]int64{}, stall: map[string]int64{}, corrupt: map[string]bool{}}
	h.repos[repo] = r
	return r
}

// CutOnce makes the CDN's next answer for path close the connection after byte at.
func (r *Repo) CutOnce(path string, at int64) { r.cut[path] = at }

// StallOnce makes the CDN's next answer for path send bytes up to at, then nothing until the client
// gives up.
func (r *Repo) StallOnce(path string, at int64) { r.stall[path] = at }

// FailNext makes the hub answer its next requests with these statuses (e.g. 503), one each.
func (h *Hub) FailNext(statuses ...int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = append(h.fail, statuses...)
}

// Corrupt makes the CDN serve path with one byte changed.
func (r *Repo) Corrupt(path string) { r.corrupt[path] = true }

// Requests returns the requests received so far.
func (h *Hub) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.log)
}

// isLFS reports whether the fake stores a file in LFS.
func isLFS(path string) bool {
	return strings.HasSuffix(path, ".gguf") || strings.HasSuffix(path, ".safetensors")
}

// Commit is a repository's commit id: a digest of its files.
func (r *Repo) Commit() string {
	h := sha1.New()
	for _, p := range r.paths() {
		fmt.Fprintf(h, "%s\x00%x\x00", p, sha256.Sum256(r.Files[p]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// paths lists the repository's files in order, as the hub lists siblings.
func (r *Repo) paths() []string {
	var ps []string
	for p := range r.Files {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// gitBlobID is git's id of a blob: SHA-1 of "blob SIZE\x00" and the content.
func gitBlobID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// lfsPointer is the pointer file git stores for an LFS object.
func lfsPointer(b []byte) []byte {
	return fmt.Appendf(nil, "version https://git-lfs.github.com/spec/v1\noid sha256:%x\nsize %d\n", sha256.Sum256(b), len(b))
}

// record logs a request.
func (h *Hub) record(host string, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, Request{Host: host, Method: r.Method, Path: r.URL.Path, Range: r.Header.Get("Range"),
		Auth: r.Header.Get("Authorization")})
}

// hubError answers an error the way the hub does: status, X-Error-Code, X-Error-Message, {"error": msg}.
func hubError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// serveHub answers the API's revision listing and resolve URLs.
func (h *Hub) serveHub(w http.ResponseWriter, req *http.Request) {
	h.record("hub", req)
	h.mu.Lock()
	var fail int
	if len(h.fail) > 0 {
		fail, h.fail = h.fail[0], h.fail[1:]
	}
	h.mu.Unlock()
	if fail != 0 {
		hubError(w, fail, "", http.StatusText(fail))
		return
	}
	segs := strings.Split(strings.TrimPrefix(req.URL.EscapedPath(), "/"), "/")
	for i, s := range segs {
		segs[i], _ = url.PathUnescape(s)
	}
	switch {
	case len(segs) == 6 && segs[0] == "api" && segs[1] == "models" && segs[4] == "revision":
		if r, ok := h.access(w, req, segs[2]+"/"+segs[3], false); ok && h.revision(w, r, segs[5]) {
			h.serveInfo(w, segs[2]+"/"+segs[3], r)
		}
	case len(segs) >= 5 && segs[2] == "resolve":
		if r, ok := h.access(w, req, segs[0]+"/"+segs[1], true); ok && h.revision(w, r, segs[3]) {
			h.serveResolve(w, req, r, strings.Join(segs[4:], "/"))
		}
	default:
		hubError(w, http.StatusNotFound, "", "Sorry, we can't find the page you are looking for.")
	}
}

// access finds repo and checks the request's token: a wrong token is a 401, a private repository or
// (for a download) a gated one a 401 without the token, and a missing repository a 404 (401 without
// a token).
func (h *Hub) access(w http.ResponseWriter, req *http.Request, repo string, download bool) (*Repo, bool) {
	h.mu.Lock()
	r := h.repos[repo]
	h.mu.Unlock()
	auth := req.Header.Get("Authorization")
	if auth != "" && auth != "Bearer "+Token {
		hubError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return nil, false
	}
	switch {
	case (r == nil || r.Private) && auth == "":
		hubError(w, http.StatusUnauthorized, "RepoNotFound", "Invalid username or password.")
	case r == nil:
		hubError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
	case r.Gated && download && auth == "":
		hubError(w, http.StatusUnauthorized, "GatedRepo", fmt.Sprintf("Access to model %s is restricted. "+
			"You must have access to it and be authenticated to access it. Please log in.", repo))
	default:
		return r, true
	}
	return nil, false
}

// revision accepts "main" and the repository's commit.
func (h *Hub) revision(w http.ResponseWriter, r *Repo, rev string) bool {
	if rev == "main" || rev == r.Commit() {
		return true
	}
	hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
	return false
}

// serveInfo answers the ModelInfo JSON with files' metadata (?blobs=true).
func (h *Hub) serveInfo(w http.ResponseWriter, repo string, r *Repo) {
	var siblings []map[string]any
	for _, p := range r.paths() {
		b := r.Files[p]
		s := map[string]any{"rfilename": p, "size": len(b), "blobId": gitBlobID(b)}
		if isLFS(p) {
			ptr := lfsPointer(b)
			s["blobId"] = gitBlobID(ptr)
			s["lfs"] = map[string]any{"sha256": fmt.Sprintf("%x", sha256.Sum256(b)), "size": len(b), "pointerSize": len(ptr)}
		}
		siblings = append(siblings, s)
	}
	org, _, _ := strings.Cut(repo, "/")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{
		"_id": "6790f6b7f2ee3a1a7a1e5a11", "id": repo, "modelId": repo, "author": org, "sha": r.Commit(),
		"lastModified": "2025-01-22T13:31:03.000Z", "private": r.Private, "gated": map[bool]any{false: false, true: "auto"}[r.Gated],
		"disabled": false, "downloads": 0, "likes": 0, "tags": []string{"gguf"}, "library_name": "gguf",
		"siblings": siblings, "createdAt": "2025-01-22T13:00:00.000Z", "usedStorage": 0,
	})
}

// serveResolve answers a resolve URL: a git file itself (ranges too), an LFS file with a 302 to the CDN.
func (h *Hub) serveResolve(w http.ResponseWriter, req *http.Request, r *Repo, path string) {
	b, ok := r.Files[path]
	if !ok {
		hubError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	w.Header().Set("X-Repo-Commit", r.Commit())
	w.Header().Set("Accept-Ranges", "bytes")
	if !isLFS(path) {
		w.Header().Set("ETag", `"`+gitBlobID(b)+`"`)
		http.ServeContent(w, req, path, time.Time{}, bytes.NewReader(b))
		return
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(b))
	w.Header().Set("ETag", `"`+gitBlobID(lfsPointer(b))+`"`)
	w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
	w.Header().Set("X-Linked-Size", fmt.Sprint(len(b)))
	w.Header().Set("Location", fmt.Sprintf("%s/repos/%s/%s?X-Amz-Expires=3600&X-Amz-Signature=0", h.CDN.URL, sum[:2], sum))
	w.WriteHeader(http.StatusFound)
}

// serveCDN answers an LFS object by its SHA-256, with ranges; a cut file's first answer stops early and
// closes the connection, a stalled one's stops sending, and a corrupted file has one byte changed.
func (h *Hub) serveCDN(w http.ResponseWriter, req *http.Request) {
	h.record("cdn", req)
	sum := req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]
	h.mu.Lock()
	var content []byte
	var cut, stall int64 = -1, -1
	noRange := false
	for _, r := range h.repos {
		for p, b := range r.Files {
			if fmt.Sprintf("%x", sha256.Sum256(b)) != sum {
				continue
			}
			content, noRange = b, r.NoRange
			if r.corrupt[p] {
				content = slices.Clone(b)
				content[len(content)/2] ^= 0x40
			}
			if at, ok := r.cut[p]; ok {
				cut = at
				delete(r.cut, p)
			}
			if at, ok := r.stall[p]; ok {
				stall = at
				delete(r.stall, p)
			}
		}
	}
	h.mu.Unlock()
	if content == nil {
		http.Error(w, "<Error><Code>NoSuchKey</Code></Error>", http.StatusNotFound)
		return
	}
	w.Header().Set("ETag", `"`+sum+`"`)
	switch {
	case cut >= 0:
		w.Header().Set("Content-Length", fmt.Sprint(len(content)))
		w.WriteHeader(http.StatusOK)
		w.Write(content[:cut])
		w.(http.Flusher).Flush()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	case stall >= 0:
		w.Header().Set("Content-Length", fmt.Sprint(len(content)))
		w.WriteHeader(http.StatusOK)
		w.Write(content[:stall])
		w.(http.Flusher).Flush()
		<-req.Context().Done()
	default:
		if noRange {
			req.Header.Del("Range")
		}
		http.ServeContent(w, req, sum, time.Time{}, bytes.NewReader(content))
	}
}
