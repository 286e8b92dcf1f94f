package edge

import (
	"bytes"
	"encoding/json"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// speculativeRequest is the object form of a request's "speculative" field: the drafting mode and the
// most tokens drafted per step.
type speculativeRequest struct {
	Mode      *string `json:"mode"`
	MaxTokens *int    `json:"max_tokens"`
}

// parseSpeculative reads wasmoe's "speculative" field: absent, null or true keeps the node's drafting
// (serve --spec), false turns it off, and an object {"mode": "off"|"ngram"|"draft"|"mtp", "max_tokens":
// 1 to engine.MaxSpecTokens} picks a mode, a length, or both. Speculation never changes the tokens.
func parseSpeculative(raw json.RawMessage) (engine.Speculation, *apiError) {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", "true":
		return engine.Speculation{}, nil
	case "false":
		return engine.Speculation{Mode: engine.SpecOff}, nil
	}
	var r speculativeRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return engine.Speculation{}, badRequest("speculative",
			`speculative must be a boolean or an object {"mode": "ngram", "max_tokens": 4}: %v`, err)
	}
	var sp engine.Speculation
	if r.Mode != nil {
		switch *r.Mode {
		case engine.SpecOff, engine.SpecNgram, engine.SpecDraft, engine.SpecMTP:
			sp.Mode = *r.Mode
		default:
			return sp, badRequest("speculative.mode", "speculative.mode must be %q, %q, %q or %q, got %q",
				engine.SpecOff, engine.SpecNgram, engine.SpecDraft, engine.SpecMTP, *r.Mode)
		}
	}
	if r.MaxTokens != nil {
		if *r.MaxTokens < 1 || *r.MaxTokens > engine.MaxSpecTokens {
			return sp, badRequest("speculative.max_tokens", "speculative.max_tokens must be from 1 to %d, got %d",
				engine.MaxSpecTokens, *r.MaxTokens)
		}
		sp.MaxTokens = *r.MaxTokens
	}
	return sp, nil
}
