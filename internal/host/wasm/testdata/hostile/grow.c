/*
 * grow.c — a hostile policy: ctl_step grows its memory (16 MiB at a time, then smaller steps down to one
 * 64 KiB page), writing to every new 4 KiB page, until memory.grow fails at the host's cap; then it writes
 * just past the end of its memory, which traps.
 */
#define WASMOE_IMPLEMENTATION
#include "wasmoe.h"

WASMOE_EXPORT("ctl_init") int32_t ctl_init(void) { return WASMOE_OK; }
WASMOE_EXPORT("ctl_open") int32_t ctl_open(int32_t seq, int32_t parent) { return (void)seq, (void)parent, WASMOE_OK; }
WASMOE_EXPORT("ctl_close") int32_t ctl_close(int32_t seq) { return (void)seq, WASMOE_OK; }

WASMOE_EXPORT("ctl_step") int64_t ctl_step(int32_t seq, const int32_t *ids, int32_t n) {
	(void)seq, (void)ids, (void)n;
	for (size_t pages = 256; pages > 0;) {
		size_t old = __builtin_wasm_memory_grow(0, pages);
		if (old == (size_t)-1) {
			pages /= 2;
			continue;
		}
		for (size_t off = 0; off < pages * 65536; off += 4096) *(volatile uint8_t *)(old * 65536 + off) = 1;
	}
	size_t end = __builtin_wasm_memory_size(0) * 65536;
	*(volatile uint8_t *)end = 1; /* out of bounds */
	return wasmoe_action(WASMOE_ACT_SAMPLE, 0, 0, 0);
}
