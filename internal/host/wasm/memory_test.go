package wasm

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newBalloon starts the hostile policy testdata/hostile/balloon (built by guest/c/build.sh) on a runtime
// of cfg, with a pool of one instance.
func newBalloon(t *testing.T, cfg Config) *Policy { return newBalloonPool(t, cfg, 1) }

// newBalloonPool is newBalloon with a pool of size instances.
func newBalloonPool(t *testing.T, cfg Config, size int) *Policy {
	t.Helper()
	bin, err := os.ReadFile(filepath.Join("testdata", "hostile", "balloon.wasm"))
	if err != nil {
		t.Fatalf("%v (make guests-c builds it)", err)
	}
	m := &PolicyModel{NLogits: 4, NCtx: 64, Pieces: [][]byte{{'a'}, {'b'}, {'c'}, {'d'}}, BOS: -1, EOS: -1, EOT: -1,
		ThinkOpen: -1, ThinkClose: -1}
	p, err := NewPolicy(newRuntimeConfig(t, cfg), bin, m, size)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// balloonStep runs one request of one step with the balloon's config and returns the step's error, how long
// the step took, and the instance's memory in MiB at its end. The session stays held until release.
func balloonStep(t *testing.T, p *Policy, config ...byte) (s *PolicySession, d time.Duration, mib int, err error) {
	t.Helper()
	s, err = p.Acquire(context.Background(), config, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(0, -1); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Step(0, []int32{1})
	return s, time.Since(start), len(s.inst.mod.memory()) >> 20, err
}

// residentMiB is the process's resident memory (Linux's /proc/self/statm); the test is skipped elsewhere.
func residentMiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("/proc/self/statm %q: %v", b, err)
	}
	return pages * os.Getpagesize() >> 20
}

// TestBigInstanceClosed: in a pool of one, whose budget is KeepMemoryPages, an instance whose memory grew
// past it in a call that succeeded is closed when its request gives it back, and its memory leaves the
// process at once; one that stayed below is kept.
func TestBigInstanceClosed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, c := range []struct {
			keep uint32 // KeepMemoryPages
			kept bool
		}{{64, false}, {1024, true}} {
			p := newBalloon(t, Config{Engine: engine, StepTimeout: 10 * time.Second, KeepMemoryPages: c.keep})
			s, _, mib, err := balloonStep(t, p, 2) // grows 32 MiB
			if err != nil || mib < 32 {
				t.Fatalf("a 32 MiB step: %v, memory %d MiB", err, mib)
			}
			before := residentMiB(t)
			s.Release()
			after := residentMiB(t)
			if kept := p.p.live() == 1; kept != c.kept {
				t.Errorf("keep %d pages: instance of %d MiB kept %v, want %v", c.keep, mib, kept, c.kept)
			}
			if !c.kept && before-after < 24 {
				t.Errorf("closing an instance of %d MiB: resident %d MiB → %d MiB, want it %d MiB lower", mib, before, after, 32)
			}
			t.Logf("keep %d pages: instance of %d MiB kept %v, resident %d MiB → %d MiB", c.keep, mib, p.p.live() == 1, before, after)
		}
	})
}

// TestPoolMemoryBudget: a pool of 3 with 64 MiB kept per slot keeps instances that grew 80 MiB while the
// idle ones hold at most 192 MiB together: of three given back, two are kept and hold their memory for the
// next request, and the third is closed.
func TestPoolMemoryBudget(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		p := newBalloonPool(t, Config{Engine: engine, StepTimeout: 10 * time.Second, KeepMemoryPages: 1024}, 3)
		var held []*PolicySession
		for range 3 {
			s, _, mib, err := balloonStep(t, p, 5) // grows 80 MiB
			if err != nil || mib < 80 {
				t.Fatalf("an 80 MiB step: %v, memory %d MiB", err, mib)
			}
			held = append(held, s)
		}
		for i, s := range held {
			s.Release()
			if want := min(i+1, 2); len(p.p.idle) != want {
				t.Fatalf("after %d of 3 instances of 80 MiB came back: %d kept, want %d", i+1, len(p.p.idle), want)
			}
		}
		if got := p.p.idlePages.Load(); got < 2*80*16 || got > 3*1024 {
			t.Errorf("the 2 idle instances hold %d pages, want at least 2 × 80 MiB and at most the budget of 3 × 1024", got)
		}
		s, err := p.Acquire(context.Background(), []byte{0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Release()
		if mib := len(s.inst.mod.memory()) >> 20; mib < 80 {
			t.Errorf("the next request got an instance of %d MiB, want one kept with its 80 MiB", mib)
		}
	})
}

// TestGrowStopsAtDeadline: a step that grows its memory by 448 MiB in one memory.grow, touches every page
// and then spins, fails on its deadline within twice that deadline; its instance is closed and its
// memory leaves the process.
func TestGrowStopsAtDeadline(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		const deadline = 200 * time.Millisecond
		p := newBalloon(t, Config{Engine: engine, StepTimeout: deadline, MemoryLimitPages: 8192})
		start := residentMiB(t)
		s, d, mib, err := balloonStep(t, p, 28, 1)
		if err == nil || !strings.Contains(err.Error(), "deadline") {
			t.Fatalf("a step past its deadline: %v", err)
		}
		s.Release()
		end := residentMiB(t)
		t.Logf("stopped after %v, memory %d MiB; resident %d MiB → %d MiB", d, mib, start, end)
		if d > 2*deadline {
			t.Errorf("the step stopped %v after it started: its deadline is %v", d, deadline)
		}
		if n := p.p.live(); n != 0 {
			t.Errorf("%d instances kept", n)
		}
		if end-start > 32 {
			t.Errorf("resident memory %d MiB → %d MiB after the instance closed", start, end)
		}
	})
}
