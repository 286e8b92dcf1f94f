package hub

import (
	"context"
	"os"
	"path/filepath"
	"strings"
)

// Model is a pulled model in the cache.
type Model struct {
	Ref    Ref
	Commit string
	Dir    string // the repository's directory in the cache
	Path   string // what to give --model: the GGUF (its first part), or Dir for a Hugging Face directory
	Quant  string // the GGUF's tag, or "hf"
	Files  []File
}

// newModel is the Model of choice ch in dir.
func newModel(r Ref, dir, commit string, ch *Choice) *Model {
	m := &Model{Ref: r, Commit: commit, Dir: dir, Path: dir, Quant: ch.Quant, Files: ch.Files}
	if ch.Main != "" {
		m.Path = filepath.Join(dir, filepath.FromSlash(ch.Main))
	}
	return m
}

// Pull brings ref's files into the cache from the hub: it lists the repository at the revision, chooses
// the files (Choose), and downloads those the cache lacks or holds in another version. One process at a
// time pulls into a repository's directory; waiting is called when another holds it.
func (c Cache) Pull(ctx context.Context, cl *Client, r Ref, p Progress, waiting func()) (*Model, error) {
	if p == nil {
		p = noProgress{}
	}
	info, err := cl.Info(ctx, r.Repo, r.revision())
	if err != nil {
		return nil, err
	}
	ch, err := Choose(r.Repo, info.Files, r.Quant)
	if err != nil {
		return nil, err
	}
	dir := c.repoDir(r)
	unlock, err := lock(dir, waiting)
	if err != nil {
		return nil, err
	}
	defer unlock()
	m, _, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	m.Repo, m.Revision, m.Commit = r.Repo, r.revision(), info.Commit
	for i, f := range ch.Files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Path))
		if old, ok := m.Files[f.Path]; ok && old == f {
			if st, err := os.Stat(dst); err == nil && st.Size() == f.Size {
				p.Start(f.Path, i+1, len(ch.Files), f.Size, f.Size)
				continue
			}
		}
		delete(m.Files, f.Path)
		if err := m.write(dir); err != nil {
			return nil, err
		}
		if err := cl.download(ctx, r.Repo, info.Commit, f, dst, p, i+1, len(ch.Files)); err != nil {
			if len(m.Files) == 0 && !partsLeft(dir) { // nothing of this repository is left: leave no trace
				c.removeDir(dir)
			}
			return nil, err
		}
		m.Files[f.Path] = f
		if err := m.write(dir); err != nil {
			return nil, err
		}
	}
	if err := m.write(dir); err != nil {
		return nil, err
	}
	return newModel(r, dir, info.Commit, ch), nil
}

// partsLeft reports whether dir holds a partial download (a .part file) that a later pull would resume.
func partsLeft(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".part") {
			found = true
		}
		return nil
	})
	return found
}
