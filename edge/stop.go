package edge

import "strings"

// stopper finds stop strings in streamed text. Text that could still be the start of a stop string is held
// back until the next piece decides it; the stop string itself is never emitted.
type stopper struct {
	stops []string
	held  string
}

// push adds text and returns what is safe to emit, and whether a stop string ended the text.
func (s *stopper) push(text string) (emit string, stopped bool) {
	if len(s.stops) == 0 {
		return text, false
	}
	buf := s.held + text
	first := -1
	for _, st := range s.stops {
		if i := strings.Index(buf, st); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	if first >= 0 {
		s.held = ""
		return buf[:first], true
	}
	hold := 0
	for _, st := range s.stops {
		hold = max(hold, partialSuffix(buf, st))
	}
	s.held = buf[len(buf)-hold:]
	return buf[:len(buf)-hold], false
}

// flush returns the held-back text at the end of generation.
func (s *stopper) flush() string {
	h := s.held
	s.held = ""
	return h
}
