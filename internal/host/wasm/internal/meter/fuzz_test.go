package meter

import (
	"context"
	"fmt"
	"testing"

	"github.com/tetratelabs/wazero"
)

// FuzzInstrument: Instrument never panics, and whenever it succeeds on an input wazero compiles, wazero
// compiles its output too.
func FuzzInstrument(f *testing.F) {
	for _, b := range [][]byte{mod(), arithModule(), elemModule(), simdModule(), runawayModule()} {
		f.Add(b)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, bin []byte) {
		out, err := Instrument(bin)
		if err != nil || !plausible(bin) {
			// Instrument read the module as far as it could and found it malformed or beyond WebAssembly
			// 2.0. wazero is not asked: on malformed input it may allocate gigabytes before it notices.
			return
		}
		rt := wazero.NewRuntime(ctx) // fresh each time: one that wazero panicked in may be broken
		defer rt.Close(ctx)
		if compile(ctx, rt, bin) != nil {
			return
		}
		if err := compile(ctx, rt, out); err != nil {
			t.Fatalf("wazero compiles the input but not its instrumented copy: %v", err)
		}
	})
}

// compile compiles bin and closes the result. wazero v1.12 panics on some malformed modules (a call to a
// function whose type index is out of range): that is an error here too.
func compile(ctx context.Context, rt wazero.Runtime, bin []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("wazero panicked: %v", p)
		}
	}()
	cm, err := rt.CompileModule(ctx, bin)
	if err == nil {
		cm.Close(ctx)
	}
	return err
}

// plausible reports whether the sections of bin are whole and the lengths of vectors that Instrument does
// not read (the function, table, memory and data sections, and data segments) fit in their bytes, and that
// the name section is plausible too. wazero
// allocates a vector before reading it: a bogus length in a 20-byte module costs it seconds and gigabytes.
func plausible(bin []byte) bool {
	r := &reader{b: bin, off: min(8, len(bin))}
	for !r.done() {
		id := r.byte()
		s := (&module{}).writer(r.bytes(uint64(r.u32())))
		if id != secCustom && id != secStart && id != secDataCount {
			n := s.count()
			for ; id == secData && n > 0 && s.err == nil; n-- {
				flags := s.u32()
				if flags == 2 {
					s.u32() // memory
				}
				if flags != 1 {
					s.expr() // offset
				}
				s.bytes(uint64(s.count()))
			}
		}
		if id == secCustom && s.name() == "name" && s.err == nil && !plausibleNames(s.b[s.off:]) {
			return false
		}
		if r.err != nil || s.err != nil {
			return false
		}
	}
	return r.err == nil
}

// plausibleNames reports whether a name section is well-formed (Instrument drops it if not) and its module
// name fills its subsection (wazero reads on past a shorter one).
func plausibleNames(b []byte) bool {
	if (&module{}).names(b) == nil {
		return false
	}
	r := &reader{b: b}
	for !r.done() {
		id := r.byte()
		sub := &reader{b: r.bytes(uint64(r.u32()))}
		if id == 0 {
			sub.name()
			if sub.err != nil || !sub.done() {
				return false
			}
		}
	}
	return r.err == nil
}
