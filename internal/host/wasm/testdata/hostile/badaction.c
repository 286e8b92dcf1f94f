/*
 * badaction.c — a hostile policy: ctl_step returns a garbage action, chosen by config byte 0 (no config:
 * 0). Its bias buffer holds 1 pair, its splice buffer 1 token (id 0), its candidates buffer 1 record.
 *
 *   0  unknown kind 9                      6  FlagPick with K = MaxArg (beyond MaxPickK)
 *   1  ActSample with unknown flag 1<<11   7  FlagPick with K = 0
 *   2  FlagBias with count MaxCount        8  an error below the i32 range (INT64_MIN)
 *   3  ActSplice with count MaxCount       9  ActSplice of 1 token taking back MaxArg tokens
 *   4  ActFork with count MaxCount        10  FlagPick K = 1, then ctl_pick returns k (out of range)
 *   5  ActFork with count 0               11  INT64_MAX (kind 15, every flag, count and arg all ones)
 */
#define WASMOE_IMPLEMENTATION
#include "wasmoe.h"

static int32_t mode;

WASMOE_EXPORT("ctl_init") int32_t ctl_init(void) {
	int32_t st = wasmoe_buf_register(WASMOE_BUF_BIAS, wasmoe_alloc(8), 8);
	if (st == WASMOE_OK) st = wasmoe_buf_register(WASMOE_BUF_SPLICE, wasmoe_alloc(4), 4);
	if (st == WASMOE_OK) st = wasmoe_buf_register(WASMOE_BUF_CANDS, wasmoe_alloc(12), 12);
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

WASMOE_EXPORT("ctl_step") int64_t ctl_step(int32_t seq, const int32_t *ids, int32_t n) {
	(void)seq, (void)ids, (void)n;
	switch (mode) {
	case 1: return wasmoe_action(WASMOE_ACT_SAMPLE, 1 << 11, 0, 0);
	case 2: return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_BIAS, WASMOE_MAX_COUNT, 0);
	case 3: return wasmoe_action(WASMOE_ACT_SPLICE, 0, WASMOE_MAX_COUNT, 0);
	case 4: return wasmoe_action(WASMOE_ACT_FORK, 0, WASMOE_MAX_COUNT, 0);
	case 5: return wasmoe_action(WASMOE_ACT_FORK, 0, 0, 0);
	case 6: return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_PICK, 0, WASMOE_MAX_ARG);
	case 7: return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_PICK, 0, 0);
	case 8: return INT64_MIN;
	case 9: return wasmoe_action(WASMOE_ACT_SPLICE, 0, 1, WASMOE_MAX_ARG);
	case 10: return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_PICK, 0, 1);
	case 11: return INT64_MAX;
	}
	return wasmoe_action(9, 0, 0, 0);
}

WASMOE_EXPORT("ctl_pick") int32_t ctl_pick(int32_t seq, int32_t k) { return (void)seq, k; }
