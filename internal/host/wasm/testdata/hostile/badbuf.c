/*
 * badbuf.c — a hostile policy: ctl_step registers a bad buffer (logging buf_register's status), then
 * returns an action that needs it. No buffer is registered before, so the step fails whether the host
 * refuses the registration or accepts it and checks on use. Config byte 0 (no config: 0) chooses:
 *
 *   0  mask just past the end of memory                 4  unknown kinds 0 and 5, then FlagMask
 *   1  mask at 0xFFFFFF00, 512 bytes (ptr+len wraps)    5  candidates of 12 bytes, then FlagPick K = 4
 *   2  bias at 8 with length 0x7FFFFFF8, FlagBias 1     6  mask of 4 bytes, then FlagMask (too short
 *   3  splice straddling the end, unaligned, 1 token       when the model has more than 32 logits)
 *                                                       7  mask at 8 with length -4, then FlagMask
 */
#define WASMOE_IMPLEMENTATION
#include "wasmoe.h"

static int32_t mode;

static uint32_t mask_bytes; /* 4 * ceil(n_logits/32) */

WASMOE_EXPORT("ctl_init") int32_t ctl_init(void) {
	wasmoe_model_info_t info;
	int32_t st = wasmoe_read_model_info(&info);
	mask_bytes = 4 * (uint32_t)wasmoe_mask_words((int32_t)info.n_logits);
	return st;
}

WASMOE_EXPORT("ctl_open") int32_t ctl_open(int32_t seq, int32_t parent) {
	(void)seq;
	if (parent == -1) {
		int32_t len;
		uint8_t *cfg = wasmoe_fetch(wasmoe_config, &len);
		if (!cfg) return len;
		mode = len > 0 ? cfg[0] : 0;
		wasmoe_free(cfg);
	}
	return WASMOE_OK;
}

WASMOE_EXPORT("ctl_close") int32_t ctl_close(int32_t seq) { return (void)seq, WASMOE_OK; }

/* reg registers a buffer and logs the host's answer. */
static void reg(int32_t kind, uintptr_t ptr, uint32_t len) {
	wasmoe_log_int(WASMOE_LOG_INFO, "badbuf: buf_register: ", wasmoe_buf_register(kind, (void *)ptr, (int32_t)len));
}

WASMOE_EXPORT("ctl_step") int64_t ctl_step(int32_t seq, const int32_t *ids, int32_t n) {
	(void)seq, (void)ids, (void)n;
	uintptr_t end = __builtin_wasm_memory_size(0) * 65536;
	switch (mode) {
	case 1:
		reg(WASMOE_BUF_MASK, 0xFFFFFF00u, 512);
		return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_MASK, 0, 0);
	case 2:
		reg(WASMOE_BUF_BIAS, 8, 0x7FFFFFF8u);
		return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_BIAS, 1, 0);
	case 3:
		reg(WASMOE_BUF_SPLICE, end - 2, 4);
		return wasmoe_action(WASMOE_ACT_SPLICE, 0, 1, 0);
	case 4:
		reg(0, 8, 4);
		reg(5, 8, 4);
		return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_MASK, 0, 0);
	case 5:
		reg(WASMOE_BUF_CANDS, (uintptr_t)wasmoe_alloc(12), 12);
		return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_PICK, 0, 4);
	case 6:
		reg(WASMOE_BUF_MASK, (uintptr_t)wasmoe_alloc(4), 4);
		return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_MASK, 0, 0);
	case 7:
		reg(WASMOE_BUF_MASK, 8, 0xFFFFFFFCu);
		return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_MASK, 0, 0);
	}
	reg(WASMOE_BUF_MASK, end, mask_bytes);
	return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_MASK, 0, 0);
}

WASMOE_EXPORT("ctl_pick") int32_t ctl_pick(int32_t seq, int32_t k) { return (void)seq, k - 1; }
