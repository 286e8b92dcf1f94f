package gguf

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"
)

// The metadata keys llama-gguf-split writes into every part of a split model (llama.cpp's LLM_KV_SPLIT_*).
// The first part also carries all the model's metadata; the others carry only these keys and tensors.
const (
	KeySplitNo      = "split.no"            // uint16: this part's index, 0-based
	KeySplitCount   = "split.count"         // uint16: how many parts the model has
	KeySplitTensors = "split.tensors.count" // int32: how many tensors all the parts hold together
)

// maxSplits bounds split.count, which llama.cpp stores as a uint16.
const maxSplits = math.MaxUint16

// splitNameFormat is the tail of a part's name after its prefix: llama.cpp's "%s-%05d-of-%05d.gguf".
const splitNameFormat = "-%05d-of-%05d.gguf"

// SplitPath names part no (0-based) of a count-part model as llama.cpp's llama_split_path does:
// PREFIX-%05d-of-%05d.gguf with the 1-based part number, e.g. "m-00002-of-00003.gguf" for no 1 of 3.
func SplitPath(prefix string, no, count int) string {
	return prefix + fmt.Sprintf(splitNameFormat, no+1, count)
}

// SplitPrefix returns the prefix of path, part no (0-based) of a count-part model, and whether path ends as
// SplitPath names that part (llama.cpp's llama_split_prefix; the prefix must not be empty).
func SplitPrefix(path string, no, count int) (string, bool) {
	tail := fmt.Sprintf(splitNameFormat, no+1, count)
	if len(path) <= len(tail) || !strings.HasSuffix(path, tail) {
		return "", false
	}
	return path[:len(path)-len(tail)], true
}

// splitKeys reads a file's split.no and split.count. A count of 0 or 1 (or none) means a single file; a
// count above 1 comes with a split.no below it.
func splitKeys(f *File) (no, count int, err error) {
	v, ok := f.Value(KeySplitCount)
	if !ok {
		return 0, 0, nil
	}
	n, isInt := f.Uint(KeySplitCount)
	if !isInt || n > maxSplits {
		return 0, 0, &FormatError{f.Path, 0, fmt.Sprintf("metadata %q", KeySplitCount),
			fmt.Sprintf("must be an integer from 0 to %d, got %v (%s)", maxSplits, v.V, v.Type)}
	}
	if n <= 1 {
		return 0, int(n), nil
	}
	i, isInt := f.Uint(KeySplitNo)
	if !isInt || i >= n {
		msg := fmt.Sprintf("missing from one part of a %d-part split model", n)
		if w, ok := f.Value(KeySplitNo); ok {
			msg = fmt.Sprintf("must be an integer below split.count %d, got %v (%s)", n, w.V, w.Type)
		}
		return 0, 0, &FormatError{f.Path, 0, fmt.Sprintf("metadata %q", KeySplitNo), msg}
	}
	return int(i), int(n), nil
}

// openSplit opens the other parts of the split model that given (part no of count) belongs to, finding them
// by name, and assembles the model. It owns given: on error every part, given too, is closed.
func openSplit(given *File, no, count int) (*File, error) {
	prefix, ok := SplitPrefix(given.Path, no, count)
	if !ok {
		given.Close()
		return nil, fmt.Errorf("gguf: %s is part %d of a %d-part split model (split.no %d), but its name does not end in %q: "+
			"the parts must keep the names llama-gguf-split gives them, PREFIX-NNNNN-of-NNNNN.gguf, for the others to be found",
			given.Path, no+1, count, no, fmt.Sprintf(splitNameFormat, no+1, count))
	}
	parts := make([]*File, count)
	parts[no] = given
	closeAll := func() {
		for _, p := range parts {
			if p != nil {
				p.Close()
			}
		}
	}
	for i := range parts {
		if parts[i] != nil {
			continue
		}
		path := SplitPath(prefix, i, count)
		p, err := openPart(path)
		if err != nil {
			closeAll()
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("gguf: %s is part %d of a %d-part split model, but part %d, %s, is missing",
					given.Path, no+1, count, i+1, path)
			}
			return nil, err
		}
		parts[i] = p
	}
	f, err := assemble(parts, no)
	if err != nil {
		closeAll()
		return nil, err
	}
	return f, nil
}

// assemble checks that parts, in order, are the whole of one split model, and presents them as one File:
// the first part's metadata and all parts' tensors, each keeping its view into its own part. Every part's
// split.count must be len(parts) (as parts[given] says) and its split.no its index; no tensor name may occur
// twice; the first part's split.tensors.count must be the number of tensors found. Each part was parsed
// whole, so every tensor's data already lies within its own part. The parts' mappings pass to the result.
func assemble(parts []*File, given int) (*File, error) {
	for i, p := range parts {
		no, count, err := splitKeys(p)
		if err != nil {
			return nil, err
		}
		if count != len(parts) {
			return nil, fmt.Errorf("gguf: %s says split.count %d, but %s says the model has %d parts: the files are not parts of one split",
				p.Path, count, parts[given].Path, len(parts))
		}
		if no != i {
			return nil, fmt.Errorf("gguf: %s holds part %d (split.no %d), but its name is that of part %d: a part was renamed, or comes from another split",
				p.Path, no+1, no, i+1)
		}
	}
	first := parts[0]
	total, ok := first.Int(KeySplitTensors)
	if !ok || total < 0 {
		msg := "missing from the first part of a split model"
		if v, ok := first.Value(KeySplitTensors); ok {
			msg = fmt.Sprintf("must be a non-negative integer, got %v (%s)", v.V, v.Type)
		}
		return nil, &FormatError{first.Path, 0, fmt.Sprintf("metadata %q", KeySplitTensors), msg}
	}
	f := &File{Path: first.Path, Version: first.Version, KV: first.KV, Alignment: first.Alignment, DataStart: first.DataStart,
		kv: first.kv, tensors: map[string]int{}}
	for i, p := range parts {
		f.Parts = append(f.Parts, p.Path)
		for _, t := range p.Tensors {
			if j, dup := f.tensors[t.Name]; dup {
				return nil, fmt.Errorf("gguf: tensor %q is in %s and again in %s: the split model is corrupt",
					t.Name, parts[f.Tensors[j].Part].Path, p.Path)
			}
			t.Part = i
			f.tensors[t.Name] = len(f.Tensors)
			f.Tensors = append(f.Tensors, t)
		}
	}
	if int64(len(f.Tensors)) != total {
		return nil, fmt.Errorf("gguf: %s says split.tensors.count %d, but its %d parts hold %d tensors: the split model is corrupt",
			first.Path, total, len(parts), len(f.Tensors))
	}
	for _, p := range parts {
		f.mapped = append(f.mapped, p.mapped...)
		p.mapped = nil
	}
	return f, nil
}
