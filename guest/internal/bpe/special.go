package bpe

import (
	"slices"
	"strings"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// Added tokens (CONTROL, USER_DEFINED and UNKNOWN types) are cut out of the text before pre-tokenization,
// as llama.cpp's tokenizer_st_partition does: longest token text first, each one over every fragment that
// is still raw text, leftmost non-overlapping occurrences. CONTROL and UNKNOWN tokens are matched only when
// the caller asks to parse special tokens; USER_DEFINED ones always.

// addedToken is one token matched in raw text.
type addedToken struct {
	text    string
	id      int32
	control bool // CONTROL or UNKNOWN: matched only with parseSpecial
}

// addedTokens finds added tokens in text.
type addedTokens struct {
	list []addedToken // longest text first, then by id
	// A byte trie over the texts: root[b] is the node after byte b (0: none); deeper edges are in edges,
	// keyed node<<8 | byte; final[node] is the index in list of the text ending there, or -1.
	root  [256]int32
	edges map[uint64]int32
	final []int32
}

func newAddedTokens(tokens []string, types []int32) *addedTokens {
	a := &addedTokens{edges: map[uint64]int32{}, final: []int32{-1}}
	for id, s := range tokens {
		if s == "" || len(types) == 0 {
			continue
		}
		switch types[id] {
		case abi.TokenControl, abi.TokenUnknown:
			a.list = append(a.list, addedToken{s, int32(id), true})
		case abi.TokenUserDefined:
			a.list = append(a.list, addedToken{s, int32(id), false})
		}
	}
	slices.SortStableFunc(a.list, func(x, y addedToken) int { return len(y.text) - len(x.text) })
	for i, t := range a.list {
		node := int32(0)
		for j := 0; j < len(t.text); j++ {
			node = a.child(node, t.text[j], true)
		}
		if a.final[node] < 0 { // a duplicate text: the first (lowest id) wins, as the sort puts it first
			a.final[node] = int32(i)
		}
	}
	return a
}

// child returns the node after byte b from node, creating it if asked; 0 means none.
func (a *addedTokens) child(node int32, b byte, create bool) int32 {
	var next int32
	if node == 0 {
		next = a.root[b]
	} else {
		next = a.edges[uint64(node)<<8|uint64(b)]
	}
	if next != 0 || !create {
		return next
	}
	next = int32(len(a.final))
	a.final = append(a.final, -1)
	if node == 0 {
		a.root[b] = next
	} else {
		a.edges[uint64(node)<<8|uint64(b)] = next
	}
	return next
}

// present returns, in list order, the indices of the added tokens that occur in s and are eligible.
func (a *addedTokens) present(s string, parseSpecial bool) []int32 {
	var found []int32
	for i := 0; i < len(s); i++ {
		if a.root[s[i]] == 0 {
			continue
		}
		for node, j := int32(0), i; j < len(s); j++ {
			if node = a.child(node, s[j], false); node == 0 {
				break
			}
			if k := a.final[node]; k >= 0 && (parseSpecial || !a.list[k].control) {
				found = append(found, k)
			}
		}
	}
	slices.Sort(found)
	return slices.Compact(found)
}

// fragment is a part of the text: raw text [start, end) when id < 0, else the added token id.
type fragment struct {
	start, end int
	id         int32
}

// partition cuts the added tokens out of s.
func (a *addedTokens) partition(s string, parseSpecial bool) []fragment {
	frags := []fragment{{0, len(s), -1}}
	if len(a.list) == 0 || s == "" {
		return frags
	}
	var next []fragment
	for _, k := range a.present(s, parseSpecial) {
		tok := a.list[k]
		next = next[:0]
		for _, f := range frags {
			if f.id >= 0 {
				next = append(next, f)
				continue
			}
			at := f.start
			for {
				i := strings.Index(s[at:f.end], tok.text)
				if i < 0 {
					break
				}
				if i > 0 {
					next = append(next, fragment{at, at + i, -1})
				}
				next = append(next, fragment{at + i, at + i + len(tok.text), tok.id})
				at += i + len(tok.text)
			}
			if at < f.end {
				next = append(next, fragment{at, f.end, -1})
			}
		}
		frags, next = next, frags
	}
	return frags
}
