package engine

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// Generate runs one request: prefill the prompt, then sample, detokenize and emit one token at a time until
// an end-of-generation token, MaxTokens, the context limit, a cancelled ctx, or an error from emit.
func (e *Engine) Generate(ctx context.Context, req Request, emit func(Piece) error) (Result, error) {
	res := Result{PromptTokens: len(req.Prompt)}
	if len(req.Prompt) == 0 {
		return res, fmt.Errorf("engine: empty prompt")
	}
	if len(req.Prompt) >= e.context {
		return res, fmt.Errorf("%w: %d prompt tokens, context is %d", ErrPromptTooLong, len(req.Prompt), e.context)
	}
	for _, t := range req.Prompt {
		if t < 0 || int(t) >= e.model.Vocab {
			return res, fmt.Errorf("engine: prompt token id %d out of range [0, %d)", t, e.model.Vocab)
		}
	}
	select {
	case e.waiting <- struct{}{}:
	default:
		return res, ErrOverloaded
	}
	defer func() { <-e.waiting }()
	select { // wait for the model
	case <-e.done:
		return res, ErrClosed
	default:
	}
	select {
	case e.running <- struct{}{}:
	case <-e.done:
		return res, ErrClosed
	case <-ctx.Done():
		return res, ctx.Err()
	}
	select { // Close may have won the race for the model
	case <-e.done:
		<-e.running
		return res, ErrClosed
	default:
	}
	defer func() { <-e.running }()

	smp, err := e.smp.Acquire(ctx, samplerParams(req.Sampling))
	if err != nil {
		return res, err
	}
	defer smp.Release()
	if err := smp.Accept(req.Prompt...); err != nil {
		return res, err
	}
	s := e.state
	s.Reset()
	logits, err := e.model.Forward(e.pool, s, req.Prompt, false)
	if err != nil {
		return res, err
	}
	var pending []byte // bytes of a UTF-8 character split across tokens
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		tok, err := smp.Sample(logits)
		if err != nil {
			return res, err
		}
		if e.eog[tok] && !req.IgnoreEOS {
			res.FinishReason = FinishStop
			break
		}
		res.CompletionTokens++
		if err := smp.Accept(tok); err != nil {
			return res, err
		}
		piece, err := e.tok.Piece(ctx, tok, false)
		if err != nil {
			return res, err
		}
		pending = append(pending, piece...)
		n := completeUTF8(pending)
		if err := emit(Piece{Token: tok, Text: string(pending[:n])}); err != nil {
			return res, err
		}
		pending = append(pending[:0], pending[n:]...)
		if res.CompletionTokens == req.MaxTokens || s.Pos+1 >= s.MaxPos() {
			res.FinishReason = FinishLength
			break
		}
		if logits, err = e.model.Forward(e.pool, s, []int32{tok}, false); err != nil {
			return res, err
		}
	}
	if len(pending) > 0 { // a character never completed: hand its bytes over as they are
		if err := emit(Piece{Token: -1, Text: string(pending)}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// completeUTF8 returns the length of the longest prefix of b that does not end inside a UTF-8 character.
// Invalid bytes count as complete: they will never become valid.
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}

func samplerParams(p SamplingParams) abi.SamplerParams {
	return abi.SamplerParams{
		Temperature: p.Temperature, TopK: int32(p.TopK), TopP: p.TopP, MinP: p.MinP,
		RepeatPenalty: p.RepeatPenalty, RepeatLastN: int32(p.RepeatLastN), PresencePenalty: p.PresencePenalty,
		FrequencyPenalty: p.FrequencyPenalty, LogitBias: p.LogitBias, Seed: p.Seed,
	}
}
