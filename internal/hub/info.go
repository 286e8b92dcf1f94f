package hub

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// File is one file of a repository at a commit, as the hub lists it.
type File struct {
	Path   string // relative to the repository's root, '/'-separated
	Size   int64
	SHA256 string // the LFS object's SHA-256 (hex), for files stored in LFS; "" otherwise
	BlobID string // the git blob id (SHA-1 of "blob SIZE\x00" and the content), for the rest
}

// Repo is a repository's file list at one commit.
type Repo struct {
	Commit string // 40 hex digits
	Files  []File
}

// modelInfo is the part of the hub's `GET /api/models/{repo}/revision/{revision}?blobs=true` answer that
// a download needs (huggingface_hub's HfApi.model_info with files_metadata=True; ModelInfo.sha and
// RepoSibling's rfilename, size, blobId and lfs {sha256, size, pointerSize}).
type modelInfo struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
		Size      *int64 `json:"size"`
		BlobID    string `json:"blobId"`
		LFS       *struct {
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		} `json:"lfs"`
	} `json:"siblings"`
}

// Info lists repo's files at revision rev: the commit it names, and each file's size and hash. Network
// errors, 429 and 5xx are retried.
func (c *Client) Info(ctx context.Context, repo, rev string) (*Repo, error) {
	u := fmt.Sprintf("%s/api/models/%s/revision/%s?blobs=true", c.Endpoint, repo, url.PathEscape(rev))
	var info modelInfo
	for try := 0; ; try++ {
		err := c.getJSON(ctx, u, repo, rev, &info)
		if err == nil {
			break
		}
		if try >= c.Retries || !temporary(ctx, err) {
			return nil, err
		}
		if err := c.wait(ctx, try); err != nil {
			return nil, err
		}
	}
	return info.repo(u)
}

// getJSON decodes the JSON answer of a GET of u into v (at most 64 MiB of it).
func (c *Client) getJSON(ctx context.Context, u, repo, rev string, v any) error {
	req, err := c.newRequest(ctx, u)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.statusError(resp, repo, rev, "")
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(v); err != nil {
		return fmt.Errorf("%s: the hub's file list is not the JSON expected (%v)", u, err)
	}
	return nil
}

// repo checks the answer: a commit of 40 hex digits, and safe relative paths with sizes.
func (m *modelInfo) repo(u string) (*Repo, error) {
	if !isHex(m.SHA, 40) {
		return nil, fmt.Errorf("%s: the answer's \"sha\" is %q, expected a commit of 40 hex digits", u, m.SHA)
	}
	r := &Repo{Commit: strings.ToLower(m.SHA)}
	for _, s := range m.Siblings {
		if !safePath(s.RFilename) {
			return nil, fmt.Errorf("%s: file name %q is not a relative path inside the repository", u, s.RFilename)
		}
		f := File{Path: s.RFilename, BlobID: strings.ToLower(s.BlobID)}
		switch {
		case s.LFS != nil:
			if !isHex(s.LFS.SHA256, 64) {
				return nil, fmt.Errorf("%s: %s: LFS sha256 %q, expected 64 hex digits", u, s.RFilename, s.LFS.SHA256)
			}
			f.SHA256, f.Size = strings.ToLower(s.LFS.SHA256), s.LFS.Size
		case s.Size != nil:
			f.Size = *s.Size
		default:
			return nil, fmt.Errorf("%s: %s has no size: expected the answer to ?blobs=true", u, s.RFilename)
		}
		if f.Size < 0 {
			return nil, fmt.Errorf("%s: %s: negative size %d", u, s.RFilename, f.Size)
		}
		r.Files = append(r.Files, f)
	}
	return r, nil
}

// safePath reports whether p is a clean relative '/'-separated path that stays inside its root.
func safePath(p string) bool {
	if p == "" || strings.ContainsAny(p, "\\\x00") || path.IsAbs(p) || path.Clean(p) != p {
		return false
	}
	return p != "." && p != ".." && !strings.HasPrefix(p, "../")
}

// isHex reports whether s is n hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
