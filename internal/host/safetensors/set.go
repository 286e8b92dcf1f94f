package safetensors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The file names of a Hugging Face model directory.
const (
	SingleName = "model.safetensors"
	IndexName  = "model.safetensors.index.json"
)

// maxIndex bounds the index file read into memory (DeepSeek-V3's is about 9 MB).
const maxIndex = 1 << 30

// Set is the tensors of a model directory, from one file or several shards.
type Set struct {
	Dir   string
	Files []*File // every file opened, each once, sorted by path

	tensors map[string]*Tensor
}

// OpenDir opens the model in dir, as transformers finds it: model.safetensors if it exists; otherwise
// model.safetensors.index.json, whose weight_map names the shard of every tensor (each shard is opened once,
// and only the tensors it lists are in the Set); otherwise the directory's only *.safetensors file. Errors
// name the file at fault.
func OpenDir(dir string) (*Set, error) {
	single := filepath.Join(dir, SingleName)
	if _, err := os.Stat(single); err == nil {
		return openFiles(dir, []string{single}, nil)
	}
	index := filepath.Join(dir, IndexName)
	if _, err := os.Stat(index); err == nil {
		return openIndexed(dir, index)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var found []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".safetensors") && !e.IsDir() {
			found = append(found, e.Name())
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("safetensors: %s has no %s or %s, and %d other .safetensors files %v (want exactly one)",
			dir, SingleName, IndexName, len(found), found)
	}
	return openFiles(dir, []string{filepath.Join(dir, found[0])}, nil)
}

// openFiles opens paths. With weightMap nil there is one path and the Set holds all its tensors;
// otherwise it holds exactly the tensors weightMap places, each looked up in its file.
func openFiles(dir string, paths []string, weightMap map[string]string) (*Set, error) {
	s := &Set{Dir: dir}
	byName := map[string]*File{}
	for _, p := range paths {
		f, err := Open(p)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Files = append(s.Files, f)
		byName[filepath.Base(p)] = f
	}
	if weightMap == nil {
		s.tensors = s.Files[0].tensors
		return s, nil
	}
	s.tensors = map[string]*Tensor{}
	for name, shard := range weightMap {
		t, ok := byName[shard].Tensor(name)
		if !ok {
			s.Close()
			return nil, fmt.Errorf("safetensors: %s: tensor %q, which %s places there, is missing", byName[shard].Path, name, IndexName)
		}
		s.tensors[name] = t
	}
	return s, nil
}

// openIndexed reads the index and opens its shards.
func openIndexed(dir, index string) (*Set, error) {
	weightMap, err := readIndex(index)
	if err != nil {
		return nil, err
	}
	var shards []string
	seen := map[string]bool{}
	for _, shard := range weightMap {
		if !seen[shard] {
			seen[shard] = true
			shards = append(shards, shard)
		}
	}
	sort.Strings(shards)
	paths := make([]string, len(shards))
	for i, shard := range shards {
		paths[i] = filepath.Join(dir, shard)
	}
	return openFiles(dir, paths, weightMap)
}

// readIndex parses an index file's weight_map, checking that keys do not repeat and that every shard is a
// plain file name in the index's directory.
func readIndex(path string) (map[string]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if st.Size() > maxIndex {
		return nil, fmt.Errorf("safetensors: %s is %d bytes, more than an index can be", path, st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	p := &headerParser{path: path, dec: json.NewDecoder(bytes.NewReader(b))}
	p.dec.UseNumber()
	p.field = "index"
	var weightMap map[string]string
	err = p.object(func(key string) error {
		if key != "weight_map" {
			var skip json.RawMessage
			if err := p.dec.Decode(&skip); err != nil {
				return p.fail("invalid JSON: %v", err)
			}
			return nil
		}
		p.field = "weight_map"
		weightMap = map[string]string{}
		return p.object(func(name string) error {
			shard, err := p.str()
			if err != nil {
				return err
			}
			if !plainName(shard) {
				return p.fail("tensor %q: shard %q is not a file name in the index's directory", name, shard)
			}
			weightMap[name] = shard
			return nil
		})
	})
	if err == nil {
		err = p.end()
	}
	if err != nil {
		return nil, err
	}
	if weightMap == nil {
		return nil, &FormatError{path, 0, "weight_map", "missing"}
	}
	return weightMap, nil
}

// Tensor returns the tensor named name, from whichever file holds it.
func (s *Set) Tensor(name string) (*Tensor, bool) {
	t, ok := s.tensors[name]
	return t, ok
}

// Names returns the names of the Set's tensors, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.tensors))
	for n := range s.tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Close unmaps every file; tensor views are invalid after it. It returns the first error.
func (s *Set) Close() error {
	var first error
	for _, f := range s.Files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// plainName reports whether name is a file name with no directory part (so an index cannot point outside
// its directory).
func plainName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`) && filepath.Base(name) == name
}
