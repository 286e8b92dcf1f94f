package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/wasmoe/wasmoe/internal/mmap"
)

// MaxHeader is the largest header accepted, in bytes: the Hugging Face library's limit (100 MB).
const MaxHeader = 100_000_000

// metadataKey is the header key of the free-form string map.
const metadataKey = "__metadata__"

// File is an open safetensors file.
type File struct {
	Path      string
	Metadata  map[string]string // the header's __metadata__; nil when absent
	DataStart int64             // byte offset of the data section: 8 + the header length

	tensors map[string]*Tensor
	mapped  []byte // the whole file, memory-mapped (nil when parsed from a byte slice)
}

// Open maps path and parses its header. Close releases the mapping; tensor views are invalid after it.
func Open(path string) (*File, error) {
	data, err := mmap.Map(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if len(data) < 8 {
		mmap.Unmap(data)
		return nil, &FormatError{path, 0, "header length", fmt.Sprintf("file is %d bytes, too short for the 8-byte header length", len(data))}
	}
	f, err := parse(path, data)
	if err != nil {
		mmap.Unmap(data)
		return nil, err
	}
	f.mapped = data
	return f, nil
}

// Close unmaps the file.
func (f *File) Close() error {
	if f.mapped == nil {
		return nil
	}
	err := mmap.Unmap(f.mapped)
	f.mapped = nil
	return err
}

// Tensor returns the tensor named name.
func (f *File) Tensor(name string) (*Tensor, bool) {
	t, ok := f.tensors[name]
	return t, ok
}

// Names returns the names of the file's tensors, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.tensors))
	for n := range f.tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// entry is one tensor of the header before its extent is checked.
type entry struct {
	name       string
	dtype      DType
	shape      []int
	begin, end int
	off        int64 // file offset of its key, for errors
}

// parse checks the header length, parses the header and binds the tensors to b's data section.
func parse(path string, b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, &FormatError{path, 0, "header length", fmt.Sprintf("file is %d bytes, too short for the 8-byte header length", len(b))}
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxHeader {
		return nil, &FormatError{path, 0, "header length", fmt.Sprintf("%d bytes exceeds the limit of %d", n, MaxHeader)}
	}
	if n > uint64(len(b)-8) {
		return nil, &FormatError{path, 0, "header length", fmt.Sprintf("%d bytes runs past the end of the %d-byte file; the file is truncated", n, len(b))}
	}
	hdr := b[8 : 8+n]
	if !utf8.Valid(hdr) {
		return nil, &FormatError{path, 8, "header", "not valid UTF-8"}
	}
	p := &headerParser{path: path, dec: json.NewDecoder(bytes.NewReader(hdr)), base: 8}
	p.dec.UseNumber()
	f := &File{Path: path, DataStart: int64(8 + n), tensors: map[string]*Tensor{}}
	entries, err := p.header(f)
	if err != nil {
		return nil, err
	}
	if err := f.bind(b[8+n:], entries); err != nil {
		return nil, err
	}
	return f, nil
}

// bind checks every entry's extent against the data section and sets the tensor views.
func (f *File) bind(data []byte, entries []entry) error {
	for i := range entries {
		e := &entries[i]
		bad := func(field, msg string, args ...any) error {
			return &FormatError{f.Path, e.off, fmt.Sprintf("tensor %q %s", e.name, field), fmt.Sprintf(msg, args...)}
		}
		size, ok := byteSize(e.shape, e.dtype.Size())
		if !ok {
			return bad("shape", "%v of %v is too large", e.shape, e.dtype)
		}
		if e.begin > e.end || e.end > len(data) {
			return bad("data_offsets", "[%d, %d) is not within the %d-byte data section", e.begin, e.end, len(data))
		}
		if e.end-e.begin != size {
			return bad("data_offsets", "[%d, %d) holds %d bytes; shape %v of %v needs %d", e.begin, e.end, e.end-e.begin, e.shape, e.dtype, size)
		}
		f.tensors[e.name] = &Tensor{Name: e.name, DType: e.dtype, Shape: e.shape, Data: data[e.begin:e.end:e.end], Path: f.Path}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if a.begin != b.begin {
			return a.begin - b.begin
		}
		return a.end - b.end
	})
	last := -1 // the previous non-empty tensor, which ends furthest so far
	for i, e := range entries {
		if e.begin == e.end {
			continue
		}
		if last >= 0 && e.begin < entries[last].end {
			return &FormatError{f.Path, e.off, fmt.Sprintf("tensor %q data_offsets", e.name),
				fmt.Sprintf("[%d, %d) overlaps tensor %q at [%d, %d)", e.begin, e.end, entries[last].name, entries[last].begin, entries[last].end)}
		}
		last = i
	}
	return nil
}

// headerParser walks JSON token by token, so that duplicate keys are seen (encoding/json keeps the last
// one silently) and numbers are checked as the integers they must be.
type headerParser struct {
	path  string
	dec   *json.Decoder
	base  int64  // file offset of the decoder's first byte
	field string // what is being read, for errors
}

// fail returns a FormatError at the decoder's position.
func (p *headerParser) fail(msg string, args ...any) error {
	return &FormatError{p.path, p.base + p.dec.InputOffset(), p.field, fmt.Sprintf(msg, args...)}
}

// token reads the next token; a JSON syntax error becomes a FormatError.
func (p *headerParser) token() (json.Token, error) {
	t, err := p.dec.Token()
	if err == io.EOF {
		return nil, p.fail("unexpected end of the header")
	}
	if err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, &FormatError{p.path, p.base + syn.Offset, p.field, "invalid JSON: " + syn.Error()}
		}
		return nil, p.fail("invalid JSON: %v", err)
	}
	return t, nil
}

// delim reads the delimiter d.
func (p *headerParser) delim(d json.Delim) error {
	t, err := p.token()
	if err != nil {
		return err
	}
	if t != d {
		return p.fail("got %s, want %q", describe(t), d)
	}
	return nil
}

// object reads a JSON object, calling f with each key when the decoder is at its value. Duplicate keys
// are an error.
func (p *headerParser) object(f func(key string) error) error {
	if err := p.delim('{'); err != nil {
		return err
	}
	return p.members(f)
}

// members reads the rest of an object whose '{' has been read (see object).
func (p *headerParser) members(f func(key string) error) error {
	seen := map[string]bool{}
	for p.dec.More() {
		t, err := p.token()
		if err != nil {
			return err
		}
		key, _ := t.(string) // the decoder only returns string keys
		if seen[key] {
			return p.fail("duplicate key %q", key)
		}
		seen[key] = true
		if err := f(key); err != nil {
			return err
		}
	}
	return p.delim('}')
}

// str reads a string.
func (p *headerParser) str() (string, error) {
	t, err := p.token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", p.fail("got %s, want a string", describe(t))
	}
	return s, nil
}

// ints reads an array of non-negative integers.
func (p *headerParser) ints() ([]int, error) {
	if err := p.delim('['); err != nil {
		return nil, err
	}
	v := []int{}
	for p.dec.More() {
		t, err := p.token()
		if err != nil {
			return nil, err
		}
		num, ok := t.(json.Number)
		if !ok {
			return nil, p.fail("got %s, want a non-negative integer", describe(t))
		}
		u, err := strconv.ParseUint(string(num), 10, 64)
		if err != nil || u > uint64(maxInt) {
			return nil, p.fail("%s is not a non-negative integer that fits in an int", num)
		}
		v = append(v, int(u))
	}
	return v, p.delim(']')
}

// header parses the whole header into f.Metadata and the tensor entries, and checks that only spaces
// follow the object.
func (p *headerParser) header(f *File) ([]entry, error) {
	var entries []entry
	p.field = "header"
	err := p.object(func(key string) error {
		if key == metadataKey {
			return p.metadata(f)
		}
		e := entry{name: key, off: p.base + p.dec.InputOffset()}
		if err := p.tensor(&e); err != nil {
			return err
		}
		entries = append(entries, e)
		p.field = "header"
		return nil
	})
	if err != nil {
		return nil, err
	}
	return entries, p.end()
}

// end checks that nothing but white space follows the top-level value.
func (p *headerParser) end() error {
	if _, err := p.dec.Token(); err != io.EOF {
		return p.fail("data after the top-level object (only trailing spaces are allowed)")
	}
	return nil
}

// metadata reads the __metadata__ map: strings only, or null.
func (p *headerParser) metadata(f *File) error {
	p.field = metadataKey
	t, err := p.token()
	if err != nil || t == nil {
		return err
	}
	if t != json.Delim('{') {
		return p.fail("got %s, want a map of strings", describe(t))
	}
	f.Metadata = map[string]string{}
	err = p.members(func(key string) error {
		v, err := p.str()
		if err != nil {
			return err
		}
		f.Metadata[key] = v
		return nil
	})
	p.field = "header"
	return err
}

// tensor reads one tensor's entry: dtype, shape and data_offsets, each exactly once; other fields are
// ignored, as the Hugging Face library ignores them.
func (p *headerParser) tensor(e *entry) error {
	var haveDType, haveShape, haveOffsets bool
	err := p.object(func(key string) error {
		p.field = fmt.Sprintf("tensor %q %s", e.name, key)
		switch key {
		case "dtype":
			s, err := p.str()
			if err != nil {
				return err
			}
			t, ok := parseDType(s)
			if !ok {
				return p.fail("unknown dtype %q", s)
			}
			e.dtype, haveDType = t, true
		case "shape":
			v, err := p.ints()
			if err != nil {
				return err
			}
			e.shape, haveShape = v, true
		case "data_offsets":
			v, err := p.ints()
			if err != nil {
				return err
			}
			if len(v) != 2 {
				return p.fail("has %d values, want [begin, end]", len(v))
			}
			e.begin, e.end, haveOffsets = v[0], v[1], true
		default:
			var skip json.RawMessage
			if err := p.dec.Decode(&skip); err != nil {
				return p.fail("invalid JSON: %v", err)
			}
		}
		p.field = fmt.Sprintf("tensor %q", e.name)
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case !haveDType:
		return p.fail("no dtype")
	case !haveShape:
		return p.fail("no shape")
	case !haveOffsets:
		return p.fail("no data_offsets")
	}
	return nil
}

// describe names a JSON token for an error message.
func describe(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", v)
	case string:
		return fmt.Sprintf("string %q", v)
	case json.Number:
		return "number " + string(v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", t)
}
