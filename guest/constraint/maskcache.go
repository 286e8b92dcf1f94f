package constraint

import "encoding/binary"

// Mask caching: a matcher whose states have a canonical key (a GBNF grammar's, stateKeyer) gets the mask
// of a state it was in before from the Trie without walking it again. Grammars revisit the same states
// constantly (every string at one depth of JSON, every statement start of C at one depth), and the
// cache is exact: a key names the matcher's grammar and the whole state, so equal keys are equal states.

// maxCachedMasks is the most masks a Trie keeps (at 129,280 tokens one is 16 KiB); past it the oldest
// goes.
const maxCachedMasks = 64

// stateKeyer is implemented by Matchers whose state has a canonical key: appended to dst, it tells
// apart every two states (of any matcher) that may take different texts.
type stateKeyer interface {
	stateKey(dst []byte) []byte
}

// maskCache holds the masks of recent states, by key, oldest first in a ring.
type maskCache struct {
	index map[string]int // slot in keys and masks
	keys  []string
	masks [][]uint32
	next  int // the slot to fill next, once full
}

// cachedMask copies the mask cached under key into mask; false if there is none of that length.
func (t *Trie) cachedMask(key []byte, mask []uint32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.masks.index[string(key)]
	if !ok || len(t.masks.masks[i]) != len(mask) {
		return false
	}
	copy(mask, t.masks.masks[i])
	return true
}

// cacheMask keeps a copy of mask under key, in place of the oldest when the cache is full.
func (t *Trie) cacheMask(key []byte, mask []uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := &t.masks
	if c.index == nil {
		c.index = map[string]int{}
	}
	if _, ok := c.index[string(key)]; ok {
		return
	}
	if len(c.keys) < maxCachedMasks {
		c.index[string(key)] = len(c.keys)
		c.keys, c.masks = append(c.keys, string(key)), append(c.masks, append([]uint32(nil), mask...))
		return
	}
	i := c.next
	c.next = (c.next + 1) % maxCachedMasks
	delete(c.index, c.keys[i])
	c.index[string(key)] = i
	c.keys[i] = string(key)
	c.masks[i] = append(c.masks[i][:0], mask...)
}

// stateKey is the grammar's id, the character so far and every stack, bottom link last (positions + 1,
// so 0 ends a stack). Between characters only the stacks count (not the last character's bits, which the
// matcher keeps); inside a character whose every completion each stack's class holds (a JSON string's
// [^"\\] after any lead byte), its bits so far are left out too: the bytes to come and the stacks after
// them are the same whichever character it is, so all such states are one (keys mark that with a 1 in
// place of the bits' 0).
func (m *gbnfMatcher) stateKey(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, m.g.id)
	acc := byte(0)
	if m.acc {
		acc = 1
	}
	switch {
	case m.u.need == 0: // between characters: the last one's bits are no part of the state
		dst = append(dst, acc, 0)
	case m.heldWhole():
		dst = append(dst, acc, m.u.need, m.u.nlo, m.u.nhi, 1)
	default:
		dst = append(dst, acc, m.u.need, m.u.nlo, m.u.nhi, 0)
		dst = binary.AppendUvarint(dst, uint64(m.u.v))
	}
	for _, s := range m.cur {
		dst = binary.AppendUvarint(dst, uint64(s.top)+1)
		for r := s.rest; r >= 0; r = m.links[r].next {
			dst = binary.AppendUvarint(dst, uint64(m.links[r].pos)+1)
		}
		dst = append(dst, 0)
	}
	return dst
}

// heldWhole reports whether every stack's class holds every code point the character so far may become.
func (m *gbnfMatcher) heldWhole() bool {
	for _, st := range m.cur {
		if !m.g.classes[m.g.elems[st.top].arg].holdsAll(m.u.lo, m.u.hi) {
			return false
		}
	}
	return true
}
