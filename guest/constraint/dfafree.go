package constraint

import (
	"slices"
	"unicode/utf8"
)

// A DFA state's free run (see freeRun): the characters that all lead to one state, followed while the
// class keeps doing so. multiTarget answers for all multibyte characters at once.

// multiTarget's answers besides a state.
const (
	multiUnknown int32 = -2 // not worked out yet
	multiMixed   int32 = -1 // multibyte characters lead to different states, or some nowhere
)

// free returns state s's free run, worked out on first use; false if it has none.
func (d *dfa) free(s int32) (freeRun, bool) {
	if d.freeOK[s] == unknown {
		run, ok := d.findFree(s)
		d.frees[s], d.freeOK[s] = run, no
		if ok {
			d.freeOK[s] = yes
		}
	}
	return d.frees[s], d.freeOK[s] == yes
}

// findFree follows the chain of states that the class's characters lead to, narrowing the class where
// its characters part ways, until the chain stays put (a loop), every character of the class leads
// nowhere (a tight run) or sliceDepth characters are in.
func (d *dfa) findFree(s int32) (freeRun, bool) {
	cls, cur := anyChar, s
	for k := 0; k < sliceDepth; k++ {
		next, ok := d.uniformStep(cur, &cls)
		switch {
		case !ok:
			return freeRun{cls: cls, max: k, loop: k}, k > 0 && !cls.empty()
		case next == cur:
			return freeRun{cls: cls, max: -1, loop: k}, true
		}
		cur = next
	}
	return freeRun{cls: cls, max: sliceDepth, loop: sliceDepth}, true
}

// uniformStep narrows cls to the largest part whose characters all lead from s to one live state, and
// returns that state; false if none leads anywhere (cls then loses multibyte characters unless none of
// them leads anywhere either). Multibyte characters weigh as much as all ASCII ones: there are many more
// of them in a vocabulary.
func (d *dfa) uniformStep(s int32, cls *charClass) (int32, bool) {
	type group struct {
		to     int32
		weight int
	}
	var groups []group
	add := func(to int32, w int) {
		if to == deadState || to == multiMixed {
			return
		}
		for i := range groups {
			if groups[i].to == to {
				groups[i].weight += w
				return
			}
		}
		groups = append(groups, group{to, w})
	}
	var to [utf8.RuneSelf]int32
	for b := byte(0); b < utf8.RuneSelf; b++ {
		if cls.has(b) {
			to[b] = d.next(s, b)
			add(to[b], 1)
		}
	}
	multi := deadState
	if cls.multi {
		multi = d.multiTarget(s)
		add(multi, utf8.RuneSelf)
	}
	if len(groups) == 0 {
		cls.multi = cls.multi && multi == deadState
		return deadState, false
	}
	best := slices.MaxFunc(groups, func(a, b group) int { return a.weight - b.weight }).to
	narrow := charClass{multi: cls.multi && multi == best}
	for b := byte(0); b < utf8.RuneSelf; b++ {
		if cls.has(b) && to[b] == best {
			narrow.add(b)
		}
	}
	*cls = narrow
	return best, true
}

// multiTarget is the state every valid UTF-8 character of two or more bytes leads to from s: deadState
// if none leads anywhere, multiMixed if they part ways or some lead nowhere.
func (d *dfa) multiTarget(s int32) int32 {
	if v := d.multis[s]; v != multiUnknown {
		return v
	}
	res := multiUnknown
	utf8Sequences(utf8.RuneSelf, utf8.MaxRune, func(seq []byteRange) {
		states := []int32{s}
		for _, r := range seq {
			var next []int32
			for _, st := range states {
				for b := int(r.lo); b <= int(r.hi); b++ {
					if b > int(r.lo) && d.class[b] == d.class[b-1] {
						continue // the same class leads to the same state
					}
					ns := deadState
					if st != deadState {
						ns = d.next(st, byte(b))
					}
					if !slices.Contains(next, ns) {
						next = append(next, ns)
					}
				}
			}
			states = next
		}
		for _, st := range states {
			if res == multiUnknown {
				res = st
			} else if res != st {
				res = multiMixed
			}
		}
	})
	d.multis[s] = res
	return res
}

// nextBytes is the set of bytes s takes, worked out on first use.
func (d *dfa) nextBytes(s int32) byteSet {
	if !d.nextOK[s] {
		var set byteSet
		for b := 0; b < 256; b++ {
			if d.next(s, byte(b)) != deadState {
				set.add(byte(b))
			}
		}
		d.nexts[s], d.nextOK[s] = set, true
	}
	return d.nexts[s]
}
