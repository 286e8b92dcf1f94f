package edge

import "strings"

// stopper finds stop strings in generated text. Text that could still become a stop string is held back
// until later text decides it; the stop string itself is never released. It allocates only while it
// holds text back.
type stopper struct {
	stops []string
	held  string
}

// push adds text and returns what can be released; stopped reports that a stop string was found, and
// release then ends just before it.
func (s *stopper) push(text string) (release string, stopped bool) {
	if len(s.stops) == 0 {
		return text, false
	}
	buf := s.held + text
	s.held = ""
	first := -1
	for _, st := range s.stops {
		if i := strings.Index(buf, st); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	if first >= 0 {
		return buf[:first], true
	}
	hold := 0
	for _, st := range s.stops {
		hold = max(hold, partialSuffix(buf, st))
	}
	s.held = buf[len(buf)-hold:]
	return buf[:len(buf)-hold], false
}

// flush releases the held-back text at the end of the generation.
func (s *stopper) flush() string {
	h := s.held
	s.held = ""
	return h
}

// partialSuffix is the length of the longest suffix of s that is a proper prefix of tag. Because s and
// tag are valid UTF-8, such a suffix starts on a character boundary.
func partialSuffix(s, tag string) int {
	for n := min(len(tag)-1, len(s)); n > 0; n-- {
		if strings.HasSuffix(s, tag[:n]) {
			return n
		}
	}
	return 0
}
