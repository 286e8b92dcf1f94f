package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/internal/hub/hubtest"
)

// blob is n pseudo-random bytes, different for each seed.
func blob(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// setup is a fake hub, a client for it (fast retries) and an empty cache.
func setup(t *testing.T) (*hubtest.Hub, *Client, Cache) {
	h := hubtest.New(t)
	return h, &Client{Endpoint: h.URL, Retries: 3, Backoff: time.Millisecond, Idle: 5 * time.Second},
		Cache{Dir: filepath.Join(t.TempDir(), "models")}
}

// pull pulls ref (written as ParseRef reads it) and fails the test on an error.
func pull(t *testing.T, c Cache, cl *Client, ref string) *Model {
	t.Helper()
	r, err := ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Pull(context.Background(), cl, r, nil, nil)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return m
}

// sameFile fails the test unless path holds want.
func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the hub's %d", path, len(got), len(want))
	}
}

// cdnGets lists the CDN requests received.
func cdnGets(h *hubtest.Hub) []hubtest.Request {
	var out []hubtest.Request
	for _, r := range h.Requests() {
		if r.Host == "cdn" {
			out = append(out, r)
		}
	}
	return out
}

func TestPullGGUF(t *testing.T) {
	h, cl, c := setup(t)
	files := map[string][]byte{
		"README.md":                   []byte("# model\n"),
		"Model-7B-F16.gguf":           blob(1, 3000),
		"Model-7B-Q4_K_M.gguf":        blob(2, 1500),
		"Model-7B-Q8_0.gguf":          blob(3, 2000),
		"mmproj-Model-7B-Q4_K_M.gguf": blob(4, 100),
	}
	h.Add("org/model-GGUF", files)
	cl.Token = hubtest.Token
	m := pull(t, c, cl, "org/model-GGUF")
	if want := filepath.Join(c.Dir, "org", "model-GGUF", "Model-7B-Q4_K_M.gguf"); m.Path != want || m.Quant != "Q4_K_M" {
		t.Fatalf("default pull: %s (%s), want %s (Q4_K_M)", m.Path, m.Quant, want)
	}
	sameFile(t, m.Path, files["Model-7B-Q4_K_M.gguf"])
	for _, r := range h.Requests() {
		if wantAuth := map[string]string{"hub": "Bearer " + hubtest.Token, "cdn": ""}[r.Host]; r.Auth != wantAuth {
			t.Errorf("%s %s got Authorization %q, want %q (the token must not reach the CDN)", r.Host, r.Path, r.Auth, wantAuth)
		}
	}
	m = pull(t, c, cl, "org/model-GGUF:q8_0")
	sameFile(t, m.Path, files["Model-7B-Q8_0.gguf"])
	n := len(cdnGets(h))
	pull(t, c, cl, "org/model-GGUF:Q8_0") // cached: no download
	if len(cdnGets(h)) != n {
		t.Fatalf("a second pull of a cached file downloaded it again")
	}
	_, err := c.Pull(context.Background(), cl, Ref{Repo: "org/model-GGUF", Quant: "Q5_K_M"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `"Q5_K_M"`) || !strings.Contains(err.Error(), "available: F16, Q4_K_M, Q8_0") {
		t.Fatalf("missing quant: %v, want the available ones listed", err)
	}
}

func TestChoose(t *testing.T) {
	files := func(names ...string) []File {
		var fs []File
		for _, n := range names {
			fs = append(fs, File{Path: n})
		}
		return fs
	}
	for _, tc := range []struct {
		files []string
		quant string
		want  string // main file, "" for an error
	}{
		{[]string{"a-Q8_0.gguf", "a-Q4_K_M.gguf"}, "", "a-Q4_K_M.gguf"},         // Q4_K_M first
		{[]string{"a-F16.gguf", "a-Q8_0.gguf"}, "", "a-Q8_0.gguf"},              // then Q8_0
		{[]string{"a-F16.gguf", "a-Q5_K_S.gguf"}, "", "a-F16.gguf"},             // then the first
		{[]string{"mmproj-a-F16.gguf", "a-IQ4_XS.gguf"}, "", "a-IQ4_XS.gguf"},   // projectors are no models
		{[]string{"a-Q4_K_M.gguf", "a-Q4_K_S.gguf"}, "q4_k_s", "a-Q4_K_S.gguf"}, // case-insensitive
		{[]string{"a-Q4_K_M.gguf"}, "Q4_K", ""},                                 // the tag must end at '.' or '-'
		{[]string{"a-Q4_K_M.gguf"}, "Q4_0", ""},                                 // missing
		{[]string{"Q2/a-Q2_K-00002-of-00002.gguf", "Q2/a-Q2_K-00001-of-00002.gguf"}, "Q2_K", "Q2/a-Q2_K-00001-of-00002.gguf"},
		{[]string{"a-UD-Q4_K_XL.gguf", "a-Q4_K_M.gguf"}, "UD-Q4_K_XL", "a-UD-Q4_K_XL.gguf"},
	} {
		ch, err := Choose("o/r", files(tc.files...), tc.quant)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%v %q: chose %s, want an error", tc.files, tc.quant, ch.Main)
		case tc.want != "" && err != nil:
			t.Errorf("%v %q: %v, want %s", tc.files, tc.quant, err, tc.want)
		case tc.want != "" && ch.Main != tc.want:
			t.Errorf("%v %q: chose %s, want %s", tc.files, tc.quant, ch.Main, tc.want)
		}
	}
}

func TestPullSplit(t *testing.T) {
	h, cl, c := setup(t)
	files := map[string][]byte{"README.md": []byte("x")}
	for i := 1; i <= 3; i++ {
		files[fmt.Sprintf("Q8_0/Big-Q8_0-%05d-of-00003.gguf", i)] = blob(uint64(i), 1000+i)
	}
	files["Big-Q4_K_M.gguf"] = blob(9, 10)
	h.Add("org/big", files)
	m := pull(t, c, cl, "org/big:Q8_0")
	if want := filepath.Join(c.Dir, "org", "big", "Q8_0", "Big-Q8_0-00001-of-00003.gguf"); m.Path != want {
		t.Fatalf("path %s, want %s", m.Path, want)
	}
	for i := 1; i <= 3; i++ {
		p := fmt.Sprintf("Q8_0/Big-Q8_0-%05d-of-00003.gguf", i)
		sameFile(t, filepath.Join(m.Dir, p), files[p])
	}
	if _, err := os.Stat(filepath.Join(m.Dir, "Big-Q4_K_M.gguf")); err == nil {
		t.Fatal("pulled a quantization not asked for")
	}
}

func TestPullHFDir(t *testing.T) {
	h, cl, c := setup(t)
	files := map[string][]byte{
		".gitattributes":                    []byte("*.safetensors filter=lfs\n"),
		"README.md":                         []byte("# hf\n"),
		"config.json":                       []byte(`{"model_type":"qwen2"}`),
		"tokenizer.json":                    []byte(`{"model":{}}`),
		"tokenizer_config.json":             []byte(`{}`),
		"generation_config.json":            []byte(`{}`),
		"model-00001-of-00002.safetensors":  blob(1, 500),
		"model-00002-of-00002.safetensors":  blob(2, 600),
		"model.safetensors.index.json":      []byte(`{"weight_map":{}}`),
		"original/consolidated.safetensors": blob(3, 50),
	}
	h.Add("org/hf", files)
	m := pull(t, c, cl, "org/hf")
	if m.Path != m.Dir || m.Quant != "hf" {
		t.Fatalf("path %s quant %s, want the directory %s and hf", m.Path, m.Quant, m.Dir)
	}
	var got []string
	filepath.WalkDir(m.Dir, func(p string, d os.DirEntry, err error) error {
		if !d.IsDir() && !strings.HasPrefix(d.Name(), ".wasmoe-") {
			rel, _ := filepath.Rel(m.Dir, p)
			got = append(got, rel)
			sameFile(t, p, files[rel])
		}
		return nil
	})
	want := []string{"config.json", "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
		"model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json"}
	if !slices.Equal(got, want) {
		t.Fatalf("pulled %v, want %v", got, want)
	}
	if _, err := c.Pull(context.Background(), cl, Ref{Repo: "org/hf", Quant: "Q4_K_M"}, nil, nil); err == nil ||
		!strings.Contains(err.Error(), "no GGUF files") {
		t.Fatalf("a quant of an HF repository: %v", err)
	}
}

func TestResume(t *testing.T) {
	h, cl, c := setup(t)
	data := blob(7, 100_000)
	repo := h.Add("org/cut", map[string][]byte{"m-Q8_0.gguf": data})
	repo.CutOnce("m-Q8_0.gguf", 40_000)
	m := pull(t, c, cl, "org/cut")
	sameFile(t, m.Path, data)
	gets := cdnGets(h)
	if len(gets) != 2 || gets[0].Range != "" || gets[1].Range != "bytes=40000-" {
		t.Fatalf("CDN requests %+v, want a whole GET then Range bytes=40000-", gets)
	}

	// A .part left by an earlier process is resumed too.
	h2, cl2, c2 := setup(t)
	h2.Add("org/cut", map[string][]byte{"m-Q8_0.gguf": data})
	dir := filepath.Join(c2.Dir, "org", "cut")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "m-Q8_0.gguf.part"), data[:12345], 0o644)
	m = pull(t, c2, cl2, "org/cut")
	sameFile(t, m.Path, data)
	if gets := cdnGets(h2); len(gets) != 1 || gets[0].Range != "bytes=12345-" {
		t.Fatalf("CDN requests %+v, want one with Range bytes=12345-", gets)
	}

	// A server that ignores the Range sends the whole file, which replaces the part.
	h3, cl3, c3 := setup(t)
	h3.Add("org/cut", map[string][]byte{"m-Q8_0.gguf": data}).NoRange = true
	dir = filepath.Join(c3.Dir, "org", "cut")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "m-Q8_0.gguf.part"), data[:12345], 0o644)
	sameFile(t, pull(t, c3, cl3, "org/cut").Path, data)
	if gets := cdnGets(h3); len(gets) != 1 {
		t.Fatalf("CDN requests %+v, want one", gets)
	}
}

// TestResumeStaleAndStalled resumes a .part of another version of the file (its hash fails, so the file
// is downloaded again from the start) and a download that stops sending (cut after the Idle time).
func TestResumeStaleAndStalled(t *testing.T) {
	h, cl, c := setup(t)
	data := blob(7, 50_000)
	h.Add("org/s", map[string][]byte{"m-Q8_0.gguf": data})
	dir := filepath.Join(c.Dir, "org", "s")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "m-Q8_0.gguf.part"), blob(99, 1000), 0o644)
	sameFile(t, pull(t, c, cl, "org/s").Path, data)
	if gets := cdnGets(h); len(gets) != 2 || gets[0].Range != "bytes=1000-" || gets[1].Range != "" {
		t.Fatalf("CDN requests %+v, want Range bytes=1000- then the whole file", gets)
	}

	h2, cl2, c2 := setup(t)
	h2.Add("org/s", map[string][]byte{"m-Q8_0.gguf": data}).StallOnce("m-Q8_0.gguf", 20_000)
	cl2.Idle = 100 * time.Millisecond
	sameFile(t, pull(t, c2, cl2, "org/s").Path, data)
	if gets := cdnGets(h2); len(gets) != 2 || gets[1].Range != "bytes=20000-" {
		t.Fatalf("CDN requests %+v, want the stalled one, then Range bytes=20000-", gets)
	}
}

// TestRetries checks that 503s are tried again and a hub that keeps failing is an error after the
// client's Retries.
func TestRetries(t *testing.T) {
	h, cl, c := setup(t)
	h.Add("org/r", map[string][]byte{"m-Q8_0.gguf": blob(1, 100)})
	h.FailNext(503, 503)
	pull(t, c, cl, "org/r")
	h.FailNext(500, 500, 500, 500, 500)
	before := len(h.Requests())
	_, err := c.Pull(context.Background(), cl, Ref{Repo: "org/r"}, nil, nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 500 || len(h.Requests())-before != cl.Retries+1 {
		t.Fatalf("a failing hub: %v after %d requests, want HTTP 500 after %d", err, len(h.Requests())-before, cl.Retries+1)
	}
}

func TestHashMismatch(t *testing.T) {
	h, cl, c := setup(t)
	data := blob(8, 5000)
	h.Add("org/bad", map[string][]byte{"m-Q4_K_M.gguf": data}).Corrupt("m-Q4_K_M.gguf")
	_, err := c.Pull(context.Background(), cl, Ref{Repo: "org/bad"}, nil, nil)
	var he *HashError
	if !errors.As(err, &he) {
		t.Fatalf("corrupted download: %v, want a HashError", err)
	}
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 0x40
	if want, got := fmt.Sprintf("%x", sha256.Sum256(data)), fmt.Sprintf("%x", sha256.Sum256(bad)); he.File != "m-Q4_K_M.gguf" ||
		he.Expected != want || he.Got != got || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), got) {
		t.Fatalf("error %v: want file m-Q4_K_M.gguf, expected %s, got %s", err, want, got)
	}
	if _, err := os.Stat(filepath.Join(c.Dir, "org", "bad")); err == nil {
		t.Fatal("the failed pull left its directory in the cache")
	}
	if es, _ := c.List(); len(es) != 0 {
		t.Fatalf("cache lists %v after a failed pull", es)
	}
}

func TestHubErrors(t *testing.T) {
	h, cl, c := setup(t)
	h.Add("org/private", map[string][]byte{"m-Q8_0.gguf": blob(1, 10)}).Private = true
	h.Add("org/gated", map[string][]byte{"m-Q8_0.gguf": blob(2, 10)}).Gated = true
	h.Add("org/open", map[string][]byte{"m-Q8_0.gguf": blob(3, 10)})
	try := func(token, ref string) error {
		cl.Token = token
		r, err := ParseRef(ref)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Pull(context.Background(), cl, r, nil, nil)
		return err
	}
	for _, tc := range []struct {
		token, ref string
		status     int
		says       []string
	}{
		{"", "org/private", 401, []string{"org/private", "private or gated", "set HF_TOKEN"}},
		{"", "org/gated", 401, []string{"org/gated is gated", "set HF_TOKEN", h.URL + "/org/gated"}},
		{"hf_wrong", "org/open", 401, []string{"refused HF_TOKEN"}},
		{hubtest.Token, "org/missing", 404, []string{"repository org/missing not found on " + h.URL}},
		{hubtest.Token, "org/open@v2", 404, []string{`org/open has no revision "v2"`}},
	} {
		err := try(tc.token, tc.ref)
		var se *StatusError
		if !errors.As(err, &se) || se.Status != tc.status {
			t.Errorf("%s (token %q): %v, want HTTP %d", tc.ref, tc.token, err, tc.status)
			continue
		}
		for _, s := range tc.says {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not say %q", tc.ref, err, s)
			}
		}
	}
	if ents, _ := os.ReadDir(c.Dir); len(ents) != 0 {
		t.Errorf("failed pulls left %v in the cache", ents)
	}
	for _, ref := range []string{"org/private", "org/gated"} {
		if err := try(hubtest.Token, ref); err != nil {
			t.Errorf("%s with the token: %v", ref, err)
		}
	}
}

func TestListRemove(t *testing.T) {
	h, cl, c := setup(t)
	h.Add("org/g", map[string][]byte{"g-Q4_K_M.gguf": blob(1, 100), "g-Q8_0-00001-of-00002.gguf": blob(2, 200),
		"g-Q8_0-00002-of-00002.gguf": blob(3, 300)})
	h.Add("org/hf", map[string][]byte{"config.json": []byte("{}"), "model.safetensors": blob(4, 400)})
	g4 := pull(t, c, cl, "org/g")
	g8 := pull(t, c, cl, "org/g:Q8_0")
	hf := pull(t, c, cl, "org/hf")
	list := func() []string {
		es, err := c.List()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, fmt.Sprintf("%s %d %d %s", e.Ref, e.Files, e.Size, e.Path))
		}
		slices.Sort(out)
		return out
	}
	want := []string{"org/g:Q4_K_M 1 100 " + g4.Path, "org/g:Q8_0 2 500 " + g8.Path, "org/hf 2 402 " + hf.Path}
	if got := list(); !slices.Equal(got, want) {
		t.Fatalf("list:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := c.Remove(Ref{Repo: "org/g", Quant: "Q8_0"}); err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, []string{want[0], want[2]}) {
		t.Fatalf("after rm org/g:Q8_0: %v", got)
	}
	if err := c.Remove(Ref{Repo: "org/g", Quant: "Q8_0"}); err == nil || !strings.Contains(err.Error(), "org/g:Q8_0 is not in the cache") {
		t.Fatalf("second rm: %v", err)
	}
	c.Remove(Ref{Repo: "org/hf"})
	c.Remove(Ref{Repo: "org/g", Quant: "q4_k_m"})
	if got := list(); len(got) != 0 {
		t.Fatalf("after removing everything: %v", got)
	}
	if ents, _ := os.ReadDir(c.Dir); len(ents) != 0 {
		t.Fatalf("the cache still holds %v", ents)
	}
}

func TestLocal(t *testing.T) {
	h, cl, c := setup(t)
	h.Add("org/g", map[string][]byte{"g-Q4_K_M.gguf": blob(1, 100), "g-Q8_0.gguf": blob(2, 100)})
	if _, err := c.Local(Ref{Repo: "org/g"}); err == nil {
		t.Fatal("Local found a model not pulled")
	}
	m := pull(t, c, cl, "org/g:Q8_0")
	h.Close()
	for _, q := range []string{"", "Q8_0"} { // the hub is gone: the cache answers
		l, err := c.Local(Ref{Repo: "org/g", Quant: q})
		if err != nil || l.Path != m.Path {
			t.Fatalf("Local %q: %v, %v; want %s", q, l, err, m.Path)
		}
	}
	if _, err := c.Local(Ref{Repo: "org/g", Quant: "Q4_K_M"}); err == nil {
		t.Fatal("Local found a quantization not pulled")
	}
}

func TestConcurrentPulls(t *testing.T) {
	h, cl, c := setup(t)
	data := blob(5, 300_000)
	h.Add("org/c", map[string][]byte{"c-Q8_0.gguf": data})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = c.Pull(context.Background(), cl, Ref{Repo: "org/c"}, nil, nil)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sameFile(t, filepath.Join(c.Dir, "org", "c", "c-Q8_0.gguf"), data)
	if n := len(cdnGets(h)); n != 1 {
		t.Fatalf("%d downloads of one file by concurrent pulls, want 1", n)
	}
}
