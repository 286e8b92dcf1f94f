/*
 * conformance.c — the conformance policy guest (the same behaviour in every SDK).
 *
 * Config bytes: byte 0 = mode; little-endian i32 X at offset 4 and Y at offset 8 (missing bytes read as
 * 0). A "generated step" is a ctl_step whose ids report a sampled token (not the prompt, not n = 0 after
 * a fork).
 *
 *   0 free       every step samples with no flags
 *   1 mask       every step samples with only token X allowed
 *   2 bias       every step samples with the bias pair (X, +Inf)
 *   3 splice     the prompt step splices [X, Y]; the step reporting them stops
 *   4 fork       the prompt step forks into 2; each sequence samples once (n = 0 step), then stops
 *   5 pick       every step samples through ctl_pick among the 4 best, picking the last (worst)
 *   6 hide       generated step 1 holds its token, generated step 2 hides both, later steps sample
 *   7 backtrack  the prompt step splices [X]; the next takes X back and splices [Y]; the next stops
 *
 * State is per sequence id (a fork copies its parent's); ctl_close forgets it. An unknown mode makes
 * ctl_open return WASMOE_ERR_BAD_INPUT and log why.
 */
#define WASMOE_IMPLEMENTATION
#include "wasmoe.h"

enum { MODE_FREE, MODE_MASK, MODE_BIAS, MODE_SPLICE, MODE_FORK, MODE_PICK, MODE_HIDE, MODE_BACKTRACK, NUM_MODES };

#define PICK_K 4        /* candidates mode 5 asks for */
#define MAX_SEQS 1024   /* sequences open at once */

/* state is one sequence's. */
typedef struct {
	int32_t seq;       /* its id */
	int32_t mode, x, y;
	int32_t steps;     /* ctl_step calls so far */
	int32_t generated; /* generated steps so far */
	int32_t last_kind; /* kind of the last action, -1 before the first step */
} state;

static state states[MAX_SEQS]; /* the open sequences, states[0:nstates] */
static int32_t nstates;

static uint32_t *mask;       /* registered buffers */
static int32_t mask_words;
static int32_t mask_for = -1; /* the token the mask allows now, -1 before the first masked step */
static uint8_t *bias;
static int32_t *splice;

/* find returns seq's state, or 0 when it is not open. */
static state *find(int32_t seq) {
	for (int32_t i = 0; i < nstates; i++)
		if (states[i].seq == seq) return &states[i];
	return 0;
}

/* reg allocates and registers a buffer of a kind: its address, or 0 (logged). */
static void *reg(int32_t kind, int32_t bytes) {
	void *p = wasmoe_alloc(bytes);
	int32_t st = p ? wasmoe_buf_register(kind, p, bytes) : WASMOE_ERR_NO_MEMORY;
	if (st < 0) {
		wasmoe_log_int(WASMOE_LOG_ERROR, "conformance: buf_register failed: ", st);
		return 0;
	}
	return p;
}

WASMOE_EXPORT("ctl_init") int32_t ctl_init(void) {
	wasmoe_model_info_t info;
	int32_t st = wasmoe_read_model_info(&info);
	if (st < 0) {
		wasmoe_log_int(WASMOE_LOG_ERROR, "conformance: model_info failed: ", st);
		return st;
	}
	mask_words = wasmoe_mask_words((int32_t)info.n_logits);
	mask = (uint32_t *)reg(WASMOE_BUF_MASK, 4 * mask_words);
	bias = (uint8_t *)reg(WASMOE_BUF_BIAS, 8);    /* one (id, bias) pair */
	splice = (int32_t *)reg(WASMOE_BUF_SPLICE, 8); /* at most two tokens */
	void *cands = reg(WASMOE_BUF_CANDS, PICK_K * WASMOE_CANDIDATE_SIZE);
	return mask && bias && splice && cands ? WASMOE_OK : WASMOE_ERR_INTERNAL;
}

WASMOE_EXPORT("ctl_open") int32_t ctl_open(int32_t seq, int32_t parent) {
	if (find(seq)) {
		wasmoe_log_int(WASMOE_LOG_ERROR, "conformance: ctl_open: sequence already open: ", seq);
		return WASMOE_ERR_BAD_INPUT;
	}
	if (nstates == MAX_SEQS) {
		wasmoe_log(WASMOE_LOG_ERROR, "conformance: ctl_open: too many sequences");
		return WASMOE_ERR_LIMIT;
	}
	state s;
	if (parent != -1) {
		state *p = find(parent);
		if (!p) {
			wasmoe_log_int(WASMOE_LOG_ERROR, "conformance: ctl_open: unknown parent ", parent);
			return WASMOE_ERR_BAD_INPUT;
		}
		s = *p;
	} else {
		int32_t n;
		uint8_t *cfg = wasmoe_fetch(wasmoe_config, &n);
		if (!cfg) {
			wasmoe_log_int(WASMOE_LOG_ERROR, "conformance: config failed: ", n);
			return n;
		}
		s.mode = n > 0 ? cfg[0] : 0;
		s.x = wasmoe_le32(cfg, n, 4);
		s.y = wasmoe_le32(cfg, n, 8);
		wasmoe_free(cfg);
		if (s.mode >= NUM_MODES) {
			wasmoe_log_int(WASMOE_LOG_ERROR, "conformance: ctl_open: unknown mode (config byte 0; modes are 0 to 7): ",
			               s.mode);
			return WASMOE_ERR_BAD_INPUT;
		}
		s.steps = 0, s.generated = 0, s.last_kind = -1;
	}
	s.seq = seq;
	states[nstates++] = s;
	return WASMOE_OK;
}

/* decide is the action of s at its step number s->steps (generated: this step reports a sampled token). */
static int64_t decide(state *s, int generated) {
	switch (s->mode) {
	case MODE_MASK:
		if (mask_for != s->x) {
			for (int32_t w = 0; w < mask_words; w++) mask[w] = 0;
			if (s->x >= 0 && (s->x >> 5) < mask_words) wasmoe_mask_allow(mask, s->x);
			mask_for = s->x;
		}
		return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_MASK, 0, 0);
	case MODE_BIAS: {
		float inf = __builtin_inff();
		int32_t pair[2] = {s->x, 0};
		memcpy(&pair[1], &inf, 4);
		memcpy(bias, pair, 8);
		return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_BIAS, 1, 0);
	}
	case MODE_SPLICE:
		if (s->steps == 0) {
			splice[0] = s->x, splice[1] = s->y;
			return wasmoe_action(WASMOE_ACT_SPLICE, 0, 2, 0);
		}
		return wasmoe_action(WASMOE_ACT_STOP, 0, 0, 0);
	case MODE_FORK:
		if (s->steps == 0) return wasmoe_action(WASMOE_ACT_FORK, 0, 2, 0);
		if (s->steps == 1) return wasmoe_action(WASMOE_ACT_SAMPLE, 0, 0, 0);
		return wasmoe_action(WASMOE_ACT_STOP, 0, 0, 0);
	case MODE_PICK:
		return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_PICK, 0, PICK_K);
	case MODE_HIDE:
		if (generated && s->generated == 1) return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_HOLD, 0, 0);
		if (generated && s->generated == 2) return wasmoe_action(WASMOE_ACT_SAMPLE, WASMOE_FLAG_HIDE, 0, 0);
		return wasmoe_action(WASMOE_ACT_SAMPLE, 0, 0, 0);
	case MODE_BACKTRACK:
		if (s->steps == 0) {
			splice[0] = s->x;
			return wasmoe_action(WASMOE_ACT_SPLICE, 0, 1, 0);
		}
		if (s->steps == 1) {
			splice[0] = s->y;
			return wasmoe_action(WASMOE_ACT_SPLICE, 0, 1, 1);
		}
		return wasmoe_action(WASMOE_ACT_STOP, 0, 0, 0);
	}
	return wasmoe_action(WASMOE_ACT_SAMPLE, 0, 0, 0);
}

WASMOE_EXPORT("ctl_step") int64_t ctl_step(int32_t seq, const int32_t *ids, int32_t n) {
	(void)ids;
	state *s = find(seq);
	if (!s) {
		wasmoe_log_int(WASMOE_LOG_ERROR, "conformance: ctl_step: unknown sequence ", seq);
		return WASMOE_ERR_BAD_INPUT;
	}
	int generated = s->last_kind == WASMOE_ACT_SAMPLE && n > 0; /* ids report a sampled token */
	if (generated) s->generated++;
	int64_t a = decide(s, generated);
	s->steps++;
	s->last_kind = (int32_t)(a & 0xf);
	return a;
}

WASMOE_EXPORT("ctl_pick") int32_t ctl_pick(int32_t seq, int32_t k) {
	if (!find(seq)) {
		wasmoe_log_int(WASMOE_LOG_ERROR, "conformance: ctl_pick: unknown sequence ", seq);
		return WASMOE_ERR_BAD_INPUT;
	}
	if (k <= 0) {
		wasmoe_log(WASMOE_LOG_ERROR, "conformance: ctl_pick: no candidates");
		return WASMOE_ERR_BAD_INPUT;
	}
	return k - 1;
}

WASMOE_EXPORT("ctl_close") int32_t ctl_close(int32_t seq) {
	state *s = find(seq);
	if (s) *s = states[--nstates];
	return WASMOE_OK;
}
