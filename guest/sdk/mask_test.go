package sdk

import (
	"math/rand/v2"
	"testing"
)

func TestMaskBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		n := 1 + rng.IntN(200)
		mask := make([]uint32, MaskWords(n))
		ref := map[int32]bool{}
		for range 300 {
			id := int32(rng.IntN(n))
			if rng.IntN(2) == 0 {
				Allow(mask, id)
				ref[id] = true
			} else {
				Disallow(mask, id)
				delete(ref, id)
			}
		}
		for id := range int32(n) {
			// The ABI's layout: bit id%32 of little-endian word id/32.
			if bit := mask[id/32]>>(id%32)&1 == 1; bit != ref[id] || Allowed(mask, id) != ref[id] {
				t.Fatalf("token %d: bit %v, Allowed %v, want %v", id, bit, Allowed(mask, id), ref[id])
			}
		}
		k := rng.IntN(n + 1)
		AllowFirst(mask, k)
		for id := range 32 * len(mask) {
			if Allowed(mask, int32(id)) != (id < k) {
				t.Fatalf("AllowFirst(%d): token %d allowed = %v", k, id, !(id < k))
			}
		}
	}
}
