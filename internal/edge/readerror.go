package edge

import (
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/valyala/fasthttp"
)

// fasthttp's errors about a request it could not read quote the request: its first line, a header that
// does not parse, or the whole buffer (headers, Authorization included). Neither the client's answer nor
// the log repeats them: both get the class of the problem only (readProblem).

// requestError answers a request fasthttp could not read: too large, too slow or malformed.
func (s *Server) requestError(ctx *fasthttp.RequestCtx, err error) {
	writeError(ctx, s.readProblem(err))
	s.cors(ctx)
}

// readProblem is what went wrong reading a request, as an error to answer and to log: its status and
// class, never the request's bytes.
func (s *Server) readProblem(err error) *apiError {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small):
		return &apiError{Status: fasthttp.StatusRequestHeaderFieldsTooLarge, Type: typeInvalidRequest, Code: "request_headers_too_large",
			Message: fmt.Sprintf("request headers too large: the request line and headers exceed %d bytes", s.cfg.MaxHeaderBytes)}
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return &apiError{Status: fasthttp.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Code: "request_too_large",
			Message: fmt.Sprintf("request body exceeds %d bytes", s.cfg.MaxBodyBytes)}
	case errors.As(err, &ne) && ne.Timeout():
		return &apiError{Status: fasthttp.StatusRequestTimeout, Type: typeInvalidRequest, Message: "timed out reading the request"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "incomplete HTTP request: the connection ended inside it")
	case errors.As(err, &ne):
		return badRequest("", "connection error while reading the request")
	}
	return badRequest("", "malformed HTTP request")
}

// connErrorFormat is the format of fasthttp's message about a connection that ended in an error: its
// local and remote addresses and the error, which quotes the request.
const connErrorFormat = "error when serving connection %q<->%q: %v"

// quotesNoRequest are fasthttp's message formats whose arguments are no part of any request (addresses,
// counts, errors of accept).
var quotesNoRequest = map[string]bool{
	"Timeout error when accepting new connections: %v":                                                                          true,
	"Permanent error when accepting new connections: %v":                                                                        true,
	"The number of connections from %s exceeds MaxConnsPerIP=%d":                                                                true,
	"The incoming connection cannot be served, because %d concurrent connections are served. Try increasing Server.Concurrency": true,
}

// fasthttpLogger sends fasthttp's own messages to the server's logger without request contents: a
// connection's error by its class (readProblem), a message known to quote no request with its
// arguments, and any other by its format alone.
type fasthttpLogger struct{ s *Server }

// Printf logs one fasthttp message as a warning.
func (l fasthttpLogger) Printf(format string, args ...any) {
	log := l.s.log
	switch {
	case format == connErrorFormat && len(args) == 3:
		err, _ := args[2].(error)
		log.Warn("edge: fasthttp: a connection ended in an error", "local", fmt.Sprint(args[0]), "remote", fmt.Sprint(args[1]),
			"problem", l.s.readProblem(err).Message)
	case quotesNoRequest[format]:
		log.Warn("edge: fasthttp: " + fmt.Sprintf(format, args...))
	default:
		log.Warn("edge: fasthttp: "+format, "args", "withheld: they may quote the request")
	}
}
