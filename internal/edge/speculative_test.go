package edge

import (
	"context"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// draftingModel is a fakeModel whose generations report speculative drafts, and which keeps the last
// request's Speculation.
type draftingModel struct {
	*cacheModel
	last engine.Speculation
}

// Generate records the request's Speculation and reports 7 drafted tokens, 5 of them kept.
func (d *draftingModel) Generate(ctx context.Context, req engine.Request, emit func(engine.Piece) error) (engine.Result, error) {
	d.mu.Lock()
	d.last = req.Speculation
	d.mu.Unlock()
	res, err := d.cacheModel.Generate(ctx, req, emit)
	res.DraftTokens, res.AcceptedDraftTokens = 7, 5
	return res, err
}

// TestSpeculativeField: the "speculative" field reaches the engine as its Speculation (false turns it
// off, true and null keep the node's), bad values get a 400 naming the field, and the usage reports the
// drafted tokens kept and thrown away under OpenAI's completion_tokens_details names, streamed or not.
func TestSpeculativeField(t *testing.T) {
	m := &draftingModel{cacheModel: &cacheModel{fakeModel: &fakeModel{pieces: []string{"a", "b"}, finish: engine.FinishStop}}}
	_, url := startServer(t, DefaultConfig(), m)
	for _, c := range []struct {
		field string
		want  engine.Speculation
	}{
		{`false`, engine.Speculation{Mode: engine.SpecOff}},
		{`true`, engine.Speculation{}},
		{`null`, engine.Speculation{}},
		{`{"mode":"ngram","max_tokens":4}`, engine.Speculation{Mode: engine.SpecNgram, MaxTokens: 4}},
		{`{"max_tokens":16}`, engine.Speculation{MaxTokens: 16}},
		{`{"mode":"draft"}`, engine.Speculation{Mode: engine.SpecDraft}},
	} {
		status, _, body := request(t, "POST", url+"/v1/completions", `{"prompt":[1,2],"speculative":`+c.field+`}`)
		m.mu.Lock()
		got := m.last
		m.mu.Unlock()
		if status != 200 || got != c.want {
			t.Fatalf("speculative %s: %d %s, engine got %+v, want %+v", c.field, status, body, got, c.want)
		}
		if !strings.Contains(body, `"completion_tokens_details":{"accepted_prediction_tokens":5,"rejected_prediction_tokens":2}`) {
			t.Fatalf("usage without the drafted tokens: %s", body)
		}
	}
	_, _, body := request(t, "POST", url+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"stream":true,`+
		`"stream_options":{"include_usage":true}}`)
	if !strings.Contains(body, `"accepted_prediction_tokens":5,"rejected_prediction_tokens":2}`) {
		t.Fatalf("streamed usage without the drafted tokens: %s", body)
	}
	for _, c := range []struct{ field, param string }{
		{`"ngram"`, "speculative"}, {`1`, "speculative"}, {`{"mode":"lookahead"}`, "speculative.mode"},
		{`{"mode":"ngram","max_tokens":0}`, "speculative.max_tokens"}, {`{"max_tokens":17}`, "speculative.max_tokens"},
		{`{"mode":"ngram","k":3}`, "speculative"},
	} {
		status, _, body := request(t, "POST", url+"/v1/completions", `{"prompt":[1,2],"speculative":`+c.field+`}`)
		if status != 400 || !strings.Contains(body, `"param":"`+c.param+`"`) {
			t.Fatalf("speculative %s: %d %s, want 400 naming %s", c.field, status, body, c.param)
		}
	}
}

// TestSpeculativeMetrics: the engine's speculative counters are on /metrics under vLLM's spec_decode_*
// names, read at each scrape.
func TestSpeculativeMetrics(t *testing.T) {
	m := &cacheModel{fakeModel: &fakeModel{pieces: []string{"a"}}}
	m.setStats(engine.Stats{KVBlockTokens: 16, SpecDrafts: 3, SpecDraftTokens: 11, SpecAcceptedTokens: 8})
	_, url := startServer(t, DefaultConfig(), m)
	f := scrape(t, url)
	for name, want := range map[string]float64{"wasmoe:spec_decode_num_drafts_total": 3,
		"wasmoe:spec_decode_num_draft_tokens_total": 11, "wasmoe:spec_decode_num_accepted_tokens_total": 8} {
		if got := counter(t, f, name, "model_name", "fake"); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}
