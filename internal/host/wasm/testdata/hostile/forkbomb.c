/*
 * forkbomb.c — a hostile policy: every ctl_step (including each new sequence's n = 0 step) forks into
 * max_forks sequences (model_info's limit; WASMOE_MAX_COUNT when it reads 0), so the request's sequences
 * multiply until the host's limit stops them.
 */
#define WASMOE_IMPLEMENTATION
#include "wasmoe.h"

static int32_t forks;

WASMOE_EXPORT("ctl_init") int32_t ctl_init(void) {
	wasmoe_model_info_t info;
	int32_t st = wasmoe_read_model_info(&info);
	if (st < 0) return st;
	forks = info.max_forks > 0 && info.max_forks < WASMOE_MAX_COUNT ? (int32_t)info.max_forks : WASMOE_MAX_COUNT;
	return WASMOE_OK;
}
WASMOE_EXPORT("ctl_open") int32_t ctl_open(int32_t seq, int32_t parent) { return (void)seq, (void)parent, WASMOE_OK; }
WASMOE_EXPORT("ctl_close") int32_t ctl_close(int32_t seq) { return (void)seq, WASMOE_OK; }

WASMOE_EXPORT("ctl_step") int64_t ctl_step(int32_t seq, const int32_t *ids, int32_t n) {
	(void)seq, (void)ids, (void)n;
	return wasmoe_action(WASMOE_ACT_FORK, 0, forks, 0);
}
