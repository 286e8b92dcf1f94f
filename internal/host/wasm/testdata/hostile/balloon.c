/*
 * balloon.c — a hostile policy that inflates its memory: each ctl_step grows it by config byte 0 × 16 MiB
 * (no config, or 0: 28 × 16 = 448 MiB) in one memory.grow and writes to every new 4 KiB page; then, when
 * config byte 1 is not 0, it spins until a deadline stops it, else it returns a plain sample. A grow that
 * the host refuses is skipped.
 */
#define WASMOE_IMPLEMENTATION
#include "wasmoe.h"

static size_t chunks = 28;
static int32_t spin;
static volatile uint32_t spins; /* volatile: the loop has an effect, so the compiler keeps it */

WASMOE_EXPORT("ctl_init") int32_t ctl_init(void) { return WASMOE_OK; }

WASMOE_EXPORT("ctl_open") int32_t ctl_open(int32_t seq, int32_t parent) {
	(void)seq;
	if (parent == -1) {
		int32_t len;
		uint8_t *cfg = wasmoe_fetch(wasmoe_config, &len);
		if (!cfg) return len;
		chunks = len > 0 && cfg[0] > 0 ? cfg[0] : 28;
		spin = len > 1 ? cfg[1] : 0;
		wasmoe_free(cfg);
	}
	return WASMOE_OK;
}

WASMOE_EXPORT("ctl_close") int32_t ctl_close(int32_t seq) { return (void)seq, WASMOE_OK; }

WASMOE_EXPORT("ctl_step") int64_t ctl_step(int32_t seq, const int32_t *ids, int32_t n) {
	(void)seq, (void)ids, (void)n;
	size_t pages = chunks * 256;
	size_t old = __builtin_wasm_memory_grow(0, pages);
	if (old != (size_t)-1) {
		for (size_t off = 0; off < pages * 65536; off += 4096) *(volatile uint8_t *)(old * 65536 + off) = 1;
	}
	if (spin) {
		for (;;) spins++;
	}
	return wasmoe_action(WASMOE_ACT_SAMPLE, 0, 0, 0);
}
