package wasm

import (
	"context"
	"testing"
)

// Warm starts instances up to the asked number and the pool's size, and leaves them idle for requests.
func TestWarm(t *testing.T) {
	r := newRuntime(t)
	s := newSampler(t, r, 3)
	if n := s.p.live(); n != 1 {
		t.Fatalf("a new sampler has %d instances, want the 1 it checks itself with", n)
	}
	if err := s.Warm(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if n := s.p.live(); n != 2 {
		t.Fatalf("after Warm(2): %d instances", n)
	}
	if err := s.Warm(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	if n, idle := s.p.live(), len(s.p.idle); n != 3 || idle != 3 {
		t.Fatalf("after Warm(10) on a pool of 3: %d instances, %d idle", n, idle)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := newSampler(t, r, 4).Warm(ctx, 4); err == nil {
		t.Fatal("Warm with a cancelled context succeeded")
	}
}
