//go:build wasip1

// Command probe is a test guest for internal/host/wasm: it tries what a sandboxed guest must not be able to do
// (files, environment, the real clock) and misbehaves on request (panic, endless loop).
package main

import (
	"os"
	"time"

	_ "github.com/wasmoe/wasmoe/guest/sdk" // marker, wasmoe_alloc, wasmoe_free
)

// probeFS returns a bit for each file access that worked: read /etc/passwd, list /, list ., create a file.
//
//go:wasmexport probe_fs
func probeFS() int32 {
	var got int32
	if _, err := os.ReadFile("/etc/passwd"); err == nil {
		got |= 1
	}
	if _, err := os.ReadDir("/"); err == nil {
		got |= 2
	}
	if _, err := os.ReadDir("."); err == nil {
		got |= 4
	}
	if f, err := os.Create("/tmp/wasmoe-probe"); err == nil {
		f.Close()
		got |= 8
	}
	return got
}

// probeEnv returns how many environment variables and arguments the guest sees.
//
//go:wasmexport probe_env
func probeEnv() int32 { return int32(len(os.Environ()) + len(os.Args)) }

// probeYear returns the year of the guest's clock.
//
//go:wasmexport probe_year
func probeYear() int32 { return int32(time.Now().Year()) }

//go:wasmexport probe_panic
func probePanic() { panic("probe: deliberate panic") }

// probeSpin runs n steps of an LCG (n = 2^32-1 takes seconds).
//
//go:wasmexport probe_spin
func probeSpin(n uint32) uint32 {
	x := uint32(1)
	for i := uint32(0); i < n; i++ {
		x = x*1664525 + 1013904223
	}
	return x
}

func main() {}
