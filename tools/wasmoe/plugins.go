package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wasmoe/wasmoe/internal/store"
)

// apiTimeout bounds one call to the plugin API (a deploy compiles the module first).
const apiTimeout = 5 * time.Minute

// call sends one request to the node's plugin API and decodes a 2xx answer into out; another status is
// an error with the API's message.
func (a *apiFlags) call(method, path string, q url.Values, contentType string, body []byte, out any) error {
	if a.tenant != "" {
		if q == nil {
			q = url.Values{}
		}
		q.Set("tenant", a.tenant)
	}
	u := strings.TrimRight(a.url, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("--url %q: %w", a.url, err)
	}
	if a.key != "" {
		req.Header.Set("Authorization", "Bearer "+a.key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := (&http.Client{Timeout: apiTimeout}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s %s: %d: %s", method, path, resp.StatusCode, e.Error.Message)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the API's JSON: %w", method, path, err)
	}
	return nil
}

// pluginArgs parses a plugin command's flags and its arguments, NAME and an optional VERSION id.
func pluginArgs(cmd string, args []string) (apiFlags, string, uint64, error) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	var api apiFlags
	api.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return api, "", 0, err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 || cmd == "versions" && fs.NArg() != 1 {
		return api, "", 0, fmt.Errorf("usage: %s", strings.TrimSpace(usageLine(cmd)))
	}
	var id uint64
	if fs.NArg() == 2 {
		v, err := strconv.ParseUint(fs.Arg(1), 10, 64)
		if err != nil || v == 0 {
			return api, "", 0, fmt.Errorf("version %q: a version id is a number from 1", fs.Arg(1))
		}
		id = v
	}
	return api, fs.Arg(0), id, nil
}

// usageLine is cmd's line of the usage text.
func usageLine(cmd string) string {
	for _, l := range strings.Split(usage, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "wasmoe "+cmd+" ") {
			return l
		}
	}
	return cmd
}

// versionsCmd is `wasmoe versions NAME`: the plugin's versions, newest first, with their share of the
// traffic.
func versionsCmd(args []string) error {
	api, name, _, err := pluginArgs("versions", args)
	if err != nil {
		return err
	}
	var p store.Plugin
	if err := api.call("GET", "/v1/plugins/"+url.PathEscape(name), nil, "", nil, &p); err != nil {
		return err
	}
	var vs struct {
		Data []store.Version `json:"data"`
	}
	if err := api.call("GET", "/v1/plugins/"+url.PathEscape(name)+"/versions", nil, "", nil, &vs); err != nil {
		return err
	}
	share := map[uint64]string{}
	if p.Previous != nil {
		for _, s := range p.Previous.Versions {
			share[s.Version] = "(rollback)"
		}
	}
	for _, s := range p.Deployment.Versions {
		share[s.Version] = strconv.Itoa(s.Percentage) + "%"
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tTRAFFIC\tTAG\tSHA256\tSIZE\tCREATED\tMESSAGE")
	for _, v := range vs.Data {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", v.ID, orDash(share[v.ID]), orDash(v.Tag), v.SHA256[:12], v.Size,
			v.Created.Local().Format(time.DateTime), v.Message)
	}
	return w.Flush()
}

// orDash is s, or "-" for nothing.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// rollbackCmd is `wasmoe rollback NAME [VERSION]`: VERSION gets all the traffic, or without it the
// previous deployment comes back (a second rollback undoes the first).
func rollbackCmd(args []string) error {
	api, name, id, err := pluginArgs("rollback", args)
	if err != nil {
		return err
	}
	var body []byte
	if id != 0 {
		body = fmt.Appendf(nil, `{"version_id":%d}`, id)
	}
	var p store.Plugin
	if err := api.call("POST", "/v1/plugins/"+url.PathEscape(name)+"/rollback", nil, "application/json", body, &p); err != nil {
		return err
	}
	fmt.Printf("%s: traffic: %s\n", p.Name, traffic(p.Deployment))
	return nil
}

// promoteCmd is `wasmoe promote NAME [VERSION]`: it ends a split, giving VERSION (default: the split's
// newest version) all the traffic.
func promoteCmd(args []string) error {
	api, name, id, err := pluginArgs("promote", args)
	if err != nil {
		return err
	}
	if id == 0 {
		var d store.Deployment
		if err := api.call("GET", "/v1/plugins/"+url.PathEscape(name)+"/deployment", nil, "", nil, &d); err != nil {
			return err
		}
		for _, s := range d.Versions {
			id = max(id, s.Version)
		}
		if id == 0 {
			return errors.New(name + " has no deployment to promote a version of")
		}
	}
	body := fmt.Appendf(nil, `{"versions":[{"version_id":%d,"percentage":100}]}`, id)
	var p store.Plugin
	if err := api.call("PUT", "/v1/plugins/"+url.PathEscape(name)+"/deployment", nil, "application/json", body, &p); err != nil {
		return err
	}
	fmt.Printf("%s: traffic: %s\n", p.Name, traffic(p.Deployment))
	return nil
}
