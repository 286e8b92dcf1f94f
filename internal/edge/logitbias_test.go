package edge

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// biasJSON is a logit_bias object of n entries: every id in [0, n) at -100, except favoured at +100.
func biasJSON(n int, favoured int32) string {
	var b strings.Builder
	b.WriteString(`{`)
	for id := range n {
		if id > 0 {
			b.WriteString(",")
		}
		v := -100
		if int32(id) == favoured {
			v = 100
		}
		fmt.Fprintf(&b, `"%d":%d`, id, v)
	}
	return b.String() + `}`
}

// TestLogitBiasLimit: through the real engine, a logit_bias of engine.MaxLogitBias (65536) entries is applied whole
// (the one token it favours, the last id, is every token generated), and one larger is a 400 about
// logit_bias.
func TestLogitBiasLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a model")
	}
	e := openEngine(t)
	s := newTestServer(e)
	ids, err := e.Tokenize(context.Background(), "hello", false, false)
	if err != nil || len(ids) != 1 {
		t.Fatalf("tokenize hello: %v %v", ids, err)
	}
	if ids[0] >= engine.MaxLogitBias {
		t.Fatalf("token %d of hello is past the largest bias map", ids[0])
	}
	c := post(s, "/v1/completions", `{"prompt":"The sky is","max_tokens":3,"ignore_eos":true,"logit_bias":`+
		biasJSON(engine.MaxLogitBias, ids[0])+`}`).completion(t)
	if got := *c.Choices[0].Text; got != "hellohellohello" {
		t.Errorf("%d biases favouring hello: %q", engine.MaxLogitBias, got)
	}
	for _, n := range []int{engine.MaxLogitBias + 1, 70000} {
		a := post(s, "/v1/completions", `{"prompt":"The sky is","max_tokens":3,"logit_bias":`+biasJSON(n, 0)+`}`).apiErr(t, 400)
		if a.Param == nil || *a.Param != "logit_bias" || !strings.Contains(a.Message, fmt.Sprint(engine.MaxLogitBias)) {
			t.Errorf("%d biases: %+v", n, a)
		}
	}
}
