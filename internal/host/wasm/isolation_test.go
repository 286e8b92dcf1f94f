package wasm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wasmoe/wasmoe/guest/abi"
	"github.com/wasmoe/wasmoe/internal/builtin"
)

// TestSandbox: a guest sees no files, no environment or arguments, and a fake clock.
func TestSandbox(t *testing.T) {
	ctx := context.Background()
	p := newProbe(t, newRuntime(t), 1)
	inst, err := p.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.put(inst)
	for _, c := range []struct {
		export string
		want   uint64
		what   string
	}{
		{"probe_fs", 0, "file accesses that worked (bits: read /etc/passwd, list /, list ., create)"},
		{"probe_env", 0, "environment variables and arguments"},
		{"probe_year", 2022, "year of the guest's clock (wazero's fake clock starts in 2022)"},
	} {
		got, err := inst.call(ctx, c.export)
		if err != nil {
			t.Fatal(err)
		}
		if uint32(got) != uint32(c.want) {
			t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}
}

// TestTrapDiscardsInstance: a guest that panics fails its request with the panic message, its instance is
// closed instead of reused, and the next request gets a fresh one.
func TestTrapDiscardsInstance(t *testing.T) {
	ctx := context.Background()
	p := newProbe(t, newRuntime(t), 1)
	inst, err := p.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = inst.call(ctx, "probe_panic")
	if err == nil || !inst.broken || !strings.Contains(err.Error(), "deliberate panic") {
		t.Fatalf("panicking guest: err %v, broken %v; want an error quoting the panic", err, inst.broken)
	}
	if _, err := inst.call(ctx, "probe_env"); err == nil {
		t.Error("a failed instance took another call")
	}
	p.put(inst)
	if n := p.live(); n != 0 {
		t.Fatalf("%d live instances after a trap, want 0", n)
	}
	fresh, err := p.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.put(fresh)
	if fresh == inst {
		t.Fatal("the trapped instance was handed out again")
	}
	if _, err := fresh.call(ctx, "probe_env"); err != nil {
		t.Fatalf("fresh instance: %v", err)
	}
}

// TestSamplerTrap: an out-of-bounds read inside the sampler guest fails the request; the next request
// works on a fresh instance.
func TestSamplerTrap(t *testing.T) {
	forEachEngine(t, samplerTrap)
}

func samplerTrap(t *testing.T, engine string) {
	ctx := context.Background()
	s, err := NewSampler(newRuntimeConfig(t, Config{Engine: engine}), builtin.Sampler, 1)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := s.Acquire(ctx, abi.SamplerParams{})
	if err != nil {
		t.Fatal(err)
	}
	// 2^30 token ids from the end of the guest's memory: a bounds trap inside the guest.
	if _, err = ss.inst.call(ctx, abi.ExportSmpAccept, 1<<31, 1<<30); err == nil || !ss.inst.broken {
		t.Fatalf("out-of-bounds accept: err %v, broken %v", err, ss.inst.broken)
	}
	if _, err := ss.Sample([]float32{0, 1}); err == nil {
		t.Error("Sample on a failed session succeeded")
	}
	ss.Release()
	if n := s.p.live(); n != 0 {
		t.Fatalf("broken instance kept: %d live", n)
	}
	ss, err = s.Acquire(ctx, abi.SamplerParams{})
	if err != nil {
		t.Fatalf("no fresh instance after a trap: %v", err)
	}
	defer ss.Release()
	if id, err := ss.Sample([]float32{0, 1}); err != nil || id != 1 {
		t.Fatalf("fresh instance: %d, %v", id, err)
	}
}

// TestStepTimeout: a guest stuck in a loop is stopped soon after Config.StepTimeout and discarded.
func TestStepTimeout(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		p := newProbe(t, newRuntimeConfig(t, Config{Engine: engine, StepTimeout: 50 * time.Millisecond}), 1)
		inst, err := p.get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = inst.call(context.Background(), "probe_spin", 1<<32-1)
		if err == nil || !inst.broken || !strings.Contains(err.Error(), "deadline") {
			t.Fatalf("spinning guest past its deadline: err %v, broken %v", err, inst.broken)
		}
		d := time.Since(start)
		if d > 2*time.Second {
			t.Errorf("the guest stopped %v after a 50ms deadline", d)
		}
		t.Logf("stopped %v after the deadline", d-50*time.Millisecond)
		p.put(inst)
		if p.live() != 0 {
			t.Error("interrupted instance kept")
		}
	})
}

// TestLogBounded: the guest's log keeps at most LogLimit bytes and counts the writes it cut or dropped.
func TestLogBounded(t *testing.T) {
	l := guestLog{limit: 10}
	l.printf("[%s] %s\n", "info", "hello")
	l.Write([]byte("a long line that does not fit"))
	l.printf("more")
	if string(l.buf) != "[info] hel" || l.dropped != 3 || !strings.Contains(l.tail(), "3 writes dropped") {
		t.Errorf("log %q, dropped %d, tail %q", l.buf, l.dropped, l.tail())
	}
	l.reset()
	if l.tail() != "" {
		t.Errorf("reset log has tail %q", l.tail())
	}
}

// TestCheck: modules outside the ABI are refused when compiled, with an error that says why.
func TestCheck(t *testing.T) {
	r := newRuntime(t)
	every := []fnDef{{abi.Marker, sig(0, 0)}, {abi.ExportAlloc, sig(1, 1)}, {abi.ExportFree, sig(1, 0)}}
	with := func(fs ...fnDef) []fnDef { return append(append([]fnDef{}, every...), fs...) }
	for _, c := range []struct {
		name    string
		bin     []byte
		k       kind
		wantErr string
	}{
		{"tokenizer as sampler", builtin.Tokenizer, samplerKind, "not a sampler guest"},
		{"sampler as tokenizer", builtin.Sampler, tokenizerKind, "not a tokenizer guest"},
		{"garbage", []byte("\x00asm\x01\x00\x00\x00garbage"), samplerKind, "compile"},
		{"no marker", module(nil, every[1:], true), probeKind, abi.MarkerV1},
		{"no memory", module(nil, every, false), kind{name: "bare"}, "memory"},
		{"bare guest", module(nil, every, true), kind{name: "bare"}, ""},
		{"wrong signature", module(nil, with(fnDef{abi.ExportSmpSample, sig(2, 1)}), true),
			kind{name: "x", exports: map[string]signature{abi.ExportSmpSample: sig(1, 1)}}, "smp_sample(i32, i32) -> i32, want (i32) -> i32"},
		{"foreign import", module([]fnDef{{"env.abort", sig(0, 0)}}, every, true), kind{name: "bare"}, "import only"},
		{"unknown host function", module([]fnDef{{abi.HostModule + ".clock", sig(0, 1)}}, every, true), kind{name: "bare"}, "does not have"},
		{"host function, wrong signature", module([]fnDef{{abi.HostModule + ".log", sig(2, 0)}}, every, true), kind{name: "bare"}, "log(i32, i32)"},
		{"host log", module([]fnDef{{abi.HostModule + ".log", sig(3, 0)}}, every, true), kind{name: "bare"}, ""},
	} {
		_, err := r.compile(context.Background(), c.bin, c.k)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.wantErr)
		}
	}
}

// TestPoolBounded: many concurrent requests never hold more instances than the pool's size, and a
// cancelled wait returns the context's error.
func TestPoolBounded(t *testing.T) {
	ctx := context.Background()
	p := newProbe(t, newRuntime(t), 2)
	a, err := p.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := p.get(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third get from a pool of 2: %v, want a deadline error", err)
	}
	p.put(a)
	p.put(b)
	use := func() error {
		inst, err := p.get(ctx)
		if err != nil {
			return err
		}
		defer p.put(inst)
		if n := p.live(); n > 2 {
			return fmt.Errorf("%d live instances, pool size 2", n)
		}
		_, err = inst.call(ctx, "probe_env")
		return err
	}
	done := make(chan error)
	for range 8 {
		go func() {
			for range 20 {
				if err := use(); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := p.live(); n != 2 {
		t.Errorf("%d live instances after the load, want 2", n)
	}
}
