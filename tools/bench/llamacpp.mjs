// llama.cpp's side of the decode/prefill benchmark, through node-llama-cpp (the package llama-ref installs).
// Mirrors `wasmoe bench`: the same prompt token ids ((i*37+11) mod 30000), greedy decoding, EOS ignored, timed the same way.
//   node llamacpp.mjs MODEL.gguf PROMPT_TOKENS GEN_TOKENS THREADS
import { getLlama } from "node-llama-cpp";

const [model, promptN, genN, threads] = process.argv.slice(2);
const llama = await getLlama({ gpu: false, logLevel: "error" });
const m = await llama.loadModel({ modelPath: model });
const np = Number(promptN), ng = Number(genN);
const prompt = Array.from({ length: np }, (_, i) => (i * 37 + 11) % 30000);
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
