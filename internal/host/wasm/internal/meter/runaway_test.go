package meter

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// TestRunaway runs guests that never return and wants each call to end with the tick's error soon after
// its deadline: a loop, plain and mutual recursion, and an exponential call tree without loops (which
// wazero's WithCloseOnContextDone does not stop at all: it checks only at loop headers).
//
// Unbounded recursion is late by more: wazero grows a guest's stack by copying it into one twice the size,
// which no tick interrupts, so the lateness grows with the depth reached (ms to tens of ms here; up to a few
// hundred ms near wazero's ~100 MB stack ceiling, where it fails with a stack overflow anyway).
func TestRunaway(t *testing.T) {
	const budget = 20 * time.Millisecond
	tk := &ticker{}
	m := instantiate(t, newRuntime(t, wazero.NewRuntimeConfig(), tk), mustInstrument(t, runawayModule()))
	for _, c := range []struct {
		name  string
		args  []uint64
		slack time.Duration // allowed lateness
	}{
		{"spin", nil, 10 * time.Millisecond},
		{"tree", []uint64{60}, 10 * time.Millisecond},
		{"rec", nil, 200 * time.Millisecond},
		{"ping", nil, 200 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			deadline := time.Now().Add(budget)
			tk.deadline.Store(deadline.UnixNano())
			err := callWithin(t, m, c.name, c.args...)
			late := time.Since(deadline)
			t.Logf("returned %v after the deadline", late)
			if !errors.Is(err, errDeadline) {
				t.Errorf("error %v, want the deadline's", err)
			} else if late > c.slack {
				t.Errorf("returned %v after the deadline, want at most %v", late, c.slack)
			}
		})
	}
	// With the deadline already past, the first tick stops the recursions long before the stack runs out.
	for _, name := range []string{"rec", "ping"} {
		tk.deadline.Store(1)
		if err := callWithin(t, m, name); !errors.Is(err, errDeadline) {
			t.Errorf("%s with an expired deadline: %v, want the deadline's error", name, err)
		}
	}
}

// callWithin calls an export and returns its error. If it is still running after 10 s, it panics: the
// guest cannot be stopped, and as it never yields to the Go scheduler, the next garbage collection would
// wait for it forever. A broken meter fails the test binary instead of hanging it.
func callWithin(t *testing.T, m api.Module, name string, args ...uint64) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := m.ExportedFunction(name).Call(context.Background(), args...)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		panic(name + " still running after 10 s: no tick stopped it")
	}
}
