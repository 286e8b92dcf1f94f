package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Cache is the directory pulled models live in: one directory per repository and revision,
// DIR/ORG/REPO for main and DIR/ORG/REPO@REVISION for another (the revision path-escaped), holding the
// pulled files under their names in the repository, so that a split GGUF's parts sit side by side and a
// Hugging Face directory is a directory. Each holds a manifest of the files pulled into it and a lock.
type Cache struct {
	Dir string
}

// manifestName and lockName are the cache's own files in a repository's directory.
const (
	manifestName = ".wasmoe-pull.json"
	lockName     = ".wasmoe-pull.lock"
)

// manifest records what a repository's directory holds: the commit last pulled and each file with the
// hub's size and hash, so that a later pull skips files that have not changed.
type manifest struct {
	Repo     string          `json:"repo"`
	Revision string          `json:"revision"`
	Commit   string          `json:"commit"`
	Files    map[string]File `json:"files"`
}

// repoDir is the directory of ref's repository at its revision.
func (c Cache) repoDir(r Ref) string {
	d := filepath.Join(c.Dir, filepath.FromSlash(r.Repo))
	if r.Revision != "" && r.Revision != DefaultRevision {
		d += "@" + url.PathEscape(r.Revision)
	}
	return d
}

// lock takes the repository directory's lock (flock, released when the process ends), calling waiting
// first when another process holds it. The returned function releases it.
func lock(dir string, waiting func()) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		if waiting != nil {
			waiting()
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

// readManifest reads dir's manifest; a directory without one has an empty manifest and ok false.
func readManifest(dir string) (m *manifest, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return &manifest{Files: map[string]File{}}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	m = &manifest{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, false, fmt.Errorf("%s: %v (delete the directory and pull again)", filepath.Join(dir, manifestName), err)
	}
	if m.Files == nil {
		m.Files = map[string]File{}
	}
	for p := range m.Files {
		if !safePath(p) {
			return nil, false, fmt.Errorf("%s: file name %q is not a relative path", filepath.Join(dir, manifestName), p)
		}
	}
	return m, true, nil
}

// write saves the manifest into dir atomically.
func (m *manifest) write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, manifestName+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, manifestName))
}

// present lists the manifest's files that are on disk with their recorded size, in path order.
func (m *manifest) present(dir string) []File {
	var files []File
	for _, f := range m.Files {
		if st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Path))); err == nil && st.Size() == f.Size {
			files = append(files, f)
		}
	}
	sortFiles(files)
	return files
}

// notCached is the error for a reference the cache does not hold.
func (c Cache) notCached(r Ref) error {
	return fmt.Errorf("%s is not in the cache %s (wasmoe list shows what is; wasmoe pull %s fetches it)", r, c.Dir, r)
}

// Local finds ref in the cache without the network: the same choice a pull makes, among the files pulled.
func (c Cache) Local(r Ref) (*Model, error) {
	dir := c.repoDir(r)
	m, ok, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, c.notCached(r)
	}
	ch, err := Choose(r.Repo, m.present(dir), r.Quant)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", c.notCached(r), err)
	}
	return newModel(r, dir, m.Commit, ch), nil
}

// Remove deletes ref from the cache: with a quantization, that GGUF (every part); without, the
// repository's directory at the revision.
func (c Cache) Remove(r Ref) error {
	dir := c.repoDir(r)
	m, ok, err := readManifest(dir)
	if err != nil {
		return err
	}
	if !ok {
		return c.notCached(r)
	}
	unlock, err := lock(dir, nil) // after a pull into the directory finishes
	if err != nil {
		return err
	}
	defer unlock()
	if r.Quant == "" {
		return c.removeDir(dir)
	}
	ch, err := Choose(r.Repo, m.present(dir), r.Quant)
	if err != nil || ch.Main == "" {
		return c.notCached(r)
	}
	for _, f := range ch.Files {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(f.Path))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		delete(m.Files, f.Path)
	}
	if len(m.present(dir)) == 0 {
		return c.removeDir(dir)
	}
	return m.write(dir)
}

// removeDir deletes a repository's directory, and its owner's when that is left empty.
func (c Cache) removeDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	os.Remove(filepath.Dir(dir)) // fails, harmlessly, while the owner has other repositories
	return nil
}

// Entry is one model in the cache, as List shows it.
type Entry struct {
	Ref   Ref    // with the quantization of the GGUF, "" for a Hugging Face directory
	Path  string // what to give --model
	Files int
	Size  int64
}

// List walks the cache: every GGUF model (a split one once) and every Hugging Face directory, by
// repository, revision and name.
func (c Cache) List() ([]Entry, error) {
	manifests, err := filepath.Glob(filepath.Join(c.Dir, "*", "*", manifestName))
	if err != nil {
		return nil, err
	}
	var entries []Entry
	for _, mp := range manifests {
		dir := filepath.Dir(mp)
		m, _, err := readManifest(dir)
		if err != nil {
			return nil, err
		}
		files := m.present(dir)
		r := Ref{Repo: m.Repo}
		if m.Revision != DefaultRevision {
			r.Revision = m.Revision
		}
		for _, f := range files {
			if g, ok := parseGGUFName(f.Path); ok && isModelGGUF(f.Path) && g.index == 1 {
				gr := r
				gr.Quant = g.tag
				if ch, err := ggufChoice(r.Repo, files, f); err == nil {
					entries = append(entries, entryOf(gr, dir, ch))
				}
			}
		}
		if ch, err := hfChoice(r.Repo, files); err == nil && len(availableQuants(files)) == 0 {
			entries = append(entries, entryOf(r, dir, ch))
		}
	}
	return entries, nil
}

// entryOf describes a choice in dir.
func entryOf(r Ref, dir string, ch *Choice) Entry {
	e := Entry{Ref: r, Path: newModel(r, dir, "", ch).Path, Files: len(ch.Files)}
	for _, f := range ch.Files {
		e.Size += f.Size
	}
	return e
}

// sortFiles orders files by path.
func sortFiles(files []File) {
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
}
