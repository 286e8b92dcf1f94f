package edge

import "github.com/valyala/fasthttp"

// endpointRequest is the body of a generating endpoint (chatRequest, completionRequest): the fields
// every such endpoint shares, and the endpoint's own.
type endpointRequest interface {
	// common returns the shared fields.
	common() *commonRequest
	// check validates the endpoint's own fields that come before the plugin loads; it may choose the
	// generation's plugin (chat's response_format does).
	check(g *generation) *apiError
}

// common returns the shared fields of the request that embeds r.
func (r *commonRequest) common() *commonRequest { return r }

// open takes a generating endpoint's request up to its prompt: it decodes the body into req, picks the model
// the request names, validates the shared fields (and max_tokens against the caller's tenant's limit),
// then the endpoint's own, and loads the plugin the request asks for, among the tenant's own.
func (s *Server) open(ctx *fasthttp.RequestCtx, req endpointRequest) (*served, *generation, *apiError) {
	if e := decodeJSON(ctx.PostBody(), req); e != nil {
		return nil, nil, e
	}
	c := req.common()
	sv, e := s.model(c.Model)
	if e != nil {
		return nil, nil, e
	}
	gen, e := c.validate(s.cfg.DefaultMaxTokens, sv.info.VocabSize)
	if e == nil {
		e = capMaxTokens(tenantOf(ctx), c, gen)
	}
	if e == nil {
		e = req.check(gen)
	}
	if e == nil {
		e = s.resolvePlugin(ctx, sv, gen)
	}
	if e != nil {
		return nil, nil, e
	}
	return sv, gen, nil
}

// serveJob answers a request to a generating endpoint: build turns the request into a job, which then
// runs; an error from build is the response. A draining server answers 503, and a tenant over its limits
// 429 before any work.
func (s *Server) serveJob(ctx *fasthttp.RequestCtx, build func(*fasthttp.RequestCtx) (*job, *apiError)) {
	if s.drained.Load() {
		writeError(ctx, errDraining)
		return
	}
	if t := tenantOf(ctx); t != nil {
		if e, wait := s.quotas.precheck(t); e != nil {
			writeLimited(ctx, e, wait)
			return
		}
	}
	j, e := build(ctx)
	if e != nil {
		writeError(ctx, e)
		return
	}
	s.respond(ctx, j)
}

// tokenize turns a prompt's text into tokens; param names the request field the text comes from.
func (s *Server) tokenize(sv *served, text string, addBOS bool, param string) ([]int32, *apiError) {
	prompt, err := sv.Tokenize(s.base, text, addBOS, true)
	if err != nil {
		return nil, s.engineError(err, param)
	}
	return prompt, nil
}
