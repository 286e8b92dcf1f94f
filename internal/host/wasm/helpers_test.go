package wasm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/host/gguf"
	"github.com/wasmoe/wasmoe/internal/host/vocab"
	"github.com/wasmoe/wasmoe/internal/testutil"
)

func newRuntimeConfig(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	r, err := NewRuntime(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

func newRuntime(t testing.TB) *Runtime { return newRuntimeConfig(t, Config{}) }

// forEachEngine runs a test on each engine.
func forEachEngine(t *testing.T, f func(t *testing.T, engine string)) {
	for _, e := range Engines() {
		t.Run(e, func(t *testing.T) { f(t, e) })
	}
}

func loadVocab(t testing.TB, name string) *abi.Vocab {
	t.Helper()
	f, err := gguf.Open(testutil.Vocab(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := vocab.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// probeKind is the test guest of testdata/probe.
var probeKind = kind{name: "probe", exports: map[string]signature{
	"probe_fs": sig(0, 1), "probe_env": sig(0, 1), "probe_year": sig(0, 1), "probe_panic": sig(0, 0),
	"probe_spin": sig(1, 1)}}

var probeWasm = sync.OnceValues(func() ([]byte, error) { return buildTestGuest("probe") })

// buildTestGuest builds the Go guest testdata/name for wasip1 and returns its bytes.
func buildTestGuest(name string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "wasmoe-"+name)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-buildvcs=false", "-o", out, "./testdata/"+name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, &exec.Error{Name: "go build ./testdata/" + name + ": " + string(msg), Err: err}
	}
	return os.ReadFile(out)
}

// needGo skips a test that builds a guest when the go command is missing.
func needGo(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build a test guest")
	}
}

// newProbe builds testdata/probe (once per test binary) and returns a pool of its instances.
func newProbe(t testing.TB, r *Runtime, size int) *pool {
	t.Helper()
	needGo(t)
	bin, err := probeWasm()
	if err != nil {
		t.Fatal(err)
	}
	cm, err := r.compile(context.Background(), bin, probeKind)
	if err != nil {
		t.Fatal(err)
	}
	return newPool(r, cm, size, func(context.Context, *instance) error { return nil })
}

// module assembles a wasm module whose functions all trap: imports ("module.name", all i32), then the
// defined functions, all exported, and an exported memory when withMemory.
func module(imports, exports []fnDef, withMemory bool) []byte {
	var types, imps, funcs, exps, code []byte
	all := append(append([]fnDef{}, imports...), exports...)
	for _, f := range all {
		types = append(types, 0x60)
		types = appendTypes(types, f.sig.params)
		types = appendTypes(types, f.sig.results)
	}
	for i, f := range imports {
		mod, name, _ := strings.Cut(f.name, ".")
		imps = appendName(appendName(imps, mod), name)
		imps = append(imps, 0x00, byte(i))
	}
	for i, f := range exports {
		idx := byte(len(imports) + i)
		funcs = append(funcs, idx)
		exps = append(appendName(exps, f.name), 0x00, idx)
		code = append(code, 3, 0, 0x00, 0x0b) // body size, no locals, unreachable, end
	}
	nexp := len(exports)
	if withMemory {
		exps = append(appendName(exps, "memory"), 0x02, 0)
		nexp++
	}
	b := []byte("\x00asm\x01\x00\x00\x00")
	b = section(b, 1, len(all), types)
	b = section(b, 2, len(imports), imps)
	b = section(b, 3, len(exports), funcs)
	if withMemory {
		b = section(b, 5, 1, []byte{0x00, 1})
	}
	b = section(b, 7, nexp, exps)
	return section(b, 10, len(exports), code)
}

// fnDef is a function of a module built by module.
type fnDef struct {
	name string // "module.name" for an import
	sig  signature
}

func appendTypes(b []byte, ts []valType) []byte {
	b = append(b, byte(len(ts)))
	for _, t := range ts {
		b = append(b, byte(t))
	}
	return b
}

func appendName(b []byte, s string) []byte { return append(append(b, byte(len(s))), s...) }

// section appends a section with a vector of n entries (all sizes here fit in one LEB128 byte or two).
func section(b []byte, id byte, n int, entries []byte) []byte {
	body := append([]byte{byte(n)}, entries...)
	b = append(b, id)
	if len(body) < 0x80 {
		b = append(b, byte(len(body)))
	} else {
		b = append(b, byte(len(body))|0x80, byte(len(body)>>7))
	}
	return append(b, body...)
}
