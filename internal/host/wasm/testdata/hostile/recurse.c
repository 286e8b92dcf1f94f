/*
 * recurse.c — a hostile policy: ctl_step recurses without end. Each call goes through a volatile function
 * pointer and uses its callee's result, so the compiler can turn it into neither a loop nor a tail call;
 * the frames keep nothing in linear memory, so it is the engine's own call stack that overflows.
 */
#define WASMOE_IMPLEMENTATION
#include "wasmoe.h"

WASMOE_EXPORT("ctl_init") int32_t ctl_init(void) { return WASMOE_OK; }
WASMOE_EXPORT("ctl_open") int32_t ctl_open(int32_t seq, int32_t parent) { return (void)seq, (void)parent, WASMOE_OK; }
WASMOE_EXPORT("ctl_close") int32_t ctl_close(int32_t seq) { return (void)seq, WASMOE_OK; }

static int32_t deeper(int32_t depth);
static int32_t (*volatile next)(int32_t) = deeper;

/* deeper calls itself (through next) forever. */
static int32_t deeper(int32_t depth) { return next(depth + 1) * 3 + depth; }

WASMOE_EXPORT("ctl_step") int64_t ctl_step(int32_t seq, const int32_t *ids, int32_t n) {
	(void)ids;
	return wasmoe_action(WASMOE_ACT_SAMPLE, 0, 0, deeper(seq + n) & 1);
}
