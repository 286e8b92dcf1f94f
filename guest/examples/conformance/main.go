// Command conformance is the Go conformance guest of ABI v1: a policy guest whose every answer is fixed
// by its request's config, so that the host (and every guest SDK's conformance guest, which behave the
// same) can be tested action by action. Config bytes: byte 0 is the mode, a little-endian i32 X at offset
// 4 and Y at offset 8 (missing bytes read as 0). A "generated step" is a ctl_step that reports a sampled
// token: not the first (the prompt), not one with no tokens after a fork. Modes:
//
//	0 free       every step samples with no flags
//	1 mask       every step samples with a mask that allows only token X
//	2 bias       every step samples with one bias pair (X, +Inf)
//	3 splice     the first step splices [X, Y]; the next stops
//	4 fork       the first step forks into 2; each sequence's step with no tokens samples, its next stops
//	5 pick       every step samples with a custom pick of 4; ctl_pick chooses the last (worst) candidate
//	6 hide       generated step 1 samples with FlagHold, generated step 2 with FlagHide, later steps plain
//	7 backtrack  the first step splices [X]; the next takes X back and splices [Y]; the next stops
//
// Every sequence has its own state (a fork copies its parent's); an unknown mode fails ctl_open with
// ErrBadInput and a log line.
package main

func main() {}
