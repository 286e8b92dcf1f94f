// mtpref: llama.cpp's multi-token-prediction distributions for a deepseek2 GGUF with one nextn block, the
// reference of testdata/golden/deepseek2-v3-mtp-f32.json (TestMTPLlamaCppParity). It decodes TOKENS on a
// target context that exports h_nextn (the final hidden state after the output norm), then runs llama.cpp's
// own MTP graph (an LLAMA_CONTEXT_TYPE_MTP context, as common/speculative.cpp drives it) over rows
// (token i+1, h_nextn at i) for every i but the last, and prints {"tokens": [...], "ref": [steps]}: step i
// holds the token fed (i+1's) and the top 10 of softmax(MTP logits), in float64. F32 KV cache, no flash
// attention. Built against llama.cpp's tree (../shared/tools/llama-build; LLAMA = its source):
//
//   g++ -O1 -std=c++17 -I$LLAMA/include -I$LLAMA/ggml/include -I$LLAMA/src tools/goldens/mtpref/mtpref.cpp \
//     -L$LLAMA/build/bin -lllama -lggml -lggml-base -Wl,-rpath,$LLAMA/build/bin -o mtpref
//   wasmoe mkmodel --arch deepseek2 --style v3 --mtp 1 --vocab ggml-vocab-deepseek-coder.gguf --out m.gguf
//   ./mtpref m.gguf 1,520,31000,7,7,9999,42,17,3000,12,5,800,2
//
// The golden file adds the model's sha256 and the tolerance.
#include "llama.h"
#include "llama-ext.h"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// top prints step pos: the token fed and the k most likely tokens of softmax(l) with their probabilities.
static void top(const float *l, int V, int k, int pos, int token) {
    std::vector<int> idx(V);
    for (int i = 0; i < V; i++) idx[i] = i;
    double mx = -INFINITY;
    for (int i = 0; i < V; i++) mx = std::max(mx, (double)l[i]);
    double s = 0;
    for (int i = 0; i < V; i++) s += std::exp((double)l[i] - mx);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) { return l[a] > l[b]; });
    printf("%s{\"pos\":%d,\"token\":%d,\"top\":[", pos ? "," : "", pos, token);
    for (int j = 0; j < k; j++) printf("%s[%d,%.9g]", j ? "," : "", idx[j], std::exp((double)l[idx[j]] - mx) / s);
    printf("]}\n");
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: mtpref MODEL TOKENS\n"); return 2; }
    std::vector<llama_token> toks;
    for (char *p = strtok(argv[2], ","); p; p = strtok(nullptr, ",")) toks.push_back(atoi(p));
    int n = toks.size();
    llama_backend_init();
    auto mp = llama_model_default_params();
    mp.load_mtp = true;
    llama_model *m = llama_model_load_from_file(argv[1], mp);
    if (!m) return 1;
    int D = llama_model_n_embd(m);
    int V = llama_vocab_n_tokens(llama_model_get_vocab(m));
    auto cp = llama_context_default_params();
    cp.n_ctx = 64; cp.n_batch = 64; cp.n_ubatch = 64; cp.n_threads = 2; cp.n_threads_batch = 2;
    cp.type_k = GGML_TYPE_F32; cp.type_v = GGML_TYPE_F32; cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    llama_context *tgt = llama_init_from_model(m, cp);
    llama_set_embeddings_nextn(tgt, true, false);
    llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        b.token[i] = toks[i]; b.pos[i] = i; b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = 1;
    }
    b.n_tokens = n;
    if (llama_decode(tgt, b)) { fprintf(stderr, "target decode failed\n"); return 1; }
    std::vector<float> H((size_t)n * D);
    for (int i = 0; i < n; i++) memcpy(&H[(size_t)i * D], llama_get_embeddings_nextn_ith(tgt, i), D * 4);
    auto cp2 = cp;
    cp2.ctx_type = LLAMA_CONTEXT_TYPE_MTP;
    llama_context *dft = llama_init_from_model(m, cp2);
    if (!dft) { fprintf(stderr, "mtp context failed\n"); return 1; }
    llama_batch d = llama_batch_init(n - 1, D, 1);
    d.token = (llama_token *)malloc(sizeof(llama_token) * n);
    for (int i = 0; i + 1 < n; i++) {
        d.token[i] = toks[i + 1]; d.pos[i] = i + 1; d.n_seq_id[i] = 1; d.seq_id[i][0] = 0; d.logits[i] = 1;
        memcpy(d.embd + (size_t)i * D, &H[(size_t)i * D], D * 4);
    }
    d.n_tokens = n - 1;
    if (llama_decode(dft, d)) { fprintf(stderr, "mtp decode failed\n"); return 1; }
    printf("{\"tokens\":[");
    for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", toks[i]);
    printf("],\"ref\":[\n");
    for (int i = 0; i + 1 < n; i++) top(llama_get_logits_ith(dft, i), V, 10, i, toks[i + 1]);
    printf("]}\n");
    return 0;
}
