// legacy.c writes golden vectors for the legacy ggml block types Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL,
// computed by ggml itself, to stdout. internal/kernels/legacy_test.go reads them from internal/kernels/testdata/ggml_legacy.bin.gz.
// Build and run from the repository root:
//
//	gcc -O2 -o /tmp/ggmlvectors-legacy tools/ggmlvectors/legacy.c -I/root/.cache/llama-build/src/ggml/include -L/root/.cache/llama-build/src/build/bin -lggml-base -lggml-cpu -Wl,-rpath,/root/.cache/llama-build/src/build/bin -lm &&
//	/tmp/ggmlvectors-legacy | gzip -9n > internal/kernels/testdata/ggml_legacy.bin.gz
//
// Rows are drawn with a fixed seed from several distributions (Gaussian at many scales, uniform, zeros,
// subnormal and tiny values, huge values near FLT_MAX, exact rounding ties, constant rows, sparse rows,
// outliers, equal-magnitude extremes of both signs).
//
// Format (little-endian; floats as IEEE binary32 bits):
//
//	"GGMLLEG1"
//	u32 R, u32 NDEQ                     number of rows, of rows with dequantized floats
//	R × { u32 n; f32 x[n] }             input rows (n a multiple of 32)
//	for vec-dot type in (Q8_0, Q8_1):   u32 ggml type; R × bytes of row i quantized by
//	                                    ggml_get_type_traits_cpu(type)->from_float (n/32 blocks)
//	for type in (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL):
//	    u32 ggml type; R × { bytes of ggml_quantize_chunk(type, row i, imatrix NULL);
//	                         f32 to_float(those bytes)[n], only for the first NDEQ rows;
//	                         bytes of the activation row: input row (i+1)%R cut or zero-padded to n,
//	                         packed by the vec_dot type's from_float;
//	                         f32 vec_dot(n, weight bytes, activation bytes) }
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-cpu.h"
#include "ggml.h"

#define R 192
#define NDEQ 48 // rows whose dequantized floats are stored (4 of each distribution)
#define MAXN 128

static uint64_t state = 0x9e3779b97f4a7c15ull;

// next is splitmix64.
static uint64_t next(void) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(void) { return (double)(next() >> 11) / 9007199254740992.0; }

static double gauss(void) {
    double u = unif(), v = unif();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static void put32(uint32_t v) { fwrite(&v, 4, 1, stdout); }

// fill draws one row of n values from distribution kind.
static void fill(float *x, int n, int kind) {
    switch (kind) {
    case 0: // standard Gaussian
        for (int j = 0; j < n; j++) x[j] = (float)gauss();
        break;
    case 1: { // Gaussian at a random scale 1e-8 .. 1e8
        double s = pow(10, -8 + 16 * unif());
        for (int j = 0; j < n; j++) x[j] = (float)(gauss() * s);
        break;
    }
    case 2: // uniform [-1, 1), some rows all positive
        for (int j = 0; j < n; j++) x[j] = (float)(2 * unif() - 1);
        if (next() & 1)
            for (int j = 0; j < n; j++) x[j] = fabsf(x[j]) + 0.25f;
        break;
    case 3: // zeros, some negative zeros
        for (int j = 0; j < n; j++) x[j] = (next() & 3) ? 0.0f : -0.0f;
        break;
    case 4: { // subnormal and tiny: scale 1e-45 .. 1e-36
        double s = pow(10, -45 + 9 * unif());
        for (int j = 0; j < n; j++) x[j] = (float)(gauss() * s);
        break;
    }
    case 5: { // huge: scale 1e30 .. 3e38 (fp16 scales overflow; Q4_1/Q5_1 max-min may overflow)
        double s = pow(10, 30 + 8.4 * unif());
        for (int j = 0; j < n; j++) {
            double v = gauss() * s;
            if (v > 3.4e38) v = 3.4e38;
            if (v < -3.4e38) v = -3.4e38;
            x[j] = (float)v;
        }
        break;
    }
    case 6: { // exact ties: half-integers and integers scaled by a power of two, block amax pinned
        int m = (int)(next() % 4);
        static const float amax[4] = {8, 16, 127, 15};
        float sc = ldexpf(1, (int)(next() % 9) - 4);
        for (int j = 0; j < n; j++) {
            float v = (float)((int)(next() % (uint64_t)(2 * amax[m] + 1)) - (int)amax[m]);
            if (next() & 1) v += (v < 0 ? 0.5f : -0.5f);
            x[j] = v * sc;
        }
        for (int b = 0; b < n; b += 32) x[b + (int)(next() % 32)] = ((next() & 1) ? amax[m] : -amax[m]) * sc;
        break;
    }
    case 7: { // constant rows
        float v = (float)gauss();
        for (int j = 0; j < n; j++) x[j] = v;
        break;
    }
    case 8: // sparse
        for (int j = 0; j < n; j++) x[j] = (next() % 8 == 0) ? (float)gauss() : 0.0f;
        break;
    case 9: // Gaussian with an outlier per block
        for (int j = 0; j < n; j++) x[j] = (float)gauss();
        for (int b = 0; b < n; b += 32) x[b + (int)(next() % 32)] *= 100;
        break;
    case 10: // equal-magnitude extremes of both signs in each block
        for (int j = 0; j < n; j++) x[j] = (float)gauss();
        for (int b = 0; b < n; b += 32) {
            x[b + 3] = 5;
            x[b + 20] = -5;
            if (next() & 1) { x[b + 3] = -5; x[b + 20] = 5; }
        }
        break;
    default: // fp16-exact small values (multiples of 1/64 in [-4, 4])
        for (int j = 0; j < n; j++) x[j] = (float)((int)(next() % 513) - 256) / 64.0f;
        break;
    }
}

int main(void) {
    static float in[R][MAXN];
    static int ns[R];
    static const int lens[8] = {32, 32, 32, 32, 32, 32, 64, 128};
    ggml_cpu_init();

    for (int i = 0; i < R; i++) {
        ns[i] = lens[next() % 8];
        fill(in[i], ns[i], i % 12);
    }
    fwrite("GGMLLEG1", 1, 8, stdout);
    put32(R);
    put32(NDEQ);
    for (int i = 0; i < R; i++) {
        put32((uint32_t)ns[i]);
        fwrite(in[i], 4, (size_t)ns[i], stdout);
    }

    static uint8_t act[2][R][MAXN / 32 * 36];
    const enum ggml_type acts[2] = {GGML_TYPE_Q8_0, GGML_TYPE_Q8_1};
    for (int a = 0; a < 2; a++) {
        put32(acts[a]);
        const struct ggml_type_traits_cpu *tc = ggml_get_type_traits_cpu(acts[a]);
        for (int i = 0; i < R; i++) {
            tc->from_float(in[i], act[a][i], ns[i]);
            fwrite(act[a][i], 1, ggml_row_size(acts[a], ns[i]), stdout);
        }
    }

    const enum ggml_type types[5] = {GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_IQ4_NL};
    for (int t = 0; t < 5; t++) {
        const enum ggml_type ty = types[t];
        const struct ggml_type_traits *tr = ggml_get_type_traits(ty);
        const struct ggml_type_traits_cpu *tc = ggml_get_type_traits_cpu(ty);
        int a = tc->vec_dot_type == GGML_TYPE_Q8_0 ? 0 : 1;
        if (tc->vec_dot_type != acts[a]) {
            fprintf(stderr, "unexpected vec_dot_type %d for %s\n", tc->vec_dot_type, tr->type_name);
            return 1;
        }
        put32(ty);
        for (int i = 0; i < R; i++) {
            int n = ns[i];
            uint8_t q[MAXN / 32 * 24];
            float deq[MAXN];
            memset(q, 0, sizeof q);
            size_t sz = ggml_quantize_chunk(ty, in[i], q, 0, 1, n, NULL);
            if (sz != ggml_row_size(ty, n)) {
                fprintf(stderr, "%s: row size %zu\n", tr->type_name, sz);
                return 1;
            }
            tr->to_float(q, deq, n);
            // The activation row must have the weight row's length: use row i+1 truncated or zero-padded
            // to n by quantizing it again at length n.
            int k = (i + 1) % R;
            float xa[MAXN];
            memset(xa, 0, sizeof xa);
            memcpy(xa, in[k], sizeof(float) * (size_t)(ns[k] < n ? ns[k] : n));
            uint8_t qa[MAXN / 32 * 36];
            ggml_get_type_traits_cpu(acts[a])->from_float(xa, qa, n);
            float s = 0;
            tc->vec_dot(n, &s, 0, q, 0, qa, 0, 1);
            fwrite(q, 1, sz, stdout);
            if (i < NDEQ) fwrite(deq, 4, (size_t)n, stdout);
            fwrite(qa, 1, ggml_row_size(acts[a], n), stdout);
            fwrite(&s, 4, 1, stdout);
        }
    }
    return 0;
}
