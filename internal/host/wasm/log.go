package wasm

import (
	"fmt"
	"strings"
)

// guestLog is an instance's bounded log: the host's log import and the guest's stdout and stderr (where a
// Go guest's panic message goes) write to it. Past the limit, writes are counted, not kept.
type guestLog struct {
	buf     []byte
	limit   int
	dropped int // writes that did not fit
}

// room is how many more bytes the log keeps.
func (l *guestLog) room() int { return max(l.limit-len(l.buf), 0) }

// Write implements io.Writer for the guest's stdout and stderr.
func (l *guestLog) Write(p []byte) (int, error) {
	if len(p) > l.room() {
		l.dropped++
	}
	l.buf = append(l.buf, p[:min(len(p), l.room())]...)
	return len(p), nil
}

func (l *guestLog) printf(format string, args ...any) {
	if l.room() == 0 {
		l.dropped++
		return
	}
	l.Write(fmt.Appendf(nil, format, args...))
}

// reset empties the log for the next request.
func (l *guestLog) reset() { l.buf, l.dropped = l.buf[:0], 0 }

// tail is the end of the log, for error messages: "" or " (guest log: …)".
func (l *guestLog) tail() string {
	s := strings.TrimSpace(string(l.buf))
	if len(s) > 500 {
		s = "…" + s[len(s)-500:]
	}
	if l.dropped > 0 {
		s += fmt.Sprintf(" [%d writes dropped: log full]", l.dropped)
	}
	if s == "" {
		return ""
	}
	return " (guest log: " + s + ")"
}
