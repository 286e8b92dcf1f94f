// Command speculative is an example policy guest of ABI v1 that runs greedy draft → verify speculative
// decoding through the host kernels: each step a draft model guesses k tokens ahead on a sequence of its
// own, the request's model checks them on another, and the longest prefix the request's model agrees with,
// plus its own next token, is spliced into the request's sequence without sampling.
//
// Config (JSON): {"draft": "<model name>", "k": 4}. draft names one of the server's extra models
// (engine.Config.Models); it must share the request's model's tokenizer. k is the tokens drafted per step
// (default 4, at most 64).
//
// The result is the request's model's greedy output token for token: every spliced token is the argmax of
// the request's model given everything before it. Where that argmax is an end-of-generation or other
// control token, the policy lets the host sample instead (greedy sampling picks the same token and applies
// the request's stop rules). Verification is one seq_forward_all over the request's last token and the k
// drafts, which returns the logits at every position: the request's model runs once a step, however many
// drafts it accepts, instead of once a token. When a sequence of its own runs out of room (ErrLimit), the
// policy falls back to sampling.
package main

func main() {}
