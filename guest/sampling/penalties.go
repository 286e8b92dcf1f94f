package sampling

// history is a ring of the last window accepted tokens with a count per distinct token. It grows with the
// tokens, not with the window, so a huge RepeatLastN costs nothing until that many tokens arrive.
type history struct {
	ring   []int32
	next   int // where the next token goes once the ring is full
	window int
	counts map[int32]int32
}

func (h *history) reset(window int) {
	h.ring, h.next, h.window = h.ring[:0], 0, window
	if h.counts == nil {
		h.counts = map[int32]int32{}
	}
	clear(h.counts)
}

func (h *history) add(id int32) {
	if h.window == 0 { // a zero Sampler that was never configured
		h.reset(DefaultRepeatLastN)
	}
	if len(h.ring) < h.window {
		h.ring = append(h.ring, id)
	} else {
		old := h.ring[h.next]
		if h.counts[old]--; h.counts[old] == 0 {
			delete(h.counts, old)
		}
		h.ring[h.next] = id
		h.next = (h.next + 1) % h.window
	}
	h.counts[id]++
}

// penalize applies llama.cpp's penalties to each token seen in the window: the repeat penalty divides a
// positive logit and multiplies a non-positive one, then count·frequency + presence is subtracted.
func (s *Sampler) penalize(logits []float32) {
	rep, freq, pres := s.p.RepeatPenalty, s.p.FrequencyPenalty, s.p.PresencePenalty
	if rep <= 0 {
		rep = 1 // 0 means off, like 1
	}
	if rep == 1 && freq == 0 && pres == 0 {
		return
	}
	for id, n := range s.hist.counts {
		if id < 0 || int(id) >= len(logits) {
			continue
		}
		l := logits[id]
		if l <= 0 {
			l *= rep
		} else {
			l /= rep
		}
		logits[id] = l - (float32(float32(n)*freq) + pres) // rounded product: no FMA, same bits in wasm
	}
}
