// The official openai npm client against a running `wasmoe serve`, as a user of the SDK calls it. Run by
// tools/wasmoe's TestOpenAIClient, which starts the server and sets WASMOE_URL (http://HOST:PORT) and
// WASMOE_MODEL (the served model's id); by hand: `npm ci`, then
//   WASMOE_URL=http://127.0.0.1:8080 WASMOE_MODEL=ID node --test client.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI, { APIUserAbortError, BadRequestError, NotFoundError } from "openai";
import Ajv from "ajv";

const base = process.env.WASMOE_URL;
const model = process.env.WASMOE_MODEL;
if (!base || !model) throw new Error("set WASMOE_URL and WASMOE_MODEL (tools/wasmoe's TestOpenAIClient does)");

const client = new OpenAI({ baseURL: base + "/v1", apiKey: "unused-on-an-open-node", maxRetries: 0, timeout: 60_000 });
const messages = [{ role: "user", content: "Name three colors." }];

test("models.list and models.retrieve; an unknown id is NotFoundError", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes(model), `models.list gave ${ids}`);
  const card = await client.models.retrieve(model);
  assert.equal(card.id, model);
  assert.equal(card.object, "model");
  await assert.rejects(client.models.retrieve("no-such-model"), (err) => {
    assert.ok(err instanceof NotFoundError, `got ${err}`);
    assert.equal(err.status, 404);
    assert.equal(err.code, "model_not_found");
    return true;
  });
});

test("chat: the stream reassembles the whole answer (temperature 0, a seed)", async () => {
  const params = { model, messages, max_tokens: 24, temperature: 0, seed: 7 };
  const whole = await client.chat.completions.create(params);
  const msg = whole.choices[0].message;
  assert.equal(msg.role, "assistant");
  assert.ok(msg.content.length > 0, "empty answer");
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);

  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let content = "", reasoning = "", finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, "chat.completion.chunk");
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      content += c.delta.content ?? "";
      reasoning += c.delta.reasoning_content ?? "";
      finish = c.finish_reason ?? finish;
    }
  }
  assert.ok(chunks > 2, `${chunks} chunks`);
  assert.equal(content, msg.content);
  assert.equal(reasoning, msg.reasoning_content ?? "");
  assert.equal(finish, whole.choices[0].finish_reason);
  // The same counts; the stream's prompt came from the prefix cache, which the first request filled.
  const counts = ({ prompt_tokens, completion_tokens, total_tokens }) => ({ prompt_tokens, completion_tokens, total_tokens });
  assert.deepEqual(counts(usage), counts(whole.usage));
});

test("completions: logprobs and echo", async () => {
  const prompt = "The quick brown fox";
  const r = await client.completions.create({ model, prompt, max_tokens: 5, temperature: 0, logprobs: 3, echo: true });
  const c = r.choices[0];
  assert.ok(c.text.startsWith(prompt), `echo: ${JSON.stringify(c.text)}`);
  const lp = c.logprobs;
  const n = r.usage.prompt_tokens + r.usage.completion_tokens;
  for (const field of ["tokens", "token_logprobs", "top_logprobs", "text_offset"]) {
    assert.equal(lp[field].length, n, `${field} has ${lp[field].length} entries for ${n} tokens`);
  }
  assert.equal(lp.token_logprobs[0], null, "the prompt's first token has no logprob");
  assert.equal(lp.top_logprobs[0], null);
  assert.equal(lp.text_offset[0], 0);
  for (let i = 1; i < n; i++) {
    assert.ok(lp.token_logprobs[i] <= 0, `token_logprobs[${i}] = ${lp.token_logprobs[i]}`);
    assert.ok(lp.text_offset[i] >= lp.text_offset[i - 1]);
    const top = Object.values(lp.top_logprobs[i]);
    assert.ok(top.length >= 1 && top.length <= 4, `top_logprobs[${i}] has ${top.length} entries`);
    if (i >= r.usage.prompt_tokens) {
      // Greedy decoding picks the most likely token, and logprobs are the model's raw distribution.
      assert.equal(lp.token_logprobs[i], Math.max(...top), `generated token ${i} is not the most likely`);
    }
  }
});

test("chat: logprobs with top_logprobs", async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 4 });
  const entries = r.choices[0].logprobs.content;
  assert.equal(entries.length, r.usage.completion_tokens);
  for (const e of entries) {
    assert.equal(e.top_logprobs.length, 4);
    const lps = e.top_logprobs.map((t) => t.logprob);
    assert.deepEqual(lps, [...lps].sort((a, b) => b - a), "top_logprobs not sorted");
    assert.equal(e.logprob, lps[0], "greedy decoding did not pick the most likely token");
    assert.deepEqual(e.bytes, e.top_logprobs[0].bytes);
    assert.ok(lps.every((v) => v <= 0));
  }
});

const schema = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 12 },
    ok: { type: "boolean" },
    color: { enum: ["red", "green", "blue"] },
    tags: { type: "array", items: { type: "string", maxLength: 6 }, maxItems: 3 },
  },
  required: ["name", "ok", "color", "tags"],
  additionalProperties: false,
};
const validate = new Ajv({ strict: true }).compile(schema);

test("response_format json_schema: every answer parses and validates (ajv), across seeds", async () => {
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.create({
      model, messages, max_tokens: 200, seed,
      response_format: { type: "json_schema", json_schema: { name: "item", schema, strict: true } },
    });
    const text = r.choices[0].message.content;
    assert.equal(r.choices[0].finish_reason, "stop", `seed ${seed}: ${text}`);
    const value = JSON.parse(text);
    assert.ok(validate(value), `seed ${seed}: ${text}: ${JSON.stringify(validate.errors)}`);
  }
});

const weather = {
  type: "object",
  properties: { city: { type: "string", maxLength: 20 }, unit: { enum: ["celsius", "fahrenheit"] } },
  required: ["city", "unit"],
  additionalProperties: false,
};
const validateWeather = new Ajv({ strict: true }).compile(weather);
const tools = [{ type: "function", function: { name: "get_weather", description: "Weather in a city", parameters: weather } }];

test("tools: a named tool_choice gives a call whose arguments validate (ajv); the stream gives the same call", async () => {
  const params = {
    model, messages: [{ role: "user", content: "Weather in Paris?" }], max_tokens: 120, seed: 3, temperature: 0, tools,
    tool_choice: { type: "function", function: { name: "get_weather" } },
  };
  const whole = await client.chat.completions.create(params);
  const choice = whole.choices[0];
  assert.equal(choice.finish_reason, "tool_calls", JSON.stringify(choice));
  const calls = choice.message.tool_calls;
  assert.equal(calls.length, 1);
  assert.equal(calls[0].type, "function");
  assert.equal(calls[0].function.name, "get_weather");
  const args = JSON.parse(calls[0].function.arguments);
  assert.ok(validateWeather(args), `${calls[0].function.arguments}: ${JSON.stringify(validateWeather.errors)}`);

  const stream = await client.chat.completions.create({ ...params, stream: true });
  const got = [];
  let finish = null;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      finish = c.finish_reason ?? finish;
      for (const d of c.delta.tool_calls ?? []) {
        if (d.id) got[d.index] = { id: d.id, name: d.function.name, arguments: "" };
        got[d.index].arguments += d.function.arguments ?? "";
      }
    }
  }
  assert.equal(finish, "tool_calls");
  assert.equal(got.length, 1);
  assert.equal(got[0].name, "get_weather");
  assert.equal(got[0].arguments, calls[0].function.arguments);
});

test("tools: tool_choice required gives calls of listed functions whose arguments validate, streamed and not", async () => {
  const clock = { type: "object", properties: { zone: { type: "string", maxLength: 12 } }, required: ["zone"], additionalProperties: false };
  const validateClock = new Ajv({ strict: true }).compile(clock);
  const both = [...tools, { type: "function", function: { name: "get_time", parameters: clock } }];
  const check = (name, args) => {
    const v = JSON.parse(args);
    const validate = name === "get_weather" ? validateWeather : validateClock;
    assert.ok(["get_weather", "get_time"].includes(name), name);
    assert.ok(validate(v), `${name}(${args}): ${JSON.stringify(validate.errors)}`);
  };
  for (const seed of [1, 2]) {
    const params = { model, messages: [{ role: "user", content: "Weather and time in Oslo?" }], max_tokens: 160, seed, tools: both, tool_choice: "required" };
    const whole = await client.chat.completions.create(params);
    // Several calls may run into max_tokens ("length"); the calls that completed are returned either way.
    assert.ok(["tool_calls", "length"].includes(whole.choices[0].finish_reason), JSON.stringify(whole.choices[0]));
    assert.ok(whole.choices[0].message.tool_calls.length >= 1, JSON.stringify(whole.choices[0]));
    for (const c of whole.choices[0].message.tool_calls) check(c.function.name, c.function.arguments);

    const stream = await client.chat.completions.create({ ...params, stream: true });
    const got = [];
    for await (const chunk of stream) {
      for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) {
        if (d.id) got[d.index] = { name: d.function.name, arguments: "" };
        got[d.index].arguments += d.function.arguments ?? "";
      }
    }
    assert.deepEqual(got.map((c) => c.name), whole.choices[0].message.tool_calls.map((c) => c.function.name));
    for (const c of got) check(c.name, c.arguments);
  }
});

test("response_format json_schema with $ref and $defs (recursive): every answer validates (ajv), across seeds", async () => {
  const tree = {
    $defs: { node: { type: "object", properties: { name: { type: "string", maxLength: 10 },
      kids: { type: "array", items: { $ref: "#/$defs/node" }, maxItems: 2 } }, required: ["name"], additionalProperties: false } },
    $ref: "#/$defs/node",
  };
  const validateTree = new Ajv({ strict: true }).compile(tree);
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.create({
      model, messages, max_tokens: 300, seed,
      response_format: { type: "json_schema", json_schema: { name: "tree", schema: tree, strict: true } },
    });
    const text = r.choices[0].message.content;
    if (r.choices[0].finish_reason === "length") continue; // a deep tree may not close in 300 tokens
    assert.equal(r.choices[0].finish_reason, "stop", `seed ${seed}: ${text}`);
    assert.ok(validateTree(JSON.parse(text)), `seed ${seed}: ${text}: ${JSON.stringify(validateTree.errors)}`);
  }
});

test("a bad parameter is BadRequestError with the server's message", async () => {
  const body = { model, messages, temperature: 9 };
  const raw = await fetch(base + "/v1/chat/completions", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const want = (await raw.json()).error;
  assert.equal(raw.status, 400);
  await assert.rejects(client.chat.completions.create(body), (err) => {
    assert.ok(err instanceof BadRequestError, `got ${err}`);
    assert.equal(err.status, 400);
    assert.equal(err.error.message, want.message);
    assert.ok(err.message.includes(want.message), err.message);
    assert.equal(err.param, want.param);
    assert.equal(err.type, "invalid_request_error");
    return true;
  });
});

// metric sums a /metrics counter or gauge of wasmoe's over its series whose labels include label.
async function metric(name, label) {
  const text = await (await fetch(base + "/metrics")).text();
  let n = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`wasmoe:${name}{`) && line.includes(label)) n += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return n;
}

// waitFor polls cond every 20 ms until it holds, for at most 10 s.
async function waitFor(what, cond) {
  for (const deadline = Date.now() + 10_000; !(await cond()); await new Promise((r) => setTimeout(r, 20))) {
    assert.ok(Date.now() < deadline, `${what}: not within 10 s`);
  }
}

const long = { model, messages, max_tokens: 1500, ignore_eos: true };
const aborted = () => metric("request_success_total", 'finished_reason="abort"');

test("AbortController: a request aborted while the model runs is APIUserAbortError, and the server cancels it", async () => {
  const before = await aborted();
  const controller = new AbortController();
  const pending = client.chat.completions.create(long, { signal: controller.signal });
  await waitFor("the request runs", async () => (await metric("num_requests_running", "")) > 0);
  controller.abort();
  await assert.rejects(pending, (err) => err instanceof APIUserAbortError);
  await waitFor("the server counts the request aborted", async () => (await aborted()) === before + 1);
});

test("AbortController ends a stream where it is, and the server cancels it", async () => {
  const before = await aborted();
  const controller = new AbortController();
  const stream = await client.chat.completions.create({ ...long, stream: true }, { signal: controller.signal });
  let chunks = 0, finish = null;
  for await (const chunk of stream) { // the SDK ends the iteration, without an error, once aborted
    finish = chunk.choices[0].finish_reason ?? finish;
    if (++chunks === 3) controller.abort(); // chunks the SDK had read already may still come
  }
  assert.ok(chunks >= 3 && chunks < long.max_tokens && finish === null, `${chunks} chunks, finish_reason ${finish}`);
  await waitFor("the server counts the stream aborted", async () => (await aborted()) === before + 1);
});
