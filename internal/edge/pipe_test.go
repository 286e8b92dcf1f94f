package edge

import (
	"bufio"
	"io"
	"testing"
)

// TestHotPathAllocations checks that streaming a token allocates nothing: the stop check, the reasoning
// split and the chunk encoding all work in reused buffers.
func TestHotPathAllocations(t *testing.T) {
	j := &job{model: &served{}, gen: &generation{stop: []string{"STOP"}, includeUsage: true}, chat: true, opensThinking: true}
	sse := newSSEWriter(bufio.NewWriter(io.Discard), j, "chatcmpl-1", 1)
	p := newPipe(j, sse)
	pieces := []string{"reason", "ing", "</think>", "\n\n", "an \"answer\"", " with\nnewlines", " é€"}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if stopped, err := p.feed(0, pieces[i%len(pieces)], nil); stopped || err != nil {
			t.Fatal(stopped, err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("%v allocations per streamed token", allocs)
	}
}
