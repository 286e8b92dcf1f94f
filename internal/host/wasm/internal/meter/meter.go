// Package meter rewrites a core WebAssembly module so that a runaway guest can be stopped cheaply.
//
// wazero stops a running guest only with RuntimeConfig.WithCloseOnContextDone, which slows loop-heavy
// guest code several times over (wazero issue #2466). Instrument instead makes the guest call a host
// function (ImportModule.ImportName, type () -> ()) every Interval units of fuel; that function checks the
// deadline, CPU budget or cancellation and panics to trap the guest.
//
// Fuel lives in a new mutable i64 global that is not exported (the guest's exports stay what it declared,
// and nothing outside can refill it); it starts at Interval. At every function entry and every loop
// header the module subtracts the static instruction count of the code that the entry or header governs:
// the instructions of the function or loop body, nested blocks included, nested loops excluded. When the
// fuel drops below zero it is reset to Interval and the tick is called. Between two such points a guest
// only runs forward through the code charged, so it never runs more instructions than it was charged, and
// at most about Interval instructions (or one pass through a body bigger than that) run between ticks.
// Calls into the host, memory.grow and the bulk memory and table instructions count as one instruction.
// Any code that does not end (a loop, recursion) passes through metered points, so it ticks.
//
// The new import comes after the module's imported functions, so every defined function's index grows
// by one: calls, ref.func, element segments, exports, start and the "name" section are renumbered. DWARF
// (.debug_*) and source-map sections describe code offsets that no longer hold, so they are dropped;
// other custom sections are kept.
package meter

import (
	"fmt"
	"strings"
)

// The host function an instrumented module imports, of type () -> ().
const (
	ImportModule = "wasmoe_meter" // the tick's import module
	ImportName   = "tick"         // the tick's import name
)

// Interval is the fuel between two ticks: 2^18 instructions are about 50 µs of the tightest loop on
// wazero's compiler (x86-64). Go guests tick more often, every few µs: the Go compiler turns all of a
// function's loops into one loop around a jump table, whose header is charged the whole function.
const Interval = 1 << 18

// Section ids of the binary format.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// order is each non-custom section's place: sections must come in this order, each at most once.
var order = map[byte]int{secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5, secGlobal: 6,
	secExport: 7, secStart: 8, secElement: 9, secDataCount: 10, secCode: 11, secData: 12}

type section struct {
	id   byte
	body []byte
}

// module is what the rewrite of later sections needs to know of earlier ones.
type module struct {
	voidType   uint32 // index of the () -> () type
	impFuncs   uint32 // imported functions: the tick's index; defined functions shift by one
	impGlobals uint32 // imported globals
	fuel       uint32 // index of the fuel global
}

// Instrument returns a copy of the core wasm module bin with metering (see the package documentation).
// It rejects modules it cannot decode, and instructions beyond WebAssembly 2.0 (threads, exceptions, GC,
// tail calls, relaxed SIMD …), with an error naming the opcode and the function.
func Instrument(bin []byte) ([]byte, error) {
	if len(bin) < 8 || string(bin[:8]) != "\x00asm\x01\x00\x00\x00" {
		return nil, fmt.Errorf("meter: not a core wasm module (version 1)")
	}
	secs, err := split(bin[8:])
	if err != nil {
		return nil, fmt.Errorf("meter: %w", err)
	}
	m := &module{}
	bodies := make([][]byte, len(secs))
	for i, s := range secs { // custom sections last: the name section needs the import count
		if s.id != secCustom {
			if bodies[i], err = m.section(s); err != nil {
				return nil, fmt.Errorf("meter: %s section: %w", sectionName(s.id), err)
			}
		}
	}
	out := append(make([]byte, 0, len(bin)+len(bin)/4), bin[:8]...)
	for i, s := range secs {
		if s.id == secCustom {
			if bodies[i], err = m.custom(s.body); err != nil {
				return nil, fmt.Errorf("meter: custom section: %w", err)
			}
			if bodies[i] == nil {
				continue // dropped
			}
		}
		out = append(out, s.id)
		out = appendU32(out, uint32(len(bodies[i])))
		out = append(out, bodies[i]...)
	}
	return out, nil
}

// split cuts the sections after the header, checks their order, and adds the empty type, import and
// global sections that Instrument needs to extend.
func split(b []byte) ([]section, error) {
	r := &reader{b: b}
	var secs []section
	last := 0
	for !r.done() {
		id := r.byte()
		body := r.bytes(uint64(r.u32()))
		if r.err != nil {
			return nil, r.err
		}
		if id != secCustom {
			at, ok := order[id]
			if !ok {
				return nil, fmt.Errorf("unsupported section id %d", id)
			}
			if at <= last {
				return nil, fmt.Errorf("%s section out of order or repeated", sectionName(id))
			}
			last = at
		}
		secs = append(secs, section{id, body})
	}
	if r.err != nil {
		return nil, r.err
	}
	for _, id := range []byte{secType, secImport, secGlobal} {
		secs = ensure(secs, id)
	}
	return secs, nil
}

// ensure adds an empty section id before the first section that must follow it, unless there is one.
func ensure(secs []section, id byte) []section {
	at := len(secs)
	for i, s := range secs {
		if s.id == id {
			return secs
		}
		if s.id != secCustom && order[s.id] > order[id] {
			at = i
			break
		}
	}
	empty := section{id, []byte{0}} // a vector of no entries
	return append(secs[:at], append([]section{empty}, secs[at:]...)...)
}

// section rewrites the body of a non-custom section.
func (m *module) section(s section) ([]byte, error) {
	switch s.id {
	case secType:
		return m.types(s.body)
	case secImport:
		return m.imports(s.body)
	case secGlobal:
		return m.globals(s.body)
	case secExport:
		return m.exports(s.body)
	case secStart:
		return m.start(s.body)
	case secElement:
		return m.elements(s.body)
	case secCode:
		return m.code(s.body)
	}
	return s.body, nil // function, table, memory, data count, data: nothing refers to a function
}

// custom rewrites a custom section, or returns nil to drop it.
func (m *module) custom(b []byte) ([]byte, error) {
	r := &reader{b: b}
	name := r.name()
	switch {
	case r.err != nil:
		return nil, r.err
	case name == "name":
		names := m.names(b[r.off:])
		if names == nil {
			return nil, nil // malformed: names are optional
		}
		return append(b[:r.off:r.off], names...), nil
	case strings.HasPrefix(name, ".debug_"), name == "sourceMappingURL", name == "external_debug_info":
		return nil, nil
	}
	return b, nil
}

func sectionName(id byte) string {
	names := [...]string{"custom", "type", "import", "function", "table", "memory", "global", "export",
		"start", "element", "code", "data", "data count"}
	if int(id) < len(names) {
		return names[id]
	}
	return fmt.Sprintf("#%d", id)
}
