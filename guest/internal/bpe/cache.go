package bpe

import (
	"strings"
	"sync"
)

// Pieces repeat a lot in real text (words, indentation, punctuation), so their tokens are cached. The
// cache keeps two generations of at most cacheGeneration pieces each: when the young one fills up it
// becomes the old one and the previous old one is dropped, a cheap approximation of LRU; a hit in the old
// generation moves the piece back to the young one.
const (
	cacheGeneration = 1 << 14
	cacheMaxPiece   = 64 // longer pieces are rarely repeated and are not cached
)

type pieceCache struct {
	mu         sync.Mutex
	young, old map[string][]int32
}

func newPieceCache() *pieceCache {
	return &pieceCache{young: make(map[string][]int32)}
}

// get returns the cached tokens of piece; the caller must not modify them.
func (c *pieceCache) get(piece string) ([]int32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ids, ok := c.young[piece]; ok {
		return ids, true
	}
	ids, ok := c.old[piece]
	if ok {
		c.putLocked(piece, ids)
	}
	return ids, ok
}

// put caches the tokens of piece (copied, so that the cache does not keep the caller's text alive); the
// cache then owns ids.
func (c *pieceCache) put(piece string, ids []int32) {
	if len(piece) > cacheMaxPiece {
		return
	}
	piece = strings.Clone(piece)
	c.mu.Lock()
	c.putLocked(piece, ids)
	c.mu.Unlock()
}

func (c *pieceCache) putLocked(piece string, ids []int32) {
	if len(c.young) >= cacheGeneration {
		c.old, c.young = c.young, make(map[string][]int32, cacheGeneration)
	}
	c.young[piece] = ids
}
