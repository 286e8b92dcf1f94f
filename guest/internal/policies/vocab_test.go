package policies

import (
	"bytes"
	"slices"
	"testing"
)

// TestContaining checks the byte-pair lookup of banned words against a scan of every token.
func TestContaining(t *testing.T) { checkContaining(t, banModel()) }

func checkContaining(t *testing.T, models ...*testModel) {
	for _, m := range models {
		p, err := New(m.info, m.table, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"a", "ba", "bad", "the", " the", "ing", "\n\n", "é", "日本", "zzqx", "{\""} {
			var got, want []int32
			p.v.containing([]byte(w), func(id int32) { got = append(got, id) })
			for id := range int32(m.info.NTokens) {
				if m.text(id) != nil && bytes.Contains(m.text(id), []byte(w)) {
					want = append(want, id)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%d tokens contain %q: found %d", len(want), w, len(got))
			}
		}
	}
}
