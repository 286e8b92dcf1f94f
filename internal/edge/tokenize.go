package edge

import (
	"context"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// detokenizer is a Model that turns token ids back into text; *engine.Engine is one. /detokenize,
// /tokenize's pieces and echo of a prompt given as ids need it.
type detokenizer interface {
	Detokenize(ctx context.Context, ids []int32) (string, error)
}

var _ detokenizer = (*engine.Engine)(nil)

// errNoDetokenizer answers /detokenize (or /tokenize's with_pieces) for a model that cannot detokenize.
var errNoDetokenizer = &apiError{Status: fasthttp.StatusNotImplemented, Type: typeServer, Code: "not_implemented",
	Message: "this model cannot turn tokens back into text"}

// tokenizeRequest is the body of POST /tokenize, in llama-server's shape.
type tokenizeRequest struct {
	Model        string  `json:"model"`
	Content      *string `json:"content"`
	AddSpecial   bool    `json:"add_special"`   // prepend BOS when the model adds one; default false
	ParseSpecial *bool   `json:"parse_special"` // special tokens' text becomes their ids; default true
	WithPieces   bool    `json:"with_pieces"`   // answer {"id","piece"} objects instead of bare ids
}

// tokenPiece is a token of /tokenize's with_pieces answer: Piece is the token's text, or its bytes as an
// array of numbers when they are not valid UTF-8 (a part of a character), as llama-server answers.
type tokenPiece struct {
	ID    int32 `json:"id"`
	Piece any   `json:"piece"`
}

// tokenizeText answers POST /tokenize: {"tokens": [ids]}, or with with_pieces [{"id","piece"}].
func (s *Server) tokenizeText(ctx *fasthttp.RequestCtx) {
	var req tokenizeRequest
	if e := decodeJSON(ctx.PostBody(), &req); e != nil {
		writeError(ctx, e)
		return
	}
	sv, e := s.model(req.Model)
	if e != nil {
		writeError(ctx, e)
		return
	}
	if req.Content == nil {
		writeError(ctx, badRequest("content", "content is required: the text to tokenize"))
		return
	}
	parseSpecial := req.ParseSpecial == nil || *req.ParseSpecial
	ids, err := sv.Tokenize(s.base, *req.Content, req.AddSpecial && sv.info.AddBOS, parseSpecial)
	if err != nil {
		writeError(ctx, s.engineError(err, "content"))
		return
	}
	if !req.WithPieces {
		writeJSON(ctx, fasthttp.StatusOK, struct {
			Tokens []int32 `json:"tokens"`
		}{append([]int32{}, ids...)})
		return
	}
	d, ok := sv.Model.(detokenizer)
	if !ok {
		writeError(ctx, errNoDetokenizer)
		return
	}
	pieces := make([]tokenPiece, len(ids))
	for i, id := range ids {
		text, err := d.Detokenize(s.base, []int32{id})
		if err != nil {
			writeError(ctx, s.engineError(err, "content"))
			return
		}
		pieces[i] = tokenPiece{ID: id, Piece: pieceJSON(text)}
	}
	writeJSON(ctx, fasthttp.StatusOK, struct {
		Tokens []tokenPiece `json:"tokens"`
	}{pieces})
}

// pieceJSON is a token's text as /tokenize shows it: the string when it is valid UTF-8, else its bytes.
func pieceJSON(text string) any {
	if utf8.ValidString(text) {
		return text
	}
	bytes := make([]int, len(text))
	for i := range len(text) {
		bytes[i] = int(text[i])
	}
	return bytes
}

// detokenizeRequest is the body of POST /detokenize, in llama-server's shape.
type detokenizeRequest struct {
	Model  string  `json:"model"`
	Tokens []int32 `json:"tokens"`
}

// detokenizeTokens answers POST /detokenize: {"content": the tokens' text}, special tokens included.
func (s *Server) detokenizeTokens(ctx *fasthttp.RequestCtx) {
	var req detokenizeRequest
	if e := decodeJSON(ctx.PostBody(), &req); e != nil {
		writeError(ctx, e)
		return
	}
	sv, e := s.model(req.Model)
	if e != nil {
		writeError(ctx, e)
		return
	}
	for i, id := range req.Tokens {
		if id < 0 || (sv.info.VocabSize > 0 && int(id) >= sv.info.VocabSize) {
			writeError(ctx, badRequest("tokens", "tokens[%d] = %d is not a token id in [0, %d)", i, id, sv.info.VocabSize))
			return
		}
	}
	d, ok := sv.Model.(detokenizer)
	if !ok {
		writeError(ctx, errNoDetokenizer)
		return
	}
	text := ""
	if len(req.Tokens) > 0 {
		var err error
		if text, err = d.Detokenize(s.base, req.Tokens); err != nil {
			writeError(ctx, s.engineError(err, "tokens"))
			return
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, struct {
		Content string `json:"content"`
	}{text})
}
