/* trap.c — a hostile policy: ctl_step executes `unreachable` (a trap). */
#define WASMOE_IMPLEMENTATION
#include "wasmoe.h"

WASMOE_EXPORT("ctl_init") int32_t ctl_init(void) { return WASMOE_OK; }
WASMOE_EXPORT("ctl_open") int32_t ctl_open(int32_t seq, int32_t parent) { return (void)seq, (void)parent, WASMOE_OK; }
WASMOE_EXPORT("ctl_close") int32_t ctl_close(int32_t seq) { return (void)seq, WASMOE_OK; }

WASMOE_EXPORT("ctl_step") int64_t ctl_step(int32_t seq, const int32_t *ids, int32_t n) {
	(void)seq, (void)ids, (void)n;
	__builtin_trap();
}
