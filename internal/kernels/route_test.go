package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// refRoute is the float64 router of spec §3.3, by sorting: it returns the chosen ids and their weights,
// every expert's selection score, and whether the choice is ambiguous (a group or expert cut-off between
// two selection scores closer than float32 rounding could order reliably).
func refRoute(r *Router, logits []float32) (ids []int, w, c []float64, ambiguous bool) {
	const eps = 1e-5
	E := r.Experts
	s := make([]float64, E)
	c = make([]float64, E)
	if r.Sigmoid {
		for i, z := range logits[:E] {
			s[i] = 1 / (1 + math.Exp(-float64(z)))
		}
	} else {
		m := math.Inf(-1)
		for _, z := range logits[:E] {
			m = max(m, float64(z))
		}
		var sum float64
		for i, z := range logits[:E] {
			s[i] = math.Exp(float64(z) - m)
			sum += s[i]
		}
		for i := range s {
			s[i] /= sum
		}
	}
	for i := range c {
		c[i] = s[i]
		if r.Bias != nil {
			c[i] += float64(r.Bias[i])
		}
	}
	byScore := func(idx []int, score func(int) float64) {
		sort.SliceStable(idx, func(a, b int) bool { return score(idx[a]) > score(idx[b]) })
	}
	candidates := make([]int, E)
	for i := range candidates {
		candidates[i] = i
	}
	if r.Groups > 1 {
		per := E / r.Groups
		gs := make([]float64, r.Groups)
		for g := range gs {
			top := slices.Clone(c[g*per : (g+1)*per])
			sort.Sort(sort.Reverse(sort.Float64Slice(top)))
			gs[g] = top[0]
			if r.Bias != nil && per > 1 {
				gs[g] += top[1]
			}
		}
		order := make([]int, r.Groups)
		for g := range order {
			order[g] = g
		}
		byScore(order, func(g int) float64 { return gs[g] })
		if r.GroupsUsed < r.Groups && gs[order[r.GroupsUsed-1]]-gs[order[r.GroupsUsed]] < eps {
			ambiguous = true
		}
		candidates = candidates[:0]
		for _, g := range order[:r.GroupsUsed] {
			for i := g * per; i < (g+1)*per; i++ {
				candidates = append(candidates, i)
			}
		}
	}
	byScore(candidates, func(i int) float64 { return c[i] })
	if r.K < len(candidates) && c[candidates[r.K-1]]-c[candidates[r.K]] < eps {
		ambiguous = true
	}
	ids = candidates[:r.K]
	var sum float64
	for _, i := range ids {
		w = append(w, s[i])
		sum += s[i]
	}
	for k := range w {
		if r.Norm {
			w[k] /= max(sum, 6.103515625e-5)
		}
		if r.Scale != 0 {
			w[k] *= float64(r.Scale)
		}
	}
	return ids, w, c, ambiguous
}

// checkRoute fails unless Route's choice for logits is refRoute's (as a set, unless ambiguous) with
// weights within 1e-6, the ids distinct and in order of non-increasing selection score. It returns whether
// the case was ambiguous.
func checkRoute(t *testing.T, what string, r *Router, logits []float32, ids []int32, w []float32) bool {
	t.Helper()
	want, ww, c, ambiguous := refRoute(r, logits)
	wantW := map[int]float64{}
	for k, id := range want {
		wantW[id] = ww[k]
	}
	seen := map[int32]bool{}
	for k, id := range ids {
		if id < 0 || int(id) >= r.Experts || seen[id] || k > 0 && c[id] > c[ids[k-1]]+1e-5 {
			t.Fatalf("%s: ids %v", what, ids)
		}
		seen[id] = true
		if ambiguous {
			continue
		}
		v, ok := wantW[int(id)]
		if !ok {
			t.Fatalf("%s: ids %v, reference %v", what, ids, want)
		}
		if math.Abs(float64(w[k])-v) > 1e-6*max(1, math.Abs(v)) {
			t.Fatalf("%s: expert %d weighs %v, reference %v", what, id, w[k], v)
		}
	}
	return ambiguous
}

// Route must choose what the float64 sort-based reference chooses, over random routers of every kind.
func TestRouteMatchesReference(t *testing.T) {
	rng := newRand(1)
	var s RouteScratch
	cases, ambiguous := 0, 0
	for _, E := range []int{8, 16, 64, 256} {
		for _, K := range []int{1, 2, 6, 8} {
			for _, groups := range []int{1, 4, 8} {
				for variant := range 16 {
					r := Router{Experts: E, K: K, Sigmoid: variant&1 != 0, Norm: variant&2 != 0, Groups: groups}
					if variant&4 != 0 {
						r.Bias = randVec(rng, E, 0.3)
					}
					if variant&8 != 0 {
						r.Scale = []float32{2.5, 16, 0.5}[rng.IntN(3)]
					}
					if groups > 1 {
						r.GroupsUsed = 1 + rng.IntN(groups)
					}
					if r.Validate() != nil {
						continue
					}
					for range 8 {
						logits := randVec(rng, E, 1+rng.Float64()*3)
						ids, w := make([]int32, K), make([]float32, K)
						r.Route(ids, w, logits, &s)
						cases++
						if checkRoute(t, fmt.Sprintf("%+v", r), &r, logits, ids, w) {
							ambiguous++
						}
					}
				}
			}
		}
	}
	if cases < 2000 || ambiguous > cases/50 {
		t.Fatalf("%d cases, %d ambiguous", cases, ambiguous)
	}
}

// The bias chooses but never weighs; group limiting can exclude the best expert; equal scores keep the
// lower id first.
func TestRouteHandChecked(t *testing.T) {
	logit := func(p float64) float32 { return float32(math.Log(p / (1 - p))) }
	// Sigmoid scores .9 .1 | .85 .84 | .5 .1 | .95 0.01, in four groups of two.
	var sig []float32
	for _, p := range []float64{.9, .1, .85, .84, .5, .1, .95, .01} {
		sig = append(sig, logit(p))
	}
	cases := []struct {
		name   string
		r      Router
		logits []float32
		ids    []int32
		w      []float64
	}{
		{"softmax", Router{Experts: 4, K: 2}, []float32{2, 1, 0, 0}, []int32{0, 1},
			[]float64{math.E * math.E / (math.E*math.E + math.E + 2), math.E / (math.E*math.E + math.E + 2)}},
		{"bias picks, does not weigh", Router{Experts: 4, K: 2, Bias: []float32{0, 0.5, 0, 0}}, []float32{2, 1, 0, 0},
			[]int32{1, 0}, []float64{math.E / (math.E*math.E + math.E + 2), math.E * math.E / (math.E*math.E + math.E + 2)}},
		{"bias lifts the last", Router{Experts: 4, K: 1, Bias: []float32{0, 0, 0, 1}}, []float32{2, 1, 0, 0},
			[]int32{3}, []float64{1 / (math.E*math.E + math.E + 2)}},
		{"no groups", Router{Experts: 8, K: 2, Sigmoid: true}, sig, []int32{6, 0}, []float64{.95, .9}},
		{"group maximum (V2)", Router{Experts: 8, K: 2, Sigmoid: true, Groups: 4, GroupsUsed: 2}, sig,
			[]int32{6, 0}, []float64{.95, .9}},
		{"group top-2 sum (V3) drops the best expert", Router{Experts: 8, K: 2, Sigmoid: true, Groups: 4, GroupsUsed: 2,
			Bias: make([]float32, 8)}, sig, []int32{0, 2}, []float64{.9, .85}},
		{"V3, normalized and scaled", Router{Experts: 8, K: 2, Sigmoid: true, Groups: 4, GroupsUsed: 2,
			Bias: make([]float32, 8), Norm: true, Scale: 2.5}, sig, []int32{0, 2}, []float64{2.5 * .9 / 1.75, 2.5 * .85 / 1.75}},
		{"norm clamps a tiny sum", Router{Experts: 2, K: 1, Sigmoid: true, Norm: true}, []float32{-20, -30}, []int32{0},
			[]float64{1 / (1 + math.Exp(20)) / 6.103515625e-5}},
		{"ties keep the lower id", Router{Experts: 8, K: 3}, make([]float32, 8), []int32{0, 1, 2}, []float64{.125, .125, .125}},
		{"scale 1 is 1", Router{Experts: 2, K: 1, Scale: 1}, []float32{0, 0}, []int32{0}, []float64{.5}},
	}
	var s RouteScratch
	for _, c := range cases {
		if err := c.r.Validate(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ids, w := make([]int32, c.r.K), make([]float32, c.r.K)
		c.r.Route(ids, w, c.logits, &s)
		if !slices.Equal(ids, c.ids) {
			t.Errorf("%s: ids %v, want %v", c.name, ids, c.ids)
			continue
		}
		for k := range w {
			if math.Abs(float64(w[k])-c.w[k]) > 1e-6*max(1, c.w[k]) {
				t.Errorf("%s: weights %v, want %v", c.name, w, c.w)
			}
		}
	}
}

// Route returns K distinct experts even when its scores are all NaN or -inf biases leave too few finite.
func TestRouteDistinctOnBadInput(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(-1))
	var s RouteScratch
	for _, c := range []struct {
		r      Router
		logits []float32
	}{
		{Router{Experts: 4, K: 3}, []float32{nan, 0, nan, 1}},
		{Router{Experts: 4, K: 3, Sigmoid: true, Bias: []float32{inf, inf, 0, inf}}, []float32{0, 1, 2, 3}},
		{Router{Experts: 8, K: 4, Sigmoid: true, Groups: 4, GroupsUsed: 2, Bias: []float32{inf, inf, inf, inf, inf, inf, 0, 0}},
			make([]float32, 8)},
	} {
		ids, w := make([]int32, c.r.K), make([]float32, c.r.K)
		c.r.Route(ids, w, c.logits, &s)
		seen := map[int32]bool{}
		for _, id := range ids {
			if id < 0 || int(id) >= c.r.Experts || seen[id] {
				t.Errorf("%+v: ids %v", c.r, ids)
			}
			seen[id] = true
		}
	}
}

func TestRouterValidate(t *testing.T) {
	good := []Router{
		{Experts: 256, K: 8, Sigmoid: true, Bias: make([]float32, 256), Groups: 8, GroupsUsed: 4, Norm: true, Scale: 2.5},
		{Experts: 64, K: 6},
		{Experts: 160, K: 6, Groups: 8, GroupsUsed: 3, Scale: 16},
		{Experts: 8, K: 8, Groups: 1, GroupsUsed: 0},
	}
	for _, r := range good {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	bad := []Router{
		{Experts: 0, K: 1},
		{Experts: 8, K: 0},
		{Experts: 8, K: 9},
		{Experts: 8, K: 2, Bias: make([]float32, 7)},
		{Experts: 12, K: 2, Groups: 8, GroupsUsed: 2},
		{Experts: 16, K: 2, Groups: 8, GroupsUsed: 0},
		{Experts: 16, K: 2, Groups: 8, GroupsUsed: 9},
		{Experts: 16, K: 5, Groups: 8, GroupsUsed: 2},
		{Experts: 8, K: 2, Scale: float32(math.NaN())},
		{Experts: 8, K: 2, Scale: float32(math.Inf(1))},
	}
	for _, r := range bad {
		if err := r.Validate(); err == nil {
			t.Errorf("%+v passed", r)
		}
	}
}

// RouteBatch is Route token by token, and neither allocates once the scratch has grown.
func TestRouteBatch(t *testing.T) {
	const n = 5
	rng := newRand(2)
	r := Router{Experts: 256, K: 8, Sigmoid: true, Bias: randVec(rng, 256, 0.3), Groups: 8, GroupsUsed: 4, Norm: true, Scale: 2.5}
	logits := randVec(rng, n*256, 2)
	ids, w := make([]int32, n*8), make([]float32, n*8)
	var s RouteScratch
	r.RouteBatch(ids, w, logits, n, &s)
	one, ow := make([]int32, 8), make([]float32, 8)
	for tok := range n {
		r.Route(one, ow, logits[tok*256:(tok+1)*256], &s)
		if !slices.Equal(one, ids[tok*8:(tok+1)*8]) || !slices.Equal(ow, w[tok*8:(tok+1)*8]) {
			t.Fatalf("token %d: batch %v %v, alone %v %v", tok, ids[tok*8:(tok+1)*8], w[tok*8:(tok+1)*8], one, ow)
		}
	}
	if a := testing.AllocsPerRun(20, func() { r.RouteBatch(ids, w, logits, n, &s) }); a != 0 {
		t.Errorf("RouteBatch: %v allocs", a)
	}
}

// BenchmarkRoute times one token's routing for DeepSeek-V3 (sigmoid, bias, 8 groups of 32 keeping 4,
// top-8) and V2-Lite (softmax over 64, top-6):
//
//	go test -run '^$' -bench Route -benchtime 20000x ./internal/kernels/
func BenchmarkRoute(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		name string
		r    Router
	}{
		{"V3", Router{Experts: 256, K: 8, Sigmoid: true, Bias: randVec(rng, 256, 0.3), Groups: 8, GroupsUsed: 4, Norm: true, Scale: 2.5}},
		{"V2-Lite", Router{Experts: 64, K: 6}},
	} {
		logits := randVec(rng, 64*c.r.Experts, 2)
		ids, w := make([]int32, c.r.K), make([]float32, c.r.K)
		var s RouteScratch
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.r.Route(ids, w, logits[i%64*c.r.Experts:], &s)
				i++
			}
		})
	}
}
