package engine

import (
	"slices"
	"testing"
)

// seqOf is a sequence of tenant t as the scheduler's lists hold it.
func seqOf(t *tenant) *sequence { return &sequence{req: &request{tenant: t}} }

// TestNextAdmission: the waiting sequence of the least served tenant goes first, first come first served
// within a tenant; between equal counters the tenant with fewer running sequences, then the earlier one;
// sequences with their worker are passed over.
func TestNextAdmission(t *testing.T) {
	a, b, c := &tenant{served: 30}, &tenant{served: 10}, &tenant{served: 10}
	a1, b1, c1, b2 := seqOf(a), seqOf(b), seqOf(c), seqOf(b)
	waiting := []*sequence{a1, b1, c1, b2}
	running := []*sequence{seqOf(b)}
	if got := nextAdmission(waiting, running); got != 2 {
		t.Errorf("b and c tie at 10, b runs one sequence: admitted %d, want c's (2)", got)
	}
	if got := nextAdmission(waiting, nil); got != 1 {
		t.Errorf("b and c tie at 10 with none running: admitted %d, want the earlier, b's first (1)", got)
	}
	c.served = 11
	if got := nextAdmission(waiting, running); got != 1 {
		t.Errorf("b least served: admitted %d, want b's first (1)", got)
	}
	b1.busy = true
	if got := nextAdmission(waiting, running); got != 3 {
		t.Errorf("b's first with its worker: admitted %d, want b's second (3)", got)
	}
	b2.busy = true
	if got := nextAdmission(waiting, running); got != 2 {
		t.Errorf("b's both with their worker: admitted %d, want c's (2)", got)
	}
	a1.busy, c1.busy = true, true
	if got := nextAdmission(waiting, running); got != -1 {
		t.Errorf("every sequence with its worker: admitted %d, want -1", got)
	}
	if got := nextAdmission(nil, running); got != -1 {
		t.Errorf("nothing waits: admitted %d, want -1", got)
	}
}

// TestLiftOnArrival: a tenant backlogged anew starts no lower than the least served waiting tenant, else
// the least served running one, else the last to go idle; a tenant in debt keeps it, and one that already
// waits is not lifted.
func TestLiftOnArrival(t *testing.T) {
	ts := newTenants(1)
	a, c := ts.join("a"), ts.join("c")
	a.served, c.served, ts.last = 100, 40, 70
	cases := []struct {
		what             string
		served           int64
		waiting, running []*sequence
		want             int64
	}{
		{"a waits", 0, []*sequence{seqOf(a)}, []*sequence{seqOf(c)}, 100},
		{"a waits, b in debt", 150, []*sequence{seqOf(a)}, nil, 150},
		{"none waits, a and c run", 0, nil, []*sequence{seqOf(a), seqOf(c)}, 40},
		{"nothing waits or runs", 0, nil, nil, 70},
		{"nothing waits or runs, b in debt", 90, nil, nil, 90},
	}
	for _, tc := range cases {
		b := ts.join("b")
		b.served = tc.served
		ts.arrive(b, tc.waiting, tc.running)
		if b.served != tc.want {
			t.Errorf("%s: b arrives with %d, lifted to %d, want %d", tc.what, tc.served, b.served, tc.want)
		}
	}
	b := ts.join("b")
	b.served = 5
	ts.arrive(b, []*sequence{seqOf(a), seqOf(b)}, nil)
	if b.served != 5 {
		t.Errorf("b already waits: lifted from 5 to %d", b.served)
	}
}

// TestChargeWeights: computed prompt positions cost inputWeight, generated ones outputWeight; positions
// charged once are not charged again when recomputed, and tokens after the worker's valid mark are new.
func TestChargeWeights(t *testing.T) {
	if inputWeight != 1 || outputWeight != 2 {
		t.Fatalf("weights %d and %d, want the paper's 1 and 2", inputWeight, outputWeight)
	}
	ten := &tenant{}
	s := &sequence{req: &request{tenant: ten}, prompt: 10}
	steps := []struct {
		what     string
		from, to int
		want     int64
	}{
		{"a prompt chunk", 0, 6, 6},
		{"the prompt's end and the first generated token", 6, 11, 6 + 4 + 2},
		{"a decode row", 11, 12, 12 + 2},
		{"the recompute after a preemption", 0, 12, 14},
		{"the next decode row", 12, 13, 14 + 2},
	}
	for _, st := range steps {
		charge(s, st.from, st.to)
		if ten.served != st.want {
			t.Fatalf("%s (%d..%d): counter %d, want %d", st.what, st.from, st.to, ten.served, st.want)
		}
	}
	s.charged = min(s.charged, 11) // the worker took two tokens back (handBack)
	charge(s, 11, 13)
	if ten.served != 16+4 {
		t.Fatalf("two replaced generated tokens: counter %d, want %d", ten.served, 16+4)
	}
	hit := &sequence{req: &request{tenant: ten}, prompt: 40}
	charge(hit, 32, 40) // the first 32 came from the prefix cache
	if ten.served != 20+8 {
		t.Fatalf("8 prompt tokens after a 32-token cache hit: counter %d, want %d", ten.served, 20+8)
	}
}

// TestLeaveForgets: a tenant whose last request ends becomes the last to go idle; idle tenants at or below
// the lift level are forgotten, those in debt are kept with their counters.
func TestLeaveForgets(t *testing.T) {
	ts := newTenants(1)
	a, b, c := ts.join("a"), ts.join("b"), ts.join("c")
	a.served, b.served, c.served = 50, 200, 10
	ts.leave(c, nil, []*sequence{seqOf(a), seqOf(b)})
	if _, ok := ts.byName["c"]; ok {
		t.Fatal("c went idle at 10 below the running a at 50 and is still kept")
	}
	ts.leave(b, []*sequence{seqOf(a)}, nil)
	if ts.byName["b"] != b || ts.last != 200 {
		t.Fatalf("b went idle in debt (200 over a's 50): kept %v, last %d", ts.byName["b"] == b, ts.last)
	}
	ts.leave(a, nil, nil)
	if _, ok := ts.byName["a"]; ok || ts.last != 50 {
		t.Fatalf("a went idle last at 50: kept %v, last %d", ok, ts.last)
	}
	if ts.join("b") != b || b.served != 200 {
		t.Fatalf("b came back with counter %d, want its 200", b.served)
	}
	if n := ts.join("c"); n.served != 0 || n.ns != tenantNamespace(1, "c") {
		t.Fatalf("c came back as %+v, want a new tenant", n)
	}
}

// TestCountersBoundServiceDifference: two tenants always backlogged, one of long prompts and short
// answers, one of short prompts and long answers, served one request at a time by nextAdmission and
// charged for them: their counters never differ by more than one request's cost, the paper's bound for a
// batch of one, so each gets about the same weighted service, not the same number of requests.
func TestCountersBoundServiceDifference(t *testing.T) {
	a, b := &tenant{}, &tenant{}
	type shape struct{ prompt, answer int }
	shapes := map[*tenant]shape{a: {100, 10}, b: {5, 50}}
	costs := map[*tenant]int64{a: 100 + 2*10, b: 5 + 2*50}
	var waiting []*sequence
	for range 4 {
		waiting = append(waiting, seqOf(a), seqOf(b))
	}
	served := map[*tenant]int{}
	for range 1000 {
		i := nextAdmission(waiting, nil)
		s := waiting[i]
		waiting = append(slices.Delete(waiting, i, i+1), seqOf(s.req.tenant))
		sh := shapes[s.req.tenant]
		s.prompt = sh.prompt
		charge(s, 0, sh.prompt+sh.answer)
		served[s.req.tenant]++
		if d := a.served - b.served; d > costs[a] || -d > costs[b] {
			t.Fatalf("after %d requests: counters %d and %d", served[a]+served[b], a.served, b.served)
		}
	}
	if served[a] >= served[b] {
		t.Errorf("a's requests cost more, yet a had %d requests and b %d", served[a], served[b])
	}
}

// TestPrefillOrder: prompt chunks go to the least served tenant first, then to the earliest admitted.
func TestPrefillOrder(t *testing.T) {
	a, b := &tenant{served: 20}, &tenant{served: 10}
	s := []*sequence{seqOf(a), seqOf(b), seqOf(a), seqOf(b)}
	for i, age := range []uint64{1, 4, 2, 3} {
		s[i].age = age
	}
	got := slices.Clone(s)
	slices.SortFunc(got, prefillOrder)
	if want := []*sequence{s[3], s[1], s[0], s[2]}; !slices.Equal(got, want) {
		t.Errorf("order %v, want b's (ages 3, 4) then a's (ages 1, 2)", got)
	}
}

// TestTenantNamespace: tenant "" keeps the engine's namespace; every other tenant has its own, the same
// each time, and a different engine namespace gives different ones.
func TestTenantNamespace(t *testing.T) {
	const base = 0x1234
	if tenantNamespace(base, "") != base {
		t.Error("tenant \"\" does not use the engine's namespace")
	}
	seen := map[uint64]string{base: ""}
	for _, name := range []string{"a", "b", "ab", "a\x00", "tenant-1", "tenant-2"} {
		ns := tenantNamespace(base, name)
		if other, dup := seen[ns]; dup {
			t.Errorf("tenants %q and %q share namespace %#x", name, other, ns)
		}
		seen[ns] = name
		if tenantNamespace(base, name) != ns || tenantNamespace(base+1, name) == ns {
			t.Errorf("tenant %q: namespace not a function of the engine's and the name", name)
		}
	}
}
