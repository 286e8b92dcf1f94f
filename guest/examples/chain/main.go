// Command chain is an example policy guest of ABI v1 that chains two models on one request: a first
// model "understands" the prompt (e.g. DeepSeek-V3, one of the server's extra models) and the request's
// own model "reasons" on from there (e.g. DeepSeek-R1).
//
// Config (JSON): {"first": "<model name>", "tokens": N, "open": "<think>\n"}. first names one of the
// server's extra models (engine.Config.Models); it must share the request's model's vocabulary. tokens is
// the most tokens the first model writes (default 256, or what fits in one splice). open, optional, is text spliced before them.
// Unknown fields are refused.
//
// Protocol:
//
//   - ctl_init reads the vocabulary and builds a greedy longest-match encoder over every token's bytes
//     (normal, control, user-defined and byte tokens; where two tokens have the same bytes, a normal one,
//     else the lowest id). open is encoded with it: the result spells open exactly but need not be the
//     tokenization the model's own tokenizer would give (that one is not reachable from a guest).
//   - ctl_open of a request reads and checks the config, encodes open, opens the first model and a
//     sequence on it, and probes the model with token 0 (then trims it off): a model whose seq_forward
//     does not answer model_info's n_logits has another vocabulary, and ctl_open fails with ErrBadInput and
//     a log line that says so (only the size can be checked: same-sized vocabularies must match by fiat). tokens plus the open tokens must fit in one splice (model_info max_splice).
//   - The request's first ctl_step reports the prompt. The policy runs the first model greedily on it on
//     its own sequence: argmax over the tokenizer's ids (below n_tokens, lowest id on a tie), one token at
//     a time, until it has tokens tokens or picks model_info's eos or eot (which is not kept). Should the
//     first model's sequence fill up (ErrLimit after the prompt), it stops there and says so in the log.
//     It frees that sequence and answers with one splice (taking nothing back) of the open tokens and
//     then the first model's tokens, hiding nothing: the client sees them streamed, as completion tokens.
//   - Every later step, and every step of a sequence forked after it, samples freely: the request's model
//     continues from the prompt, open and the first model's text under the request's own sampling.
//
// The first model runs inside that one ctl_step, so the plugin runtime's per-call deadline
// (--plugin-step-timeout) and CPU budget must allow N tokens of it: the defaults (100 ms, 10 s) suit
// tiny models only.
package main

func main() {}
