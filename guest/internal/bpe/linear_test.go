package bpe

import (
	"strings"
	"testing"
	"time"
)

// TestLongRuns encodes long runs of one kind of character, where a matcher that rescans the rest of a run
// at every position goes quadratic: 128 KiB of digits took minutes before numbers() bounded its scan.
func TestLongRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const n = 128 << 10
	runs := map[string]string{
		"digits":   strings.Repeat("7", n),
		"spaces":   strings.Repeat(" ", n) + "x",
		"newlines": strings.Repeat(" \n", n/2) + "x",
		"ideo":     strings.Repeat("\u3000", n/3) + "x",
		"cjk":      strings.Repeat("中", n/3),
		"controls": strings.Repeat("\x00", n),
		"marks":    strings.Repeat("\u0301", n/2),
		"puncts":   strings.Repeat("<-", n/2),
	}
	for _, name := range vocabNames {
		tok := loadTokenizer(t, name)
		for kind, s := range runs {
			start := time.Now()
			ids := tok.Encode(s, false, true)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("%s: %d bytes of %s took %v", name, len(s), kind, d)
			}
			if got := string(tok.Decode(ids, true)); got != s {
				t.Errorf("%s: %s does not round-trip", name, kind)
			}
		}
	}
}
