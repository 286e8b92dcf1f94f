package edge

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
)

// apiError is an error as OpenAI reports it: a status and a JSON body {"error": {...}}.
type apiError struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   any    `json:"param"`
	Code    any    `json:"code"`
}

func (e *apiError) Error() string { return e.Message }

func badRequest(param, msg string) *apiError {
	return &apiError{Status: 400, Message: msg, Type: "invalid_request_error", Param: nilIfEmpty(param)}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// writeError sends e as the whole response.
func writeError(ctx *fasthttp.RequestCtx, e *apiError) {
	ctx.Response.Reset()
	ctx.SetStatusCode(e.Status)
	ctx.SetContentType("application/json")
	if e.Status == fasthttp.StatusServiceUnavailable || e.Status == fasthttp.StatusTooManyRequests {
		ctx.Response.Header.Set("Retry-After", "1")
	}
	b, _ := json.Marshal(map[string]*apiError{"error": e})
	ctx.SetBody(b)
}
