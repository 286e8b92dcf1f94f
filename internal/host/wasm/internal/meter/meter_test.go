package meter

import (
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// TestLEB checks the encoders against the specification's examples and the decoder's limits.
func TestLEB(t *testing.T) {
	for _, c := range []struct {
		v    int64
		want []byte
	}{{0, op(0)}, {63, op(0x3f)}, {64, op(0xc0, 0)}, {-1, op(0x7f)}, {-64, op(0x40)}, {-65, op(0xbf, 0x7f)},
		{Interval, sleb(Interval)}, {-1 << 63, op(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f)}} {
		if got := appendS64(nil, c.v); string(got) != string(c.want) {
			t.Errorf("appendS64(%d) = %x, want %x", c.v, got, c.want)
		}
		r := &reader{b: c.want}
		if got := int64(r.leb(64, true)); got != c.v || r.err != nil {
			t.Errorf("leb(%x) = %d, %v; want %d", c.want, got, r.err, c.v)
		}
	}
	for _, v := range []uint32{0, 127, 128, 624485, 1<<32 - 1} {
		if got := appendU32(nil, v); string(got) != string(uleb(uint64(v))) {
			t.Errorf("appendU32(%d) = %x, want %x", v, got, uleb(uint64(v)))
		}
	}
	for _, bad := range [][]byte{op(0x80, 0x80, 0x80, 0x80, 0x10), op(0x80, 0x80, 0x80, 0x80, 0x80, 0), op(0x80)} {
		r := &reader{b: bad}
		if r.u32(); r.err == nil {
			t.Errorf("u32(%x) accepted", bad)
		}
	}
	for v := int64(0); v < 1<<34; v = v*3 + 1 { // the padded cost
		b := make([]byte, costWidth)
		putCost(b, v)
		r := &reader{b: b}
		if got := int64(r.leb(64, true)); got != v || r.err != nil {
			t.Errorf("putCost(%d) = %x reads back as %d, %v", v, b, got, r.err)
		}
	}
}

// pair is a module and its instrumented copy, instantiated on one runtime.
type pair struct {
	tk         *ticker
	orig, inst api.Module
}

func newPair(t *testing.T, bin []byte) pair {
	t.Helper()
	tk := &ticker{}
	rt := newRuntime(t, wazero.NewRuntimeConfig(), tk)
	return pair{tk, instantiate(t, rt, bin), instantiate(t, rt, mustInstrument(t, bin))}
}

// check calls name on both modules and wants the result want.
func (p pair) check(t *testing.T, want uint64, name string, args ...uint64) {
	t.Helper()
	if got := call1(t, p.orig, name, args...); got != want {
		t.Errorf("original %s%v = %d, want %d", name, args, int32(got), int32(want))
	}
	if got := call1(t, p.inst, name, args...); got != want {
		t.Errorf("instrumented %s%v = %d, want %d", name, args, int32(got), int32(want))
	}
}

func TestArith(t *testing.T) {
	p := newPair(t, arithModule())
	for _, n := range []uint32{0, 1, 2, 10, 1000} {
		p.check(t, uint64(n*(n-1)/2), "sum", uint64(n))
		var acc int32
		for i := int32(0); i < int32(n); i++ {
			for j := int32(0); j < i; j++ {
				switch j % 3 {
				case 0:
					acc += i * j
				case 1:
					acc++
				default:
					acc -= 2
				}
			}
		}
		p.check(t, uint64(uint32(acc)), "nested", uint64(n))
	}
	fib := []uint64{0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55}
	for n, want := range fib {
		p.check(t, want, "fib", uint64(n))
	}
	p.check(t, 832040, "fib", 30)
	p.check(t, 7, "callind", 0)
	p.check(t, 9, "callind", 1)
	for _, x := range []int32{-10, 0, 96, 97, 200} {
		v := x + 3
		for v++; uint32(v) < 100; v++ {
		}
		p.check(t, uint64(uint32(v)), "mv", uint64(uint32(x)))
	}
	for _, x := range []int32{0, 1, 0x7f, 0x80, 0x1ff, -1} {
		want := int32(5)
		if x != 0 {
			want = int32(int8(x)) + 2147483647
		}
		p.check(t, uint64(uint32(want)), "misc", uint64(uint32(x)))
	}
	var want uint64
	for _, c := range []byte("hello" + "WORLD" + "hello" + "xxx") {
		want += uint64(c)
	}
	p.check(t, want, "bulk")
	if p.tk.ticks.Load() == 0 {
		t.Error("no tick in fib(30)") // 2.7M calls
	}
}

// TestElements covers element segments of all forms, ref.func in globals and code, the start function,
// and an imported function that keeps its index.
func TestElements(t *testing.T) {
	p := newPair(t, elemModule())
	for _, m := range []api.Module{p.orig, p.inst} {
		if g := m.ExportedGlobal("g").Get(); g != 104 {
			t.Errorf("start function set g = %d, want 104", g)
		}
	}
	p.check(t, 5, "nulls")
	for i := range uint64(4) {
		p.check(t, 100+i, "get", i)
	}
	p.check(t, 0, "init")
	p.check(t, 0, "nulls")
	for i := range uint64(8) {
		p.check(t, 100+i, "get", i)
	}
	p.check(t, 102, "get", 8)
}

// TestNames checks the renumbered name section: names of functions, the tick's, and traps' stack traces.
func TestNames(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, wazero.NewRuntimeConfig(), &ticker{})
	cm, err := rt.CompileModule(ctx, mustInstrument(t, elemModule()))
	if err != nil {
		t.Fatal(err)
	}
	if cm.Name() != "elems" {
		t.Errorf("module name %q, want elems", cm.Name())
	}
	for name, def := range cm.ExportedFunctions() {
		if def.Name() != name {
			t.Errorf("export %s is named %q", name, def.Name())
		}
	}
	imports := cm.ImportedFunctions()
	if len(imports) != 2 || imports[0].Name() != "add" || imports[1].Name() != ImportModule+"."+ImportName {
		t.Errorf("imports named %q, %q", imports[0].Name(), imports[len(imports)-1].Name())
	}
	p := newPair(t, elemModule())
	_, errOrig := p.orig.ExportedFunction("get").Call(ctx, 99)
	_, errInst := p.inst.ExportedFunction("get").Call(ctx, 99)
	if errOrig == nil || errInst == nil || errOrig.Error() != errInst.Error() || !strings.Contains(errInst.Error(), ".get(") {
		t.Errorf("traps differ:\n%v\n%v", errOrig, errInst)
	}
}

func TestSIMD(t *testing.T) {
	p := newPair(t, simdModule())
	for _, x := range []int32{0, 1, -3, 1 << 30, -1} {
		want := 6 + 2*x
		if x != -3 {
			want++
		}
		p.check(t, uint64(uint32(want)), "simd", uint64(uint32(x)))
	}
}

// TestTickRate checks that ticks come once per Interval of executed instructions: count(n) runs 3
// instructions at its entry and 8 per iteration.
func TestTickRate(t *testing.T) {
	p := newPair(t, arithModule())
	const n = 50_000_000
	p.check(t, n, "count", n)
	total := int64(3 + 8*n)
	ticks := p.tk.ticks.Load()
	if lo, hi := total/(Interval+8), total/Interval; ticks < lo || ticks > hi {
		t.Errorf("%d ticks for %d instructions, want %d…%d", ticks, total, lo, hi)
	}
}

// TestReject wants an error naming the opcode and the function for instructions beyond WebAssembly 2.0,
// and for sections it does not know.
func TestReject(t *testing.T) {
	body := func(code ...[]byte) []byte {
		return mod(sec(1, vec(functype(nil, nil))), sec(3, vec(uleb(0), uleb(0))), sec(5, vec(op(0, 1))),
			sec(10, vec(fn(nil, op(end)), fn(nil, cat(code...), op(end)))))
	}
	for _, c := range []struct {
		name string
		bin  []byte
		want string
	}{
		{"atomic", body(i32c(0), op(0xfe, 0x10), memarg(2, 0), op(drop)), "opcode 0xfe 0x10"},
		{"try", body(op(0x06, void, end)), "opcode 0x06"},
		{"throw", body(op(0x08, 0)), "opcode 0x08"},
		{"return_call", body(op(0x12, 0)), "opcode 0x12"},
		{"gc", body(op(0xfb, 0x00, 0)), "opcode 0xfb 0x00"},
		{"relaxed simd", body(i32c(0), simd(0x100), op(drop)), "opcode 0xfd 0x100"},
		{"unassigned simd", body(simd(0x9a)), "opcode 0xfd 0x9a"},
		{"misc 18", body(misc(18)), "opcode 0xfc 0x12"},
		{"tag section", mod(sec(13, vec(op(0, 0)))), "section id 13"},
		{"version 2", []byte("\x00asm\x02\x00\x00\x00"), "not a core wasm module"},
		{"trailing", body(op(end, 0x01)), "after the end"},
	} {
		_, err := Instrument(c.bin)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		} else if strings.Contains(c.want, "opcode") && !strings.Contains(err.Error(), "function 1") {
			t.Errorf("%s: error %v does not name function 1", c.name, err)
		}
	}
}

// TestMinimal instruments modules that lack the sections Instrument extends.
func TestMinimal(t *testing.T) {
	rt := newRuntime(t, wazero.NewRuntimeConfig(), &ticker{})
	for _, bin := range [][]byte{
		mod(),
		mod(sec(0, str("note"), []byte("x"))),
		mod(sec(1, vec(functype(nil, []byte{tI32}))), sec(3, vec(uleb(0))), sec(7, vec(export("f", 0, 0))),
			sec(10, vec(fn(nil, i32c(42), op(end))))),
	} {
		m := instantiate(t, rt, mustInstrument(t, bin))
		if f := m.ExportedFunction("f"); f != nil {
			if got := call1(t, m, "f"); got != 42 {
				t.Errorf("f() = %d", got)
			}
		}
	}
}
