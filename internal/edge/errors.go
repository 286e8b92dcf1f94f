package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/wasmoe/wasmoe/internal/host/engine"
)

// Error types, as OpenAI names them.
const (
	typeInvalidRequest = "invalid_request_error"
	typeServer         = "server_error"
	typePlugin         = "plugin_error" // the request's plugin failed: the tenant's code, not the server
)

const contentJSON = "application/json"

// apiError is an error as OpenAI reports it: a status and {"error":{"message","type","param","code"}}.
// Empty Param and Code are sent as null.
type apiError struct {
	Status  int
	Message string
	Type    string
	Param   string
	Code    string
}

func (e *apiError) Error() string { return e.Message }

// errInternal is what a panic or an unexpected engine error becomes; the details go to the log.
var errInternal = &apiError{Status: fasthttp.StatusInternalServerError, Type: typeServer, Message: "internal server error"}

// errClientClosed answers a request whose client closed the connection or stopped reading its stream:
// nginx's 499, written for the record: most likely no one reads it.
var errClientClosed = &apiError{Status: 499, Type: typeInvalidRequest, Code: "client_closed_request",
	Message: "the client closed the connection or stopped reading the response"}

// badRequest is a 400 about param ("" when no one parameter is at fault).
func badRequest(param, format string, args ...any) *apiError {
	return &apiError{Status: fasthttp.StatusBadRequest, Type: typeInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...)}
}

// promptTooLong is the 413 of a prompt that leaves no room in the context.
func promptTooLong(param string, tokens, context int) *apiError {
	return &apiError{Status: fasthttp.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Param: param, Code: "context_length_exceeded",
		Message: fmt.Sprintf("the prompt has %d tokens; this model's context is %d tokens", tokens, context)}
}

// engineError maps an error of Tokenize or Generate, logging those that become a 500.
func (s *Server) engineError(err error, param string) *apiError {
	if e := knownError(err, param); e != nil {
		return e
	}
	s.log.Error("edge: model error", "err", err)
	return errInternal
}

// knownError maps the errors that have their own status (context, overload, shutdown, timeout); nil for
// any other.
func knownError(err error, param string) *apiError {
	switch {
	case errors.Is(err, engine.ErrPromptTooLong):
		return &apiError{Status: fasthttp.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Param: param,
			Code: "context_length_exceeded", Message: err.Error()}
	case errors.Is(err, engine.ErrBadSpeculation):
		return badRequest("speculative", "%s", err.Error())
	case errors.Is(err, engine.ErrOverloaded):
		return &apiError{Status: fasthttp.StatusServiceUnavailable, Type: typeServer, Code: "overloaded", Message: "the model is overloaded; retry later"}
	case errors.Is(err, engine.ErrClosed), errors.Is(err, errShutdown):
		return &apiError{Status: fasthttp.StatusServiceUnavailable, Type: typeServer, Code: "shutting_down", Message: "the server is shutting down"}
	case errors.Is(err, errTimeout), errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: fasthttp.StatusGatewayTimeout, Type: typeServer, Code: "timeout", Message: "the generation exceeded the request timeout"}
	}
	return nil
}

// appendError appends e's JSON body.
func appendError(b []byte, e *apiError) []byte {
	b = append(b, `{"error":{"message":`...)
	b = appendJSONString(b, e.Message)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"param":`...)
	b = appendNullString(b, e.Param)
	b = append(b, `,"code":`...)
	b = appendNullString(b, e.Code)
	return append(b, "}}"...)
}

// writeError makes e the whole response, replacing whatever was set before.
func writeError(ctx *fasthttp.RequestCtx, e *apiError) {
	ctx.Response.Reset()
	ctx.SetStatusCode(e.Status)
	ctx.SetContentType(contentJSON)
	if e.Status == fasthttp.StatusServiceUnavailable {
		ctx.Response.Header.Set("Retry-After", "1")
	}
	ctx.SetBody(appendError(nil, e))
}

// writeJSON makes v's JSON the response, with status.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(ctx, errInternal)
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType(contentJSON)
	ctx.SetBody(b)
}
