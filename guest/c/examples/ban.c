/*
 * ban.c — a policy that bans tokens: every step samples with a mask that allows every token except the
 * banned ones.
 *
 * Config (the request's plugin config bytes): the banned token ids as little-endian i32, 4 bytes each,
 * nothing else. An empty config bans nothing. A config whose length is not a multiple of 4, or that names
 * an id outside [0, n_logits), fails the request (ctl_open returns WASMOE_ERR_BAD_INPUT and logs why).
 *
 * The mask buffer, ceil(n_logits/32) u32 words, is registered once in ctl_init; ctl_open of a request
 * (parent -1) fills it from the config. Forks of the request share it, so sequences need no state.
 */
#define WASMOE_IMPLEMENTATION
#include "wasmoe.h"

static uint32_t *mask;   /* the registered mask buffer */
static int32_t n_logits; /* tokens the mask covers */
static int32_t banned;   /* ids the current request bans */

WASMOE_EXPORT("ctl_init") int32_t ctl_init(void) {
	wasmoe_model_info_t info;
	int32_t st = wasmoe_read_model_info(&info);
	if (st < 0) {
		wasmoe_log_int(WASMOE_LOG_ERROR, "ban: model_info failed: ", st);
		return st;
	}
	n_logits = (int32_t)info.n_logits;
	int32_t bytes = 4 * wasmoe_mask_words(n_logits);
	mask = (uint32_t *)wasmoe_alloc(bytes);
	if (!mask) return WASMOE_ERR_NO_MEMORY;
	st = wasmoe_buf_register(WASMOE_BUF_MASK, mask, bytes);
	if (st < 0) wasmoe_log_int(WASMOE_LOG_ERROR, "ban: buf_register failed: ", st);
	return st;
}

WASMOE_EXPORT("ctl_open") int32_t ctl_open(int32_t seq, int32_t parent) {
	(void)seq;
	if (parent != -1) return WASMOE_OK; /* a fork keeps the request's mask */
	int32_t n;
	uint8_t *cfg = wasmoe_fetch(wasmoe_config, &n);
	if (!cfg) {
		wasmoe_log_int(WASMOE_LOG_ERROR, "ban: config failed: ", n);
		return n;
	}
	int32_t st = WASMOE_OK;
	if (n % 4 != 0) {
		wasmoe_log_int(WASMOE_LOG_ERROR, "ban: config must be little-endian i32 token ids, got bytes: ", n);
		st = WASMOE_ERR_BAD_INPUT;
	}
	int32_t words = wasmoe_mask_words(n_logits);
	for (int32_t w = 0; w < words; w++) mask[w] = 0xffffffffu;
	if (n_logits % 32) mask[words - 1] = (1u << (n_logits % 32)) - 1; /* no bits past n_logits */
	banned = 0;
	for (int32_t i = 0; st == WASMOE_OK && i < n; i += 4) {
		int32_t id = wasmoe_le32(cfg, n, i);
		if (id < 0 || id >= n_logits) {
			wasmoe_log_int(WASMOE_LOG_ERROR, "ban: token id out of range: ", id);
			st = WASMOE_ERR_BAD_INPUT;
			break;
		}
		wasmoe_mask_ban(mask, id);
		banned++;
	}
	wasmoe_free(cfg);
	return st;
}

WASMOE_EXPORT("ctl_step") int64_t ctl_step(int32_t seq, const int32_t *ids, int32_t n) {
	(void)seq, (void)ids, (void)n;
	return wasmoe_action(WASMOE_ACT_SAMPLE, banned ? WASMOE_FLAG_MASK : 0, 0, 0);
}

WASMOE_EXPORT("ctl_close") int32_t ctl_close(int32_t seq) {
	(void)seq;
	return WASMOE_OK;
}
