package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/golang/snappy"

	"github.com/wasmoe/wasmoe/internal/tenant"
)

// BundleContentType is the Content-Type of a bundle upload.
const BundleContentType = "application/x-wasmoe-bundle"

// A bundle is what `wasmoe deploy` uploads: a snappy stream (the framed format) of
//
//	bundleMagic | manifest length (uint32, little-endian) | manifest (JSON) | the wasm module
//
// The module runs to the end of the stream.
const bundleMagic = "WASMOEB1"

// maxManifest bounds a bundle's manifest.
const maxManifest = 64 << 10

// Manifest describes a plugin's module: where it came from (a wrangler.toml's name and
// compatibility_date) and the limits it asks to run under.
type Manifest struct {
	Name              string       `json:"name"`
	CompatibilityDate string       `json:"compatibility_date,omitempty"` // YYYY-MM-DD, recorded as given
	Limits            PluginLimits `json:"limits,omitzero"`
}

// PluginLimits are the limits a plugin asks for. They can only tighten the tenant's and the node's: the
// plugin runs under the smallest non-zero value of each. Zero asks for nothing.
type PluginLimits struct {
	MemoryMB    int             `json:"memory_mb,omitempty" toml:"memory_mb"`       // linear memory of one instance
	StepTimeout tenant.Duration `json:"step_timeout,omitempty" toml:"step_timeout"` // one policy step
	CPUBudget   tenant.Duration `json:"cpu_budget,omitempty" toml:"cpu_budget"`     // a request's plugin calls together
}

// namePattern is what a plugin may be called (as a file in the plugin directory may: NAME.wasm).
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// datePattern is a compatibility date.
var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// ReservedName is the built-in policy's name, which no deployed plugin may take.
const ReservedName = "wasmoe"

// ValidName checks a plugin name.
func ValidName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%w: plugin name %q: use 1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit", ErrInvalid, name)
	}
	if name == ReservedName {
		return fmt.Errorf("%w: plugin name %q is the built-in policy's", ErrInvalid, name)
	}
	return nil
}

// Validate checks the manifest: its name, its date's form and its limits.
func (m *Manifest) Validate() error {
	if err := ValidName(m.Name); err != nil {
		return err
	}
	if m.CompatibilityDate != "" {
		if _, err := time.Parse(time.DateOnly, m.CompatibilityDate); err != nil || !datePattern.MatchString(m.CompatibilityDate) {
			return fmt.Errorf("%w: compatibility_date %q: want YYYY-MM-DD", ErrInvalid, m.CompatibilityDate)
		}
	}
	l := m.Limits
	switch {
	case l.MemoryMB < 0 || l.MemoryMB > 4096:
		return fmt.Errorf("%w: limits.memory_mb %d: want 0 to 4096", ErrInvalid, l.MemoryMB)
	case l.StepTimeout < 0:
		return fmt.Errorf("%w: limits.step_timeout is negative", ErrInvalid)
	case l.CPUBudget < 0:
		return fmt.Errorf("%w: limits.cpu_budget is negative", ErrInvalid)
	}
	return nil
}

// Bundle is a decoded bundle.
type Bundle struct {
	Manifest Manifest
	Module   []byte
}

// EncodeBundle writes a bundle.
func EncodeBundle(b Bundle) ([]byte, error) {
	man, err := json.Marshal(b.Manifest)
	if err != nil {
		return nil, err
	}
	var raw bytes.Buffer
	raw.WriteString(bundleMagic)
	raw.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(man))))
	raw.Write(man)
	raw.Write(b.Module)
	var out bytes.Buffer
	w := snappy.NewBufferedWriter(&out)
	if _, err := w.Write(raw.Bytes()); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// DecodeBundle reads a bundle from r, decompressing at most maxModule bytes of module: a stream that
// would decompress to more stops there with ErrTooLarge, having held no more than that in memory. The
// manifest is decoded strictly (unknown fields are an error) and validated; the module must at least
// start as wasm does. Every error wraps ErrInvalid or ErrTooLarge.
func DecodeBundle(r io.Reader, maxModule int64) (Bundle, error) {
	var b Bundle
	zr := snappy.NewReader(r)
	var head [len(bundleMagic) + 4]byte
	if _, err := io.ReadFull(zr, head[:]); err != nil {
		return b, fmt.Errorf("%w: bundle: %v (want a snappy-framed wasmoe bundle, as `wasmoe deploy` makes)", ErrInvalid, streamErr(err))
	}
	if string(head[:len(bundleMagic)]) != bundleMagic {
		return b, fmt.Errorf("%w: bundle: not a wasmoe bundle (bad magic)", ErrInvalid)
	}
	n := binary.LittleEndian.Uint32(head[len(bundleMagic):])
	if n > maxManifest {
		return b, fmt.Errorf("%w: bundle: manifest of %d bytes (at most %d)", ErrInvalid, n, maxManifest)
	}
	man := make([]byte, n)
	if _, err := io.ReadFull(zr, man); err != nil {
		return b, fmt.Errorf("%w: bundle: manifest: %v", ErrInvalid, streamErr(err))
	}
	dec := json.NewDecoder(bytes.NewReader(man))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b.Manifest); err != nil {
		return b, fmt.Errorf("%w: bundle: manifest: %v", ErrInvalid, err)
	}
	if dec.More() {
		return b, fmt.Errorf("%w: bundle: manifest: text after the JSON object", ErrInvalid)
	}
	if err := b.Manifest.Validate(); err != nil {
		return b, fmt.Errorf("bundle: manifest: %w", err)
	}
	mod, err := io.ReadAll(io.LimitReader(zr, maxModule+1))
	if err != nil {
		return b, fmt.Errorf("%w: bundle: module: %v", ErrInvalid, streamErr(err))
	}
	if int64(len(mod)) > maxModule {
		return b, fmt.Errorf("%w: bundle: the module decompresses to more than %d bytes", ErrTooLarge, maxModule)
	}
	if len(mod) < 8 || string(mod[:4]) != "\x00asm" {
		return b, fmt.Errorf("%w: bundle: the module is not WebAssembly (no \\0asm header)", ErrInvalid)
	}
	b.Module = mod
	return b, nil
}

// streamErr names a truncated stream plainly.
func streamErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the stream ends early")
	}
	return err
}
