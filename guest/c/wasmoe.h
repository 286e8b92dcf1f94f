/*
 * wasmoe.h — single-header C SDK for wasmoe plugin ABI v1 (guest/ABI-v1.md, guest/abi/v1.go).
 *
 * For clang --target=wasm32 with no libc:
 *
 *   clang --target=wasm32 -O2 -nostdlib -ffreestanding -I guest/c -Wl,--no-entry -o my.wasm my.c
 *
 * A policy guest is a reactor module. Exactly one of its C files defines WASMOE_IMPLEMENTATION before
 * including this header; that file then carries the marker export wasmoe_abi_v1, the allocator exports
 * wasmoe_alloc / wasmoe_free and memset / memcpy (which clang may call on its own). The guest itself
 * defines the policy exports with WASMOE_EXPORT:
 *
 *   #define WASMOE_IMPLEMENTATION
 *   #include "wasmoe.h"
 *   WASMOE_EXPORT("ctl_init")  int32_t ctl_init(void) { ... }
 *   WASMOE_EXPORT("ctl_open")  int32_t ctl_open(int32_t seq, int32_t parent) { ... }
 *   WASMOE_EXPORT("ctl_step")  int64_t ctl_step(int32_t seq, const int32_t *ids, int32_t n) { ... }
 *   WASMOE_EXPORT("ctl_pick")  int32_t ctl_pick(int32_t seq, int32_t k) { ... }   (optional)
 *   WASMOE_EXPORT("ctl_close") int32_t ctl_close(int32_t seq) { ... }
 *
 * All multi-byte values crossing the boundary are little-endian, which is wasm's own byte order.
 * guest/c/examples/ban.c is a complete policy in 80 lines.
 */
#ifndef WASMOE_H
#define WASMOE_H

#include <stddef.h>
#include <stdint.h>

/* WASMOE_EXPORT(name) exports the function that follows under name. */
#define WASMOE_EXPORT(name) __attribute__((export_name(name), visibility("default")))

/* WASMOE_IMPORT(name) declares a function of the host module wasmoe_v1. */
#define WASMOE_IMPORT(name) __attribute__((import_module("wasmoe_v1"), import_name(name)))

/* ABI version that model_info reports. */
#define WASMOE_ABI_VERSION 1

/* Status codes: >= 0 is success (a count, an id), negative is an error (guest/abi/abi.go, v1.go). */
#define WASMOE_OK 0
#define WASMOE_ERR_BAD_INPUT (-1) /* a blob or argument that cannot be decoded */
#define WASMOE_ERR_NOT_READY (-2) /* called before initialisation, or no kernels for this request */
#define WASMOE_ERR_INTERNAL (-3)  /* failed in some other way (details in the log) */
#define WASMOE_ERR_NO_MEMORY (-4) /* an allocation failed */
#define WASMOE_ERR_NO_TOKEN (-5)  /* every logit is -Inf or NaN */
#define WASMOE_ERR_NOT_FOUND (-6) /* no tensor, model or layer by that name or number */
#define WASMOE_ERR_LIMIT (-7)     /* a per-request limit (sequences, tokens, forks) would be exceeded */
#define WASMOE_ERR_HANDLE (-8)    /* a handle that is not open in this request */

/* Log levels of the log import. */
#define WASMOE_LOG_DEBUG 0
#define WASMOE_LOG_INFO 1
#define WASMOE_LOG_WARN 2
#define WASMOE_LOG_ERROR 3

/* Kinds of buffer for wasmoe_buf_register: guest memory the host reads (or writes) in place. */
#define WASMOE_BUF_MASK 1   /* u32 words, bit i%32 of word i/32 = token i allowed; wasmoe_mask_words */
#define WASMOE_BUF_BIAS 2   /* (i32 id, f32 bias) pairs */
#define WASMOE_BUF_SPLICE 3 /* i32 token ids */
#define WASMOE_BUF_CANDS 4  /* candidate records the host writes before ctl_pick */

/* Action kinds (bits 0–3 of a ctl_step answer). */
#define WASMOE_ACT_SAMPLE 0 /* sample the next token, with the flags' mask, bias and custom pick */
#define WASMOE_ACT_SPLICE 1 /* take back arg tokens, append count tokens from the splice buffer */
#define WASMOE_ACT_STOP 2   /* end this sequence */
#define WASMOE_ACT_FORK 3   /* become count sequences (ctl_open(child, seq) for each new one) */

/* Action flags (bits 4–15). */
#define WASMOE_FLAG_MASK (1 << 4) /* the mask buffer holds this step's allowed tokens */
#define WASMOE_FLAG_BIAS (1 << 5) /* count pairs of the bias buffer are added to the logits */
#define WASMOE_FLAG_PICK (1 << 6) /* ctl_pick chooses among the best arg candidates */
#define WASMOE_FLAG_HIDE (1 << 7) /* drop this step's reported tokens (and held ones) from the stream */
#define WASMOE_FLAG_HOLD (1 << 8) /* hold this step's reported tokens back until a later step decides */

/* Largest count and arg an action can carry, and the largest K for FLAG_PICK. */
#define WASMOE_MAX_COUNT ((1 << 24) - 1)
#define WASMOE_MAX_ARG ((1 << 16) - 1)
#define WASMOE_MAX_PICK_K 1024

/* Candidate record (12 bytes, best first) in the candidates buffer: i32 id, f32 logit, f32 logprob. */
#define WASMOE_CANDIDATE_SIZE 12

/* wasmoe_candidate is one record of the candidates buffer. */
typedef struct {
	int32_t id;      /* token id */
	float logit;     /* its logit after mask and bias */
	float logprob;   /* its log-probability over the whole vocabulary (temperature 1) */
} wasmoe_candidate;

/* Byte offsets of the fields of the ModelInfo record (48 bytes, 32-bit little-endian fields). */
#define WASMOE_MI_ABI_VERSION 0  /* u32: WASMOE_ABI_VERSION */
#define WASMOE_MI_N_LOGITS 4     /* u32: logits per step; the mask covers this many tokens */
#define WASMOE_MI_N_TOKENS 8     /* u32: tokens in the tokenizer (<= n_logits) */
#define WASMOE_MI_N_CTX 12       /* u32: tokens of context per sequence */
#define WASMOE_MI_BOS 16         /* i32: -1 when absent */
#define WASMOE_MI_EOS 20         /* i32: -1 when absent */
#define WASMOE_MI_EOT 24         /* i32: -1 when absent */
#define WASMOE_MI_THINK_OPEN 28  /* i32: id of "<think>", -1 when absent */
#define WASMOE_MI_THINK_CLOSE 32 /* i32: id of "</think>", -1 when absent */
#define WASMOE_MI_MAX_FORKS 36   /* u32: sequences a request may have at once */
#define WASMOE_MI_MAX_SPLICE 40  /* u32: tokens one splice may add */
#define WASMOE_MI_MAX_BIAS 44    /* u32: bias pairs one step may give */
#define WASMOE_MODEL_INFO_SIZE 48

/* wasmoe_model_info_t is the ModelInfo record as a struct (its fields in the offsets' order). */
typedef struct {
	uint32_t abi_version, n_logits, n_tokens, n_ctx;
	int32_t bos, eos, eot, think_open, think_close;
	uint32_t max_forks, max_splice, max_bias;
} wasmoe_model_info_t;

_Static_assert(sizeof(wasmoe_model_info_t) == WASMOE_MODEL_INFO_SIZE, "ModelInfo is 48 bytes");
_Static_assert(sizeof(wasmoe_candidate) == WASMOE_CANDIDATE_SIZE, "a candidate is 12 bytes");

/* TokenTable blob of the vocab import: "WTOK", u32 n, (n+1) u32 offsets, n u8 types, the bytes. */
#define WASMOE_TOKEN_TABLE_MAGIC "WTOK"

/*
 * Host imports (module wasmoe_v1). "len or error" results are the full length of the answer, written
 * only when it fits cap (call again with a bigger buffer; cap 0 asks for the length), or a negative
 * status. Pointers are guest addresses.
 */

/* log appends len bytes at ptr to the instance's bounded log at a WASMOE_LOG_* level. */
WASMOE_IMPORT("log") void wasmoe_log_bytes(int32_t level, const void *ptr, int32_t len);
/* model_info writes the 48-byte ModelInfo record: len or error. */
WASMOE_IMPORT("model_info") int32_t wasmoe_model_info(void *ptr, int32_t cap);
/* vocab writes the TokenTable blob: len or error. */
WASMOE_IMPORT("vocab") int32_t wasmoe_vocab(void *ptr, int32_t cap);
/* buf_register registers len bytes at ptr (4-byte aligned) as the buffer of a WASMOE_BUF_* kind. */
WASMOE_IMPORT("buf_register") int32_t wasmoe_buf_register(int32_t kind, void *ptr, int32_t len);
/* config writes the request's plugin config bytes: len or error. */
WASMOE_IMPORT("config") int32_t wasmoe_config(void *ptr, int32_t cap);
/* tensor returns a handle to a weight of the request's model by its GGUF name, or an error. */
WASMOE_IMPORT("tensor") int32_t wasmoe_tensor(const char *name, int32_t len);
/* tensor_info writes a weight's dtype, rows and cols as 3 u32 at out: status. */
WASMOE_IMPORT("tensor_info") int32_t wasmoe_tensor_info(int32_t handle, uint32_t *out);
/* matmul computes y[n][rows] = x[n][cols] · Wᵀ in f32: status. */
WASMOE_IMPORT("matmul") int32_t wasmoe_matmul(int32_t w, const float *x, int32_t n, float *y);
/* moe runs a MoE layer's experts on n tokens with the given routing (k per token) into y: status. */
WASMOE_IMPORT("moe")
int32_t wasmoe_moe(int32_t layer, const float *x, int32_t n, const int32_t *ids, const float *weights, int32_t k,
                   float *y);
/* moe_route writes the model's own routing of n tokens (ids and weights): k per token, or an error. */
WASMOE_IMPORT("moe_route")
int32_t wasmoe_moe_route(int32_t layer, const float *x, int32_t n, int32_t *ids, float *weights);
/* model returns a handle to a model by name ("" = the request's model), or an error. */
WASMOE_IMPORT("model") int32_t wasmoe_model(const char *name, int32_t len);
/* seq_new opens an empty sequence (its own KV cache) on a model: handle or error. */
WASMOE_IMPORT("seq_new") int32_t wasmoe_seq_new(int32_t model);
/* seq_forward appends n ids to seq and writes its last token's logits (cap floats): vocab or error. */
WASMOE_IMPORT("seq_forward")
int32_t wasmoe_seq_forward(int32_t seq, const int32_t *ids, int32_t n, float *logits, int32_t cap);
/* seq_trim drops seq's cached tokens past keep: status. */
WASMOE_IMPORT("seq_trim") int32_t wasmoe_seq_trim(int32_t seq, int32_t keep);
/* seq_len is the number of tokens in seq, or an error. */
WASMOE_IMPORT("seq_len") int32_t wasmoe_seq_len(int32_t seq);
/* seq_free releases seq: status. */
WASMOE_IMPORT("seq_free") int32_t wasmoe_seq_free(int32_t seq);
/* seq_forward_all appends n ids to seq in one forward and writes the logits after every one, n rows of
   vocab floats: n*vocab, or an error. When n*vocab exceeds cap nothing runs and seq is unchanged. */
WASMOE_IMPORT("seq_forward_all")
int32_t wasmoe_seq_forward_all(int32_t seq, const int32_t *ids, int32_t n, float *logits, int32_t cap);
/* gbnf_mask writes the mask of the streamed tokens a GBNF grammar takes after text, computed on the host
   (words u32 words, at least wasmoe_mask_words of n_tokens; those past are cleared): WASMOE_GBNF_* flags,
   or an error (-1: the grammar does not compile or refuses text; -2: the host offers no grammar masks). */
WASMOE_IMPORT("gbnf_mask")
int32_t wasmoe_gbnf_mask(const char *grammar, int32_t grammar_len, const uint8_t *text, int32_t text_len,
                         uint32_t *mask, int32_t words);
#define WASMOE_GBNF_ACCEPTING 1 /* gbnf_mask: the text is a whole word of the grammar */
#define WASMOE_GBNF_DONE 2      /* gbnf_mask: and no byte may follow it */
/* json_schema_mask is gbnf_mask for a JSON Schema (its JSON text), with the same flags and errors. */
WASMOE_IMPORT("json_schema_mask")
int32_t wasmoe_json_schema_mask(const char *schema, int32_t schema_len, const uint8_t *text, int32_t text_len,
                                uint32_t *mask, int32_t words);

/* wasmoe_alloc (export) returns a zeroed, 8-byte aligned buffer of size bytes, or 0 when out of memory. */
void *wasmoe_alloc(int32_t size);
/* wasmoe_free (export) releases a buffer from wasmoe_alloc (0 is ignored). */
void wasmoe_free(void *ptr);

/* wasmoe_action packs a ctl_step answer exactly as abi.PackAction does. */
static inline int64_t wasmoe_action(int32_t kind, int32_t flags, int32_t count, int32_t arg) {
	return (int64_t)(kind & 0xf) | (int64_t)(flags & 0xfff0) | (int64_t)(count & WASMOE_MAX_COUNT) << 16 |
	       (int64_t)(arg & WASMOE_MAX_ARG) << 40;
}

/* wasmoe_strlen is the length of a NUL-terminated string. */
static inline int32_t wasmoe_strlen(const char *s) {
	int32_t n = 0;
	while (s[n]) n++;
	return n;
}

/* wasmoe_log logs a NUL-terminated message at a WASMOE_LOG_* level. */
static inline void wasmoe_log(int32_t level, const char *msg) { wasmoe_log_bytes(level, msg, wasmoe_strlen(msg)); }

/* wasmoe_log_int logs msg followed by the decimal value v (a status, an id) at a level. */
static inline void wasmoe_log_int(int32_t level, const char *msg, int64_t v) {
	char buf[256];
	int32_t n = 0;
	while (msg[n] && n < 200) {
		buf[n] = msg[n];
		n++;
	}
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	char digits[20];
	int32_t d = 0;
	do {
		digits[d++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0) buf[n++] = '-';
	while (d) buf[n++] = digits[--d];
	wasmoe_log_bytes(level, buf, n);
}

/* wasmoe_mask_words is the number of u32 words of a mask over n_logits tokens: ceil(n_logits/32). */
static inline int32_t wasmoe_mask_words(int32_t n_logits) { return (n_logits + 31) / 32; }

/* wasmoe_mask_allow sets token id's bit in mask. */
static inline void wasmoe_mask_allow(uint32_t *mask, int32_t id) { mask[id >> 5] |= 1u << (id & 31); }

/* wasmoe_mask_ban clears token id's bit in mask. */
static inline void wasmoe_mask_ban(uint32_t *mask, int32_t id) { mask[id >> 5] &= ~(1u << (id & 31)); }

/* wasmoe_read_model_info reads the ModelInfo record into *info: WASMOE_OK or an error. */
static inline int32_t wasmoe_read_model_info(wasmoe_model_info_t *info) {
	int32_t n = wasmoe_model_info(info, WASMOE_MODEL_INFO_SIZE);
	if (n < 0) return n;
	return n == WASMOE_MODEL_INFO_SIZE ? WASMOE_OK : WASMOE_ERR_BAD_INPUT;
}

/*
 * wasmoe_fetch reads a whole variable-length answer of a (ptr, cap) -> len import (wasmoe_config,
 * wasmoe_vocab, wasmoe_model_info) into a buffer from wasmoe_alloc that the caller frees. It returns the
 * buffer (never 0 on success, even for an empty answer) and stores the length, or a negative status, in
 * *len; it returns 0 on failure.
 */
static inline uint8_t *wasmoe_fetch(int32_t (*fn)(void *, int32_t), int32_t *len) {
	for (;;) {
		int32_t n = fn(0, 0);
		if (n < 0) {
			*len = n;
			return 0;
		}
		uint8_t *p = (uint8_t *)wasmoe_alloc(n > 0 ? n : 1);
		if (!p) {
			*len = WASMOE_ERR_NO_MEMORY;
			return 0;
		}
		int32_t m = fn(p, n);
		if (m >= 0 && m <= n) {
			*len = m;
			return p;
		}
		wasmoe_free(p);
		if (m < 0) {
			*len = m;
			return 0;
		}
	}
}

/* wasmoe_le32 reads the little-endian i32 at offset off of b[0:n]; bytes past n read as 0. */
static inline int32_t wasmoe_le32(const uint8_t *b, int32_t n, int32_t off) {
	uint32_t v = 0;
	for (int32_t i = 3; i >= 0; i--) v = v << 8 | (off + i < n ? b[off + i] : 0);
	return (int32_t)v;
}

#ifdef WASMOE_IMPLEMENTATION

/* The marker export every v1 guest carries (never called). */
WASMOE_EXPORT("wasmoe_abi_v1") void wasmoe_abi_v1(void) {}

/*
 * memset and memcpy, which clang may emit calls to even in freestanding code. Their stores are volatile so
 * that the compiler never turns the loops back into calls to themselves.
 */
__attribute__((visibility("hidden"))) void *memset(void *dst, int c, size_t n) {
	volatile uint8_t *d = (volatile uint8_t *)dst;
	if (c == 0 && ((uintptr_t)d & 7) == 0) {
		for (; n >= 8; n -= 8, d += 8) *(volatile uint64_t *)d = 0;
	}
	while (n--) *d++ = (uint8_t)c;
	return dst;
}

/* memcpy copies n bytes from src to dst (non-overlapping). */
__attribute__((visibility("hidden"))) void *memcpy(void *dst, const void *src, size_t n) {
	volatile uint8_t *d = (volatile uint8_t *)dst;
	const uint8_t *s = (const uint8_t *)src;
	while (n--) *d++ = *s++;
	return dst;
}

/*
 * The allocator: a bump pointer over the heap (from the linker's __heap_base, growing memory as needed).
 * Each block has an 8-byte header holding its size. Freeing the newest block moves the pointer back;
 * freeing another puts it on a free list that later allocations reuse first-fit (without splitting).
 */
extern uint8_t __heap_base;

/* wasmoe__block is a block's header, right before the buffer wasmoe_alloc returns. */
typedef struct wasmoe__block {
	uint32_t size;              /* bytes after the header, a multiple of 8 */
	struct wasmoe__block *next; /* the next free block while on the free list */
} wasmoe__block;

_Static_assert(sizeof(wasmoe__block) == 8, "block headers keep buffers 8-byte aligned");

static uintptr_t wasmoe__top;           /* the first free byte of the heap, 0 before the first call */
static wasmoe__block *wasmoe__freelist; /* freed blocks below wasmoe__top */

WASMOE_EXPORT("wasmoe_alloc") void *wasmoe_alloc(int32_t size) {
	if (size < 0) return 0;
	uint32_t n = size == 0 ? 8 : ((uint32_t)size + 7) & ~7u;
	uint8_t *p = 0;
	for (wasmoe__block **b = &wasmoe__freelist; *b; b = &(*b)->next) {
		if ((*b)->size >= n) {
			p = (uint8_t *)(*b + 1);
			n = (*b)->size;
			*b = (*b)->next;
			break;
		}
	}
	if (!p) {
		if (!wasmoe__top) wasmoe__top = ((uintptr_t)&__heap_base + 7) & ~(uintptr_t)7;
		uint64_t end = (uint64_t)wasmoe__top + sizeof(wasmoe__block) + n;
		uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) << 16;
		if (end > have) {
			uint64_t pages = (end - have + 0xffff) >> 16;
			if (end > (uint64_t)1 << 32 || __builtin_wasm_memory_grow(0, (size_t)pages) == (size_t)-1) return 0;
		}
		wasmoe__block *b = (wasmoe__block *)wasmoe__top;
		b->size = n;
		p = (uint8_t *)(b + 1);
		wasmoe__top = (uintptr_t)end;
	}
	memset(p, 0, n);
	return p;
}

WASMOE_EXPORT("wasmoe_free") void wasmoe_free(void *ptr) {
	if (!ptr) return;
	wasmoe__block *b = (wasmoe__block *)ptr - 1;
	if ((uintptr_t)ptr + b->size == wasmoe__top) {
		wasmoe__top = (uintptr_t)b;
		return;
	}
	b->next = wasmoe__freelist;
	wasmoe__freelist = b;
}

#endif /* WASMOE_IMPLEMENTATION */
#endif /* WASMOE_H */
