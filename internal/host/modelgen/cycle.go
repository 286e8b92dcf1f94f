package modelgen

import "math"

// CycleNext is the token a Cycle model predicts after tok: the next id of tok's group of cycle
// consecutive ids, the last one going back to the group's first (the last group may be shorter).
func CycleNext(tok, cycle, nVocab int) int {
	base := tok / cycle * cycle
	n := min(cycle, nVocab-base)
	return base + (tok-base+1)%n
}

// cycleOutput writes output.weight for Options.Cycle: row j is s times the embedding row of the token
// whose CycleNext is j, so the logit of CycleNext(t) is s·|embedding(t)|² when the final hidden state is
// t's embedding, far above every other. The embedding rows come from token_embd.weight's own stream,
// drawn a group at a time.
func (g *gen) cycleOutput(dim, nVocab int, s float64) {
	cycle := g.o.Cycle
	g.rows("output.weight", g.o.Type, []uint64{uint64(dim), uint64(nVocab)}, func() func([]float32) {
		r, a := g.rng("token_embd.weight"), math.Sqrt(3) // token_embd.weight has standard deviation 1
		rows := make([]float32, cycle*dim)
		var group [][]float32
		next := 0 // the output row to fill
		return func(row []float32) {
			if next%cycle == 0 {
				group = group[:0]
				for k := range min(cycle, nVocab-next) {
					e := rows[k*dim : (k+1)*dim]
					for i := range e {
						e[i] = float32((2*r.Float64() - 1) * a)
					}
					group = append(group, e)
				}
			}
			// Row next is predicted after the group member before it.
			prev := (next%cycle - 1 + len(group)) % len(group)
			for i, x := range group[prev] {
				row[i] = float32(float64(x) * s)
			}
			next++
		}
	})
}
