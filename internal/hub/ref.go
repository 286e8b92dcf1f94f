// Package hub downloads models from the Hugging Face Hub, speaking its HTTP protocol as huggingface_hub
// and llama.cpp's -hf do, into a local cache that the CLI lists and prunes.
package hub

import (
	"fmt"
	"strings"
)

// Ref names a model on the hub: a repository, an optional quantization tag choosing one GGUF among the
// repository's, and an optional revision (a branch, tag or commit; "main" when empty). Its written form is
// `org/repo[:QUANT][@REVISION]`.
type Ref struct {
	Repo     string
	Quant    string
	Revision string
}

// DefaultRevision is the revision a Ref without one names.
const DefaultRevision = "main"

// ParseRef reads `org/repo[:QUANT][@REVISION]`. The repository id follows the hub's rules (huggingface_hub's
// validate_repo_id: letters, digits, '-', '_', '.', no "--" or "..", at most 96 characters); a QUANT is
// letters, digits, '_' and '-' (Q4_K_M, UD-Q4_K_XL); a REVISION is any branch, tag or commit name without
// control characters or "..".
func ParseRef(s string) (Ref, error) {
	rest, rev, hasRev := strings.Cut(s, "@")
	repo, quant, hasQuant := strings.Cut(rest, ":")
	r := Ref{Repo: repo, Quant: quant, Revision: rev}
	if err := validRepo(repo); err != nil {
		return Ref{}, fmt.Errorf("model reference %q: %w (expected org/repo[:QUANT][@REVISION])", s, err)
	}
	if hasQuant {
		if err := validQuant(quant); err != nil {
			return Ref{}, fmt.Errorf("model reference %q: %w", s, err)
		}
	}
	if hasRev {
		if err := validRevision(rev); err != nil {
			return Ref{}, fmt.Errorf("model reference %q: %w", s, err)
		}
	}
	return r, nil
}

// String writes the reference back in the form ParseRef reads.
func (r Ref) String() string {
	s := r.Repo
	if r.Quant != "" {
		s += ":" + r.Quant
	}
	if r.Revision != "" {
		s += "@" + r.Revision
	}
	return s
}

// revision is the revision to ask the hub for.
func (r Ref) revision() string {
	if r.Revision == "" {
		return DefaultRevision
	}
	return r.Revision
}

// validRepo checks a repository id: NAMESPACE/NAME, each part starting and ending with a letter, digit or
// '_', made of those, '-' and '.'.
func validRepo(repo string) error {
	ns, name, ok := strings.Cut(repo, "/")
	switch {
	case !ok || strings.Contains(name, "/"):
		return fmt.Errorf("repository %q: want one '/' between owner and name", repo)
	case len(repo) > 96:
		return fmt.Errorf("repository %q: longer than 96 characters", repo)
	case strings.Contains(repo, "--") || strings.Contains(repo, ".."):
		return fmt.Errorf("repository %q: \"--\" and \"..\" are not allowed", repo)
	case strings.HasSuffix(repo, ".git"):
		return fmt.Errorf("repository %q: may not end with .git", repo)
	}
	for _, part := range []string{ns, name} {
		if part == "" || !wordByte(part[0]) || !wordByte(part[len(part)-1]) {
			return fmt.Errorf("repository %q: owner and name must start and end with a letter, digit or '_'", repo)
		}
		for i := 0; i < len(part); i++ {
			if c := part[i]; !wordByte(c) && c != '-' && c != '.' {
				return fmt.Errorf("repository %q: character %q not allowed", repo, c)
			}
		}
	}
	return nil
}

// validQuant checks a quantization tag.
func validQuant(q string) error {
	if q == "" {
		return fmt.Errorf("empty quantization tag after ':' (e.g. Q4_K_M)")
	}
	for i := 0; i < len(q); i++ {
		if c := q[i]; !wordByte(c) && c != '-' {
			return fmt.Errorf("quantization tag %q: character %q not allowed (letters, digits, '_', '-')", q, c)
		}
	}
	return nil
}

// validRevision checks a revision name.
func validRevision(rev string) error {
	if rev == "" {
		return fmt.Errorf("empty revision after '@' (e.g. main or a commit)")
	}
	if len(rev) > 256 {
		return fmt.Errorf("revision longer than 256 characters")
	}
	for i := 0; i < len(rev); i++ {
		if c := rev[i]; c < 0x20 || c == 0x7f || c == ':' || c == '\\' {
			return fmt.Errorf("revision %q: character %q not allowed", rev, c)
		}
	}
	for _, seg := range strings.Split(rev, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("revision %q: empty, \".\" or \"..\" path segment", rev)
		}
	}
	return nil
}

// wordByte reports whether c is an ASCII letter, digit or '_'.
func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
