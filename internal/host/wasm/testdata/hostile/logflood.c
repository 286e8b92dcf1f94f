/*
 * logflood.c — a hostile policy: every ctl_step calls log 2,097,152 times with a 64 KiB message each, then
 * samples normally. The host's log must stay bounded and the step must still finish.
 */
#define WASMOE_IMPLEMENTATION
#include "wasmoe.h"

#define MSG_LEN 65536
#define CALLS (1 << 21)

static uint8_t msg[MSG_LEN];

WASMOE_EXPORT("ctl_init") int32_t ctl_init(void) {
	for (int32_t i = 0; i < MSG_LEN; i++) msg[i] = (uint8_t)('a' + i % 26);
	return WASMOE_OK;
}
WASMOE_EXPORT("ctl_open") int32_t ctl_open(int32_t seq, int32_t parent) { return (void)seq, (void)parent, WASMOE_OK; }
WASMOE_EXPORT("ctl_close") int32_t ctl_close(int32_t seq) { return (void)seq, WASMOE_OK; }

WASMOE_EXPORT("ctl_step") int64_t ctl_step(int32_t seq, const int32_t *ids, int32_t n) {
	(void)seq, (void)ids, (void)n;
	for (int32_t i = 0; i < CALLS; i++) wasmoe_log_bytes(WASMOE_LOG_ERROR, msg, MSG_LEN);
	return wasmoe_action(WASMOE_ACT_SAMPLE, 0, 0, 0);
}
