package sdk

// Allow sets token id's bit in a mask.
func Allow(mask []uint32, id int32) { mask[id>>5] |= 1 << (id & 31) }

// Disallow clears token id's bit in a mask.
func Disallow(mask []uint32, id int32) { mask[id>>5] &^= 1 << (id & 31) }

// Allowed reports whether token id's bit is set in a mask.
func Allowed(mask []uint32, id int32) bool { return mask[id>>5]&(1<<(id&31)) != 0 }

// AllowFirst sets the bits of tokens 0 … n-1 and clears every other bit of the mask.
func AllowFirst(mask []uint32, n int) {
	full := n / 32
	for i := range mask {
		switch {
		case i < full:
			mask[i] = ^uint32(0)
		case i == full && n%32 != 0:
			mask[i] = 1<<(n%32) - 1
		default:
			mask[i] = 0
		}
	}
}
