package hub

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Ref
		err  string
	}{
		{in: "unsloth/DeepSeek-R1-GGUF", want: Ref{Repo: "unsloth/DeepSeek-R1-GGUF"}},
		{in: "bartowski/Qwen2.5-7B-Instruct-GGUF:Q4_K_M", want: Ref{Repo: "bartowski/Qwen2.5-7B-Instruct-GGUF", Quant: "Q4_K_M"}},
		{in: "o/r:UD-Q2_K_XL@refs/pr/1", want: Ref{Repo: "o/r", Quant: "UD-Q2_K_XL", Revision: "refs/pr/1"}},
		{in: "o/r@0123456789abcdef0123456789abcdef01234567", want: Ref{Repo: "o/r", Revision: "0123456789abcdef0123456789abcdef01234567"}},
		{in: "gpt2", err: "one '/'"},
		{in: "a/b/c", err: "one '/'"},
		{in: "o/r--x", err: `"--"`},
		{in: "o/.r", err: "start and end"},
		{in: "o/r.git", err: ".git"},
		{in: "o/r:", err: "empty quantization"},
		{in: "o/r:Q4 K", err: "not allowed"},
		{in: "o/r@", err: "empty revision"},
		{in: "o/r@a/../b", err: `".."`},
		{in: "o/r@x:y", err: "not allowed"},
	} {
		got, err := ParseRef(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want an error saying %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want || got.String() != tc.in {
			t.Errorf("%q: %+v %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseRef checks that what ParseRef accepts writes back to itself and maps to a cache directory
// inside the cache, and a resolve URL path the hub reads back to the same repository and revision.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"o/r", "o/r:Q4_K_M", "o/r:Q8_0@main", "o/r@refs/pr/1", "a/b/c", "o/r@..", "o/r@%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			return
		}
		if r2, err := ParseRef(r.String()); err != nil || r2 != r {
			t.Fatalf("%q: %+v writes as %q, which reads as %+v, %v", s, r, r.String(), r2, err)
		}
		c := Cache{Dir: "/cache/models"}
		if rel, err := filepath.Rel(c.Dir, c.repoDir(r)); err != nil || strings.HasPrefix(rel, "..") || strings.Count(rel, "/") != 1 {
			t.Fatalf("%q: cache directory %s is not ORG/REPO inside %s", s, c.repoDir(r), c.Dir)
		}
		if rev, err := url.PathUnescape(url.PathEscape(r.revision())); err != nil || rev != r.revision() {
			t.Fatalf("%q: revision %q does not survive the URL", s, r.revision())
		}
	})
}
