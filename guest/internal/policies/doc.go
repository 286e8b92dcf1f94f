// Package policies is the logic of the built-in policy guest (guest/policy), a plain Go library so that it
// runs and is tested natively: a sdk.Policy configured per request by a JSON object (the config import):
//
//	{"json_schema": <schema>}  the answer is JSON text valid against the schema (guest/constraint)
//	{"regex": "<RE2>"}         the whole answer matches the regular expression (guest/constraint)
//	{"grammar": "<GBNF>"}      the whole answer is a word of the llama.cpp GBNF grammar (guest/constraint)
//	{"stop": ["…", …]}         end when the text contains a stop string, which never reaches the client
//	{"ban": ["…", …]}          the text never contains a banned word (bytes, case-sensitive)
//	{"think_budget": N}        close an R1-style thinking block after N thinking tokens
//	{"tool_calls": {…}}        the answer is tool calls in a model family's syntax (ToolCalls)
//
// Options combine; null is the same as a missing key; an unknown key, a wrong type, more than one of
// json_schema, regex, grammar and tool_calls, an empty stop string or banned word, or more than 64 stop
// strings / 1024 banned words / 256 bytes in one fail ctl_open with ErrBadInput and a log line that says
// why. An empty config means none.
//
// Constraint (json_schema, regex, grammar, tool_calls): each step masks every token the matcher cannot
// consume whole (a mask over the vocabulary from the vocab import, with a constraint.Trie built once per
// instance); control tokens are never allowed, except the end-of-generation tokens (eos, eot from
// model_info) while the matcher is Accepting, and, for tool_calls, the control tokens whose text occurs
// in its fixed texts (DeepSeek's <｜tool▁calls▁begin｜>), which it reads as that text; once it is Done only they are allowed (or the sequence stops when the model has
// none). Without think_budget the constraint applies from the first generated token. With think_budget it
// applies outside the thinking block: from the first generated token (which may also be <think>, the
// think_open token), and afresh after </think>, where tokens of whitespace only (up to 8 bytes of them)
// are allowed and skipped before it starts; inside the block only the end-of-generation tokens are
// masked, so that an answer always follows.
//
// Stop strings (OpenAI semantics: the client gets the text up to the first stop string, never the stop
// string itself): while the streamed text ends in a proper prefix of a stop string the step holds its
// tokens (FlagHold); a held prefix that does not complete is released intact. When a stop string
// completes, the text of the held and current tokens before it, P, is kept: the step hides those tokens
// and splices them back as P (ActSplice|FlagHide, taking them all back; the tokens wholly inside P as
// they were, the rest of P spelled greedily with normal and byte tokens), and the next step, which
// reports the splice, stops and streams it (ActStop). When P is empty the step just stops and hides the
// tokens (ActStop|FlagHide). P is lost when the vocabulary cannot spell it or the splice is over the
// limits (the step then stops and hides as for an empty P), and when the stop string completes at the
// host's last step for the length limit, which takes no splice; a splice the length limit cuts short
// streams part of P.
//
// Banned words: each step masks every token that would complete a banned word given the text so far (a
// token that contains the word, or that starts with the word's remainder after a suffix of the text), so
// no backtracking is ever needed. Together with a constraint that can be a dead end: a regex that allows
// "no" with "no" banned takes nothing after "n" but the rest of the banned word. Bans never backtrack, so
// there the step fails ("no token can follow (constraint and banned words leave none)"). The text that stop strings and banned words see is the streamed text:
// the bytes of every generated token except control tokens, thinking included.
//
// think_budget: thinking starts when the prompt ends inside a thinking block (its last <think> — the
// think_open token or the text — comes after its last </think>) or when a generated token completes
// <think>. Once N tokens have been generated inside the block without </think>, the step splices the
// tokens of "\n</think>\n\n" (the think_close token between newlines when model_info has one, else the
// whole text matched greedily against the vocabulary) and generation continues with the answer; if the
// model closes the block itself first, nothing is spliced. Thinking happens at most once per sequence.
package policies
