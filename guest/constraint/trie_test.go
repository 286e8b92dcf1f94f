package constraint

import (
	"math/rand"
	"testing"
)

// cloneOnly hides a Matcher's Snapshotter and concrete type, forcing Mask's generic path.
type cloneOnly struct{ Matcher }

func (c cloneOnly) Clone() Matcher { return cloneOnly{c.Matcher.Clone()} }

// naiveMask is the reference: one clone per token, fed byte by byte.
func naiveMask(vocab [][]byte, m Matcher, words int) []uint32 {
	mask := make([]uint32, words)
	for id, tok := range vocab {
		if len(tok) == 0 || id/32 >= words {
			continue
		}
		c, ok := m.Clone(), true
		for _, b := range tok {
			if !c.Advance(b) {
				ok = false
				break
			}
		}
		if ok {
			mask[id/32] |= 1 << (id % 32)
		}
	}
	return mask
}

func randomVocab(rng *rand.Rand, n int, alpha []byte) [][]byte {
	v := make([][]byte, n)
	for i := range v {
		if rng.Intn(50) == 0 {
			continue // a control token
		}
		v[i] = make([]byte, 1+rng.Intn(5))
		for j := range v[i] {
			if rng.Intn(8) == 0 {
				v[i][j] = byte(rng.Intn(256))
			} else {
				v[i][j] = alpha[rng.Intn(len(alpha))]
			}
		}
	}
	if n > 10 {
		v[3] = append([]byte(nil), v[7]...) // duplicate byte strings keep both ids
	}
	return v
}

func TestMaskMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	alpha := []byte(`ab1 {}[]":,-.e\ntrue` + "\xc3\xa9")
	var ms []Matcher
	for _, p := range []string{`[ab]+1?`, `(a|b)*\b.`, `"[^"]*"`, `.{0,4}`, `(?i)tRuE|a+e`} {
		m, err := Regex(p)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	for _, s := range []string{``, `{"type":"object","properties":{"a":{"type":"string"},"ab":{"type":"array","items":{"type":"number"}}}}`,
		`{"anyOf":[{"type":"string","pattern":"a.b"},{"enum":["ab","a\"",1,-1.5]}]}`} {
		m, err := JSONSchema([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	for round := 0; round < 20; round++ {
		vocab := randomVocab(rng, 300+rng.Intn(300), alpha)
		trie := NewTrie(vocab)
		for _, m0 := range ms {
			m := m0.Clone()
			for step := 0; step < 6; step++ {
				words := (len(vocab) + 31) / 32
				if step == 3 {
					words /= 2 // tokens past the mask's end are left out
				}
				want := naiveMask(vocab, m, words)
				for _, mm := range []Matcher{m, cloneOnly{m}} {
					got := make([]uint32, words)
					for i := range got {
						got[i] = ^uint32(0) // Mask must clear
					}
					trie.Mask(mm, got)
					for i := range got {
						if got[i] != want[i] {
							t.Fatalf("round %d step %d %T: word %d: got %032b want %032b", round, step, mm, i, got[i], want[i])
						}
					}
				}
				// Advance by a random allowed byte, so later steps test other states.
				ok := allowedBytes(m)
				if len(ok) == 0 {
					break
				}
				m.Advance(ok[rng.Intn(len(ok))])
			}
		}
	}
}

func TestTrieEmptyAndDuplicates(t *testing.T) {
	vocab := [][]byte{nil, []byte("a"), []byte("a"), {}, []byte("ab")}
	m, err := Regex(`a`)
	if err != nil {
		t.Fatal(err)
	}
	mask := []uint32{0}
	NewTrie(vocab).Mask(m, mask)
	if mask[0] != 0b00110 {
		t.Fatalf("mask %05b", mask[0])
	}
}
