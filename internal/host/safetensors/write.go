package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WriteTensor is one tensor for Write.
type WriteTensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte // exactly prod(Shape)·DType.Size() bytes, little-endian, row-major
}

// Write writes a safetensors file holding tensors and, if it is not empty, metadata as __metadata__.
//
// The layout is the Hugging Face library's, byte for byte for the same input: the header is padded with
// spaces to a multiple of 8 bytes, so the data section starts 8-byte aligned, and the data is packed with
// no gaps, tensors ordered by decreasing dtype alignment and then by name, so every tensor is aligned to its
// element size (that library refuses gaps between tensors when it reads). In the header, __metadata__ comes
// first, then the tensors sorted by name (the library lists them in data order instead; JSON objects are
// unordered, and every reader accepts both).
func Write(path string, tensors []WriteTensor, metadata map[string]string) error {
	fd, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := encode(fd, tensors, metadata); err != nil {
		fd.Close()
		os.Remove(path)
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return fd.Close()
}

// encode writes the file image of tensors and metadata to out.
func encode(out io.Writer, tensors []WriteTensor, metadata map[string]string) error {
	seen := map[string]bool{}
	for _, t := range tensors {
		switch size, ok := byteSize(t.Shape, t.DType.Size()); {
		case !t.DType.valid():
			return fmt.Errorf("tensor %q: invalid dtype %v", t.Name, t.DType)
		case !ok:
			return fmt.Errorf("tensor %q: bad shape %v", t.Name, t.Shape)
		case len(t.Data) != size:
			return fmt.Errorf("tensor %q: %d bytes of data, shape %v of %v needs %d", t.Name, len(t.Data), t.Shape, t.DType, size)
		case t.Name == metadataKey || !utf8.ValidString(t.Name):
			return fmt.Errorf("tensor name %q is not allowed", t.Name)
		case seen[t.Name]:
			return fmt.Errorf("two tensors are named %q", t.Name)
		}
		seen[t.Name] = true
	}
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("metadata %q: not valid UTF-8", k)
		}
	}
	// Data order: decreasing dtype (alignment), then name.
	order := slices.Clone(tensors)
	slices.SortFunc(order, func(a, b WriteTensor) int {
		if a.DType != b.DType {
			return int(b.DType) - int(a.DType)
		}
		return strings.Compare(a.Name, b.Name)
	})
	begin := map[string]int{}
	off := 0
	for _, t := range order {
		begin[t.Name] = off
		off += len(t.Data)
	}
	// Header order: __metadata__, then names sorted.
	byName := slices.Clone(tensors)
	slices.SortFunc(byName, func(a, b WriteTensor) int { return strings.Compare(a.Name, b.Name) })
	var h bytes.Buffer
	h.WriteByte('{')
	if len(metadata) > 0 {
		quote(&h, metadataKey)
		h.WriteString(":{")
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			quote(&h, k)
			h.WriteByte(':')
			quote(&h, metadata[k])
		}
		h.WriteByte('}')
	}
	for i, t := range byName {
		if i > 0 || len(metadata) > 0 {
			h.WriteByte(',')
		}
		quote(&h, t.Name)
		h.WriteString(`:{"dtype":"` + t.DType.String() + `","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		b := begin[t.Name]
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, b, b+len(t.Data))
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	if h.Len() > MaxHeader {
		return fmt.Errorf("header of %d bytes exceeds the limit of %d", h.Len(), MaxHeader)
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(h.Len()))
	bw.Write(n[:])
	bw.Write(h.Bytes())
	for _, t := range order {
		bw.Write(t.Data)
	}
	return bw.Flush()
}

// quote appends s as a JSON string, escaping only what JSON requires (as serde_json does, unlike
// encoding/json's default, which also escapes <, > and &).
func quote(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)               // a string always encodes
	buf.Truncate(buf.Len() - 1) // the newline Encode adds
}

// WriteIndex writes dir/model.safetensors.index.json for a sharded model whose shards are already in dir:
// weightMap gives each tensor's shard file name. metadata.total_size is the sum of the listed tensors'
// bytes, read from the shards, which also checks that every tensor is where the map says. The format is
// transformers' (keys sorted, two-space indent, final newline).
func WriteIndex(dir string, weightMap map[string]string) error {
	var shards []string
	for _, shard := range weightMap {
		if !plainName(shard) {
			return fmt.Errorf("safetensors: shard %q is not a file name in %s", shard, dir)
		}
		if !slices.Contains(shards, shard) {
			shards = append(shards, shard)
		}
	}
	slices.Sort(shards)
	paths := make([]string, len(shards))
	for i, shard := range shards {
		paths[i] = filepath.Join(dir, shard)
	}
	s, err := openFiles(dir, paths, weightMap)
	if err != nil {
		return err
	}
	defer s.Close()
	total := 0
	for _, t := range s.tensors {
		total += len(t.Data)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	idx := struct {
		Metadata  map[string]int    `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}{map[string]int{"total_size": total}, weightMap}
	if idx.WeightMap == nil {
		idx.WeightMap = map[string]string{}
	}
	if err := enc.Encode(idx); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, IndexName), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}
