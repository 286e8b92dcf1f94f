package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"

	"github.com/wasmoe/wasmoe/internal/tenant"
)

// A bundle decodes to what was encoded, and its bytes are a snappy framed stream (the stream identifier
// chunk first, as the framing format specifies).
func TestBundleRoundTrip(t *testing.T) {
	want := Bundle{Manifest: Manifest{Name: "ban", CompatibilityDate: "2026-11-28",
		Limits: PluginLimits{MemoryMB: 64, StepTimeout: tenant.Duration(50 * time.Millisecond)}},
		Module: append(module(7), bytes.Repeat([]byte("wasm"), 50000)...)}
	raw, err := EncodeBundle(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("\xff\x06\x00\x00sNaPpY")) || len(raw) > len(want.Module)/4 {
		t.Errorf("not a compressed snappy framed stream: %d bytes for %d, starts %q", len(raw), len(want.Module), raw[:10])
	}
	got, err := DecodeBundle(bytes.NewReader(raw), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got.Manifest != want.Manifest || !bytes.Equal(got.Module, want.Module) {
		t.Errorf("decoded %+v, %d module bytes", got.Manifest, len(got.Module))
	}
}

// framed compresses parts into one snappy framed stream, each part its own chunks.
func framed(parts ...[]byte) []byte {
	var out bytes.Buffer
	w := snappy.NewBufferedWriter(&out)
	for _, p := range parts {
		w.Write(p)
		w.Flush()
	}
	w.Close()
	return out.Bytes()
}

// header is a bundle's uncompressed start with the manifest JSON man.
func header(man string) []byte {
	b := append([]byte(bundleMagic), binary.LittleEndian.AppendUint32(nil, uint32(len(man)))...)
	return append(b, man...)
}

// bomb is an endless snappy stream: a bundle's header, then the same 64 KiB chunk of zeros (about 3 KiB
// compressed) for ever.
type bomb struct {
	head, chunk []byte
	off         int
	served      int64
}

// Read serves the header, then the chunk again and again.
func (b *bomb) Read(p []byte) (int, error) {
	src := b.chunk
	if b.head != nil {
		src = b.head
	}
	n := copy(p, src[b.off:])
	b.off += n
	b.served += int64(n)
	if b.off == len(src) {
		b.off, b.head = 0, nil
	}
	return n, nil
}

// A snappy bomb stops at the module limit without holding more than the limit: an endless stream is
// read up to the limit and refused with ErrTooLarge, and the decoder allocates about the limit, not more.
func TestBundleBomb(t *testing.T) {
	// framed(a, b) is the identifier, a's chunk and b's chunk; framed(a) is the same without b's.
	first := framed(append(header(`{"name":"x"}`), "\x00asm\x01\x00\x00\x00"...))
	chunk := framed(append(header(`{"name":"x"}`), "\x00asm\x01\x00\x00\x00"...), make([]byte, 64<<10))[len(first):]
	if len(chunk) > 4<<10 {
		t.Fatalf("the zeros chunk is %d bytes compressed", len(chunk))
	}
	const limit = 8 << 20
	b := &bomb{head: first, chunk: chunk}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := DecodeBundle(b, limit)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("an endless stream: %v, want ErrTooLarge", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*limit {
		t.Errorf("decoding allocated %d MiB for a limit of %d MiB", alloc>>20, limit>>20)
	}
	if b.served > 2*limit/20 {
		t.Errorf("read %d compressed bytes for a %d-byte limit", b.served, limit)
	}
}

// Malformed bundles are ErrInvalid with a message saying what is wrong.
func TestBundleErrors(t *testing.T) {
	valid := framed(append(header(`{"name":"x"}`), module(1)...))
	claim := framed(header(`{"name":"x"}`))
	// A compressed chunk whose block claims 1 GiB: the framed reader refuses it before allocating.
	block := binary.AppendUvarint(nil, 1<<30)
	block = append(block, 0x00)
	huge := append(claim, 0x00, byte(len(block)+4), 0, 0, 0, 0, 0, 0)
	huge = append(huge, block...)
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "stream ends early"},
		{"not snappy", []byte("\x00asm\x01\x00\x00\x00"), "snappy"},
		{"bad magic", framed([]byte("WASMOEB2\x02\x00\x00\x00{}")), "bad magic"},
		{"huge manifest", framed([]byte("WASMOEB1\xff\xff\xff\x00")), "manifest of"},
		{"short manifest", framed(header(`{"name":"x"}`)[:15]), "ends early"},
		{"unknown field", framed(append(header(`{"name":"x","main":"y"}`), module(1)...)), "unknown field"},
		{"two objects", framed(append(header(`{"name":"x"}{}`), module(1)...)), "after the JSON"},
		{"bad name", framed(append(header(`{"name":"a/b"}`), module(1)...)), "plugin name"},
		{"bad limits", framed(append(header(`{"name":"x","limits":{"step_timeout":"soon"}}`), module(1)...)), "is not a duration"},
		{"not wasm", framed(append(header(`{"name":"x"}`), "#!/bin/sh\nrm -rf /"...)), "not WebAssembly"},
		{"truncated", valid[:len(valid)-3], "corrupt"},
		{"claims 1 GiB", huge, "corrupt"},
	} {
		_, err := DecodeBundle(bytes.NewReader(c.in), 1<<20)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", c.name, err, c.want)
		}
	}
	if _, err := DecodeBundle(bytes.NewReader(valid), 1<<20); err != nil {
		t.Errorf("the valid bundle: %v", err)
	}
}

// FuzzDecodeBundle: any input decodes without a panic, within the limit, to a bundle that encodes and
// decodes to itself.
func FuzzDecodeBundle(f *testing.F) {
	valid, _ := EncodeBundle(Bundle{Manifest: Manifest{Name: "p", CompatibilityDate: "2026-01-02", Limits: PluginLimits{MemoryMB: 8}}, Module: module(3)})
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(framed(append(header(`{"name":"x","limits":{"cpu_budget":"1s"}}`), module(1)...)))
	f.Add([]byte("\xff\x06\x00\x00sNaPpY\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 1 << 16
		b, err := DecodeBundle(bytes.NewReader(in), limit)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		if len(b.Module) > limit {
			t.Fatalf("module of %d bytes past the limit", len(b.Module))
		}
		raw, err := EncodeBundle(b)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeBundle(bytes.NewReader(raw), limit)
		if err != nil || again.Manifest != b.Manifest || !bytes.Equal(again.Module, b.Module) {
			t.Fatalf("re-encoded bundle decodes to %+v, %v", again.Manifest, err)
		}
	})
}
