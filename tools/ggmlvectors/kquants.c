/*
 * kquants writes golden vectors for the K-quant block types (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS) and
 * for Q8_K, their activation type, as ggml computes them. internal/kernels/kquant_golden_test.go reads the result.
 *
 * Build and run (from the repository root):
 *
 *   gcc -O2 -std=c11 -o /tmp/kquants tools/ggmlvectors/kquants.c \
 *       -I/root/.cache/llama-build/src/ggml/include \
 *       /root/.cache/llama-build/src/build/bin/libggml-base.so /root/.cache/llama-build/src/build/bin/libggml-cpu.so \
 *       -Wl,-rpath,/root/.cache/llama-build/src/build/bin
 *   /tmp/kquants | gzip -9n > internal/kernels/testdata/ggml_kquants.bin.gz
 *
 * The inputs are not stored: rows are drawn from splitmix64 with integer arithmetic and exact float
 * conversions and scalings, so the Go test regenerates the very same floats (genRow in the test mirrors
 * gen_row here), and the file records a hash of them to prove it.
 *
 * Output (little-endian, before gzip):
 *
 *   "KQGOLD01", u32 nrows, u32 ntypes, ntypes × u32 ggml type id
 *   per row: u32 n, u32 wkind, u32 akind, u64 wseed, u64 aseed, u64 fnv1a64(weight floats ‖ act floats),
 *            the activation row as Q8_K (ggml-cpu's from_float into a zeroed buffer, n/256 × 292 bytes),
 *            per type: the weight row quantized (ggml_quantize_chunk, imatrix NULL),
 *                      u64 fnv1a64 of to_float(those bytes) (ggml's dequantized floats, as bits),
 *                      f32 ggml-cpu's vec_dot(n, quantized weights, Q8_K activations), nrc 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-cpu.h"
#include "ggml.h"

#define NROWS 32
#define NKINDS 12

static uint64_t sm_state;

// sm_next is splitmix64.
static uint64_t sm_next(void) {
    uint64_t z = (sm_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int64_t u24(void) { return (int64_t)(sm_next() >> 40); }

// gauss is an Irwin-Hall(4) draw centred on 0, in (-2, 2), a multiple of 2^-24 rounded to float32.
static float gauss(void) {
    int64_t s = u24();
    s += u24();
    s += u24();
    s += u24();
    return (float)(s - (INT64_C(2) << 24)) * 0x1p-24f;
}

// pow2 is 2^e for -126 <= e <= 127, built from its bits.
static float pow2(int e) {
    uint32_t b = (uint32_t)(127 + e) << 23;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

// gen_row fills v[0..n) with distribution kind from seed.
static void gen_row(float * v, int n, int kind, uint64_t seed) {
    sm_state = seed;
    float scale = 1.0f;
    for (int i = 0; i < n; i++) {
        float g = gauss();
        switch (kind) {
        case 0: v[i] = g; break;                                                   // plain
        case 1: v[i] = g * 0x1p-6f; if (sm_next() % 64 == 0) v[i] *= 16.0f; break; // small, outliers
        case 2: v[i] = (float)(u24() - (INT64_C(1) << 23)) * 0x1p-13f; break;      // uniform ±1024
        case 3: v[i] = g * 0x1p-24f; break;                                        // tiny: fp16 scales underflow
        case 4: v[i] = g * 0x1p16f; break;                                         // huge
        case 5: v[i] = g < 0 ? g : -g; break;                                      // negative only
        case 6: v[i] = g + 3.0f; break;                                            // positive, offset
        case 7:                                                                    // zero blocks
            if (i % 16 == 0) scale = (i < 256 || sm_next() % 4 == 0) ? 0.0f : 1.0f;
            v[i] = g * scale;
            break;
        case 8:                                                                    // scale per 32
            if (i % 32 == 0) scale = pow2((int)(sm_next() % 17) - 8);
            v[i] = g * scale;
            break;
        case 9: v[i] = (float)((int)(sm_next() % 33) - 16) * 0.5f; break;          // ties
        case 10: v[i] = g * 0x1p24f; break;                                        // fp16 scales overflow
        case 11: v[i] = g * 0x1p-60f; break;                                       // below GROUP_MAX_EPS
        }
    }
}

static uint64_t fnv(uint64_t h, const void * p, size_t len) {
    const uint8_t * b = p;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define FNV0 0xcbf29ce484222325ULL

static void put(const void * p, size_t len) {
    if (fwrite(p, 1, len, stdout) != len) {
        perror("write");
        exit(1);
    }
}

static void put32(uint32_t v) { put(&v, 4); }
static void put64(uint64_t v) { put(&v, 8); }

int main(void) {
    static const enum ggml_type types[] = {
        GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K, GGML_TYPE_IQ4_XS,
    };
    const int ntypes = sizeof(types) / sizeof(types[0]);
    ggml_cpu_init();

    put("KQGOLD01", 8);
    put32(NROWS);
    put32(ntypes);
    for (int t = 0; t < ntypes; t++) put32(types[t]);

    float w[1024], a[1024], dq[1024];
    uint8_t q8[4 * 292], q[4 * 256];
    for (int r = 0; r < NROWS; r++) {
        int n = 256 * (1 + r % 4);
        int wkind = r % NKINDS, akind = (5 * r + 1) % NKINDS;
        uint64_t wseed = 1000 + 2 * (uint64_t)r, aseed = wseed + 1;
        gen_row(w, n, wkind, wseed);
        gen_row(a, n, akind, aseed);
        put32(n);
        put32(wkind);
        put32(akind);
        put64(wseed);
        put64(aseed);
        put64(fnv(fnv(FNV0, w, 4 * n), a, 4 * n));

        const struct ggml_type_traits_cpu * q8k = ggml_get_type_traits_cpu(GGML_TYPE_Q8_K);
        memset(q8, 0, sizeof(q8)); // an all-zero block leaves its bsums untouched
        q8k->from_float(a, q8, n);
        put(q8, ggml_row_size(GGML_TYPE_Q8_K, n));

        for (int t = 0; t < ntypes; t++) {
            const struct ggml_type_traits_cpu * cpu = ggml_get_type_traits_cpu(types[t]);
            if (cpu->vec_dot_type != GGML_TYPE_Q8_K) {
                fprintf(stderr, "%s: vec_dot_type is %s\n", ggml_type_name(types[t]), ggml_type_name(cpu->vec_dot_type));
                return 1;
            }
            size_t rs = ggml_row_size(types[t], n);
            memset(q, 0, sizeof(q));
            if (ggml_quantize_chunk(types[t], w, q, 0, 1, n, NULL) != rs) {
                fprintf(stderr, "%s: quantize_chunk size\n", ggml_type_name(types[t]));
                return 1;
            }
            put(q, rs);
            ggml_get_type_traits(types[t])->to_float(q, dq, n);
            put64(fnv(FNV0, dq, 4 * n));
            float s = 0;
            cpu->vec_dot(n, &s, 0, q, 0, q8, 0, 1);
            put(&s, 4);
        }
    }
    return 0;
}
