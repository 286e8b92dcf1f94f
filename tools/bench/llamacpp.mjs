// llama.cpp's side of the decode/prefill benchmark, through node-llama-cpp (the package llama-ref installs).
// Mirrors `wasmoe bench`: the same prompt token ids (benchPrompt below), greedy decoding, EOS ignored, timed
// the same way.
//   node llamacpp.mjs MODEL.gguf PROMPT_TOKENS GEN_TOKENS THREADS
import { getLlama, readGgufFileInfo } from "node-llama-cpp";

// benchPrompt is the rule of benchPrompt in tools/wasmoe/benchprompt.go: with normal the ids whose
// tokenizer.ggml.token_type is 1, in increasing order (every id when the file has no token types),
// prompt[i] = normal[(11 + 7919·i) mod len(normal)].
async function benchPrompt(path, n) {
  const info = await readGgufFileInfo(path, { readTensorInfo: false, ignoreKeys: ["tokenizer.ggml.merges"], logWarnings: false });
  const { tokens, token_type: types } = info.metadata.tokenizer.ggml;
  const normal = [];
  if (types) types.forEach((t, id) => { if (t === 1) normal.push(id); });
  else tokens.forEach((_, id) => normal.push(id));
  if (normal.length === 0) throw new Error(`${path}: no normal tokens (tokenizer.ggml.token_type = 1) to build the prompt from`);
  return Array.from({ length: n }, (_, i) => normal[(11 + 7919 * i) % normal.length]);
}

const [model, promptN, genN, threads] = process.argv.slice(2);
const np = Number(promptN), ng = Number(genN);
const prompt = await benchPrompt(model, np);
const llama = await getLlama({ gpu: false, logLevel: "error" });
const m = await llama.loadModel({ modelPath: model });
const ctx = await m.createContext({ contextSize: np + ng + 16, batchSize: Math.max(np, 512), threads: Number(threads),
  flashAttention: false });
const seq = ctx.getSequence();
const t0 = performance.now();
let first = 0, n = 0;
for await (const tok of seq.evaluate(prompt, { temperature: 0 })) {
  n++;
  if (n === 1) first = performance.now();
  if (n === ng) break;
}
const t1 = performance.now();
console.log(JSON.stringify({ engine: "llama.cpp", prompt_tokens: np, gen_tokens: n,
  prefill_tok_s: np / ((first - t0) / 1000), decode_tok_s: (n - 1) / ((t1 - first) / 1000),
  max_rss_mib: Math.floor(process.resourceUsage().maxRSS / 1024) }));
process.exit(0);
