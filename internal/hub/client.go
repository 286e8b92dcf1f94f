package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// DefaultEndpoint is the hub the client talks to when HF_ENDPOINT is unset.
const DefaultEndpoint = "https://huggingface.co"

// Client talks to one hub endpoint.
type Client struct {
	Endpoint string        // e.g. https://huggingface.co, without a trailing '/'
	Token    string        // sent as "Authorization: Bearer TOKEN" when set
	HTTP     *http.Client  // nil: http.DefaultClient
	Retries  int           // tries of a request after the first, on network errors, 429 and 5xx
	Backoff  time.Duration // wait before the first retry, doubled for each further one (at most 30s)
	Idle     time.Duration // a download that receives nothing for this long is cut and retried
}

// FromEnv is a client for $HF_ENDPOINT (default https://huggingface.co) with $HF_TOKEN, as huggingface_hub
// and llama.cpp read them.
func FromEnv() *Client {
	ep := os.Getenv("HF_ENDPOINT")
	if ep == "" {
		ep = DefaultEndpoint
	}
	// Timeouts to connect and for an answer's headers, none for a whole download (Idle watches those).
	hc := &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}}
	return &Client{Endpoint: strings.TrimRight(ep, "/"), Token: strings.TrimSpace(os.Getenv("HF_TOKEN")), HTTP: hc,
		Retries: 5, Backoff: time.Second, Idle: time.Minute}
}

// httpClient is the client's HTTP client.
func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// newRequest is a GET of url with the client's token and user agent.
func (c *Client) newRequest(ctx context.Context, url string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "wasmoe")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

// wait sleeps before retry number try (0 for the first retry), or returns ctx's error.
func (c *Client) wait(ctx context.Context, try int) error {
	d := c.Backoff << min(try, 10)
	d = min(d, 30*time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryable reports whether a response status is worth trying again: rate limits and server errors.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// StatusError is a hub's answer other than success, explained.
type StatusError struct {
	Status  int
	Code    string // the hub's X-Error-Code: RepoNotFound, GatedRepo, RevisionNotFound, EntryNotFound
	Message string // the hub's X-Error-Message, or its JSON body's "error"
	URL     string
	explain string
}

// Error says what was asked, what the hub answered, and what to do about it.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s (HTTP %d from %s", e.explain, e.Status, e.URL)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s + ")"
}

// statusError reads a failed response (its body at most 4 KiB) into a StatusError about repo (and file,
// when the request was for one), following huggingface_hub's hf_raise_for_status: X-Error-Code first,
// then the status.
func (c *Client) statusError(resp *http.Response, repo, rev, file string) *StatusError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	e := &StatusError{Status: resp.StatusCode, Code: resp.Header.Get("X-Error-Code"), URL: resp.Request.URL.String(),
		Message: resp.Header.Get("X-Error-Message")}
	if e.Message == "" {
		e.Message = jsonError(body)
	}
	token := "set HF_TOKEN to an access token (https://huggingface.co/settings/tokens) of an account that may read it"
	if c.Token != "" {
		token = "HF_TOKEN is set; check that its account may read it"
	}
	switch {
	case e.Code == "RevisionNotFound":
		e.explain = fmt.Sprintf("repository %s has no revision %q", repo, rev)
	case e.Code == "EntryNotFound":
		e.explain = fmt.Sprintf("repository %s has no file %q at revision %q", repo, file, rev)
	case e.Code == "GatedRepo":
		e.explain = fmt.Sprintf("repository %s is gated: accept its conditions at %s/%s and %s", repo, c.Endpoint, repo, token)
	case e.Status == http.StatusUnauthorized && c.Token != "" && strings.Contains(e.Message, "Invalid credentials"):
		e.explain = fmt.Sprintf("repository %s: the hub refused HF_TOKEN as invalid; set HF_TOKEN to a valid token", repo)
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		e.explain = fmt.Sprintf("repository %s is private or gated, or does not exist: %s", repo, token)
	case e.Status == http.StatusNotFound && file != "":
		e.explain = fmt.Sprintf("repository %s: file %q not found at revision %q", repo, file, rev)
	case e.Status == http.StatusNotFound:
		e.explain = fmt.Sprintf("repository %s not found on %s (expected org/repo as the hub's URL names it)", repo, c.Endpoint)
	default:
		e.explain = fmt.Sprintf("repository %s: the hub failed", repo)
		if file != "" {
			e.explain = fmt.Sprintf("repository %s: downloading %q failed", repo, file)
		}
	}
	return e
}

// jsonError is the "error" string of a hub error body ({"error":"Repository not found"}), or "".
func jsonError(body []byte) string {
	var v struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return ""
	}
	return v.Error
}

// temporary reports whether err is worth trying again: a retryable status, or a network error after a
// connection was made (a cut, a reset, a timeout). A cancelled context is not, nor is a failure to
// connect at all (refused, no route, no DNS), which ends a pull at once so that an offline machine falls
// back to the cache without waiting.
func temporary(ctx context.Context, err error) bool {
	var op *net.OpError
	if ctx.Err() != nil || errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return retryable(se.Status)
	}
	var he *HashError
	var fe *fatalError
	return !errors.As(err, &he) && !errors.As(err, &fe)
}
