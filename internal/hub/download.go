package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Progress hears about a download: each file as it starts, then its bytes as they arrive.
type Progress interface {
	// Start begins file number i of n (from 1), size bytes, of which have are already on disk (a resumed
	// .part).
	Start(file string, i, n int, size, have int64)
	// Advance adds n bytes received to the current file.
	Advance(n int64)
}

// noProgress reports nothing.
type noProgress struct{}

// Start ignores a file's start.
func (noProgress) Start(string, int, int, int64, int64) {}

// Advance ignores received bytes.
func (noProgress) Advance(int64) {}

// resolveURL is the hub's URL of a file at a commit: `{endpoint}/{repo}/resolve/{commit}/{path}`, which
// answers small files itself and redirects LFS ones to a CDN.
func (c *Client) resolveURL(repo, commit, file string) string {
	segs := strings.Split(file, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return fmt.Sprintf("%s/%s/resolve/%s/%s", c.Endpoint, repo, commit, strings.Join(segs, "/"))
}

// download writes f, repo's file at commit, to dst: into dst.part, resumed with a Range request where a
// part is there already and after a cut connection; checked against the hub's hash; renamed to dst when
// whole and right. A hash mismatch deletes the part (after downloading once more from the start when the
// part came from an earlier pull, which may have been of another version), as does a failure before the
// first byte. The caller holds the repository's lock.
func (c *Client) download(ctx context.Context, repo, commit string, f File, dst string, p Progress, i, n int) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	part := dst + ".part"
	out, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	st, err := out.Stat()
	if err != nil {
		return err
	}
	d := &transfer{c: c, f: f, out: out, have: st.Size(), progress: p, i: i, n: n}
	if d.have > f.Size { // not a part of this file
		d.have = 0
		if err := out.Truncate(0); err != nil {
			return err
		}
	}
	if _, err := out.Seek(d.have, io.SeekStart); err != nil {
		return err
	}
	p.Start(f.Path, i, n, f.Size, d.have)
	err = d.fetch(ctx, c.resolveURL(repo, commit, f.Path), repo, commit)
	var he *HashError
	if errors.As(err, &he) && st.Size() > 0 { // the part left by an earlier pull was of another version
		if err = d.restart(); err == nil {
			err = d.fetch(ctx, c.resolveURL(repo, commit, f.Path), repo, commit)
		}
	}
	if errors.As(err, &he) || err != nil && d.have == 0 { // wrong, or nothing worth resuming
		out.Close()
		os.Remove(part)
	}
	if err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(part, dst)
}

// transfer is one file's download in progress.
type transfer struct {
	c        *Client
	f        File
	out      *os.File
	have     int64 // bytes in out
	sum      *checksum
	progress Progress
	i, n     int // the file's number among the pull's, for progress
}

// fetch downloads the rest of the file, trying again after failures that may pass (at most the client's
// Retries in a row without getting further into the file), and checks the whole file's hash.
func (d *transfer) fetch(ctx context.Context, u, repo, commit string) error {
	for fails, best := 0, d.have; d.have < d.f.Size; {
		err := d.attempt(ctx, u, repo, commit)
		if err == nil {
			continue
		}
		if d.have > best { // further than ever: the failures so far do not count
			fails, best = 0, d.have
		}
		if fails >= d.c.Retries || !temporary(ctx, err) {
			return fmt.Errorf("%s: %w", d.f.Path, err)
		}
		if err := d.c.wait(ctx, fails); err != nil {
			return err
		}
		fails++
	}
	return d.verify()
}

// restart empties the part.
func (d *transfer) restart() error {
	d.have, d.sum = 0, nil
	d.progress.Start(d.f.Path, d.i, d.n, d.f.Size, 0)
	if err := d.out.Truncate(0); err != nil {
		return err
	}
	_, err := d.out.Seek(0, io.SeekStart)
	return err
}

// attempt makes one request for the rest of the file and appends what arrives. The hub's first answer
// (before a redirect to the CDN) must name the commit and size asked for, and gives the expected hash of
// a file the listing gave none for.
func (d *transfer) attempt(ctx context.Context, u, repo, commit string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := d.c.newRequest(ctx, u)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "identity")
	if d.have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", d.have))
	}
	var first http.Header
	hc := *d.c.httpClient()
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if first == nil {
			first = r.Response.Header
		}
		if r.URL.Host != via[0].URL.Host { // as huggingface_hub (requests) does: no token for the CDN
			r.Header.Del("Authorization")
		}
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if first == nil {
		first = resp.Header
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if d.have > 0 { // the server ignored the Range: start over
			if err := d.restart(); err != nil {
				return err
			}
		}
	case http.StatusPartialContent:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != d.have {
			return fmt.Errorf("asked for bytes from %d, got Content-Range %q", d.have, resp.Header.Get("Content-Range"))
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if d.have == 0 {
			return d.c.statusError(resp, repo, commit, d.f.Path)
		}
		return d.restart()
	default:
		return d.c.statusError(resp, repo, commit, d.f.Path)
	}
	if commitHdr := first.Get("X-Repo-Commit"); commitHdr != "" && !strings.EqualFold(commitHdr, commit) {
		return &fatalError{fmt.Errorf("the hub served commit %s, expected %s", commitHdr, commit)}
	}
	if size := first.Get("X-Linked-Size"); size != "" && size != fmt.Sprint(d.f.Size) {
		return &fatalError{fmt.Errorf("the hub's X-Linked-Size is %s bytes, its listing said %d", size, d.f.Size)}
	}
	if d.sum == nil {
		if d.sum, err = newChecksum(d.f, first, d.out, d.have); err != nil {
			return err
		}
	}
	return d.copy(ctx, resp.Body, cancel)
}

// copy appends body to the part and the checksum until it ends, fails, or sends nothing for the client's
// Idle time. A body that ends before the file's size is an error to retry.
func (d *transfer) copy(ctx context.Context, body io.Reader, cancel context.CancelCauseFunc) error {
	idle := d.c.Idle
	if idle <= 0 {
		idle = time.Minute
	}
	timer := time.AfterFunc(idle, func() { cancel(errIdle) })
	defer timer.Stop()
	buf := make([]byte, 256<<10)
	for d.have < d.f.Size {
		k, err := body.Read(buf[:min(int64(len(buf)), d.f.Size-d.have)])
		if k > 0 {
			timer.Reset(idle)
			if _, werr := d.out.Write(buf[:k]); werr != nil {
				return &fatalError{werr}
			}
			d.sum.h.Write(buf[:k])
			d.have += int64(k)
			d.progress.Advance(int64(k))
		}
		if err == io.EOF && d.have < d.f.Size {
			return fmt.Errorf("the connection ended at byte %d of %d", d.have, d.f.Size)
		}
		if err != nil && err != io.EOF {
			if errors.Is(context.Cause(ctx), errIdle) {
				return fmt.Errorf("%w for %v at byte %d of %d", errIdle, idle, d.have, d.f.Size)
			}
			return err
		}
	}
	return nil
}

// verify compares the whole file's hash with the hub's.
func (d *transfer) verify() error {
	if d.sum == nil { // the part was whole already (or the file is empty): hash what is on disk
		var err error
		if d.sum, err = newChecksum(d.f, nil, d.out, d.have); err != nil {
			return err
		}
	}
	return d.sum.check(d.f.Path)
}

// rangeStart reads the first byte's offset from a Content-Range header, "bytes START-END/TOTAL".
func rangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	var v int64
	if _, err := fmt.Sscanf(s, "%d", &v); err != nil || v < 0 {
		return 0, false
	}
	return v, true
}

// errIdle cuts a download that has received nothing for the client's Idle time.
var errIdle = errors.New("no data")

// fatalError is a failure that trying again will not mend, e.g. a full disk.
type fatalError struct{ err error }

// Error is the failure's message.
func (e *fatalError) Error() string { return e.err.Error() }

// Unwrap is the failure.
func (e *fatalError) Unwrap() error { return e.err }
