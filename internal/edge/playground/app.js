// The wasmoe playground: a chat with the served model through the OpenAI-compatible API of the node that
// serves this page. Answers stream from /v1/chat/completions (fetch + Server-Sent Events); reasoning
// (reasoning_content) shows apart in a collapsible block; Stop aborts the fetch, and the server cancels
// the generation. The API key is kept in localStorage and sent as a Bearer token.
"use strict";

const keyStore = "wasmoe.playground.key";
const modelStore = "wasmoe.playground.model";

const el = (id) => document.getElementById(id);

// The conversation so far (without the system prompt), and the running request's AbortController.
const state = { messages: [], controller: null };

// headers returns the API request headers: JSON, and the key when one is given.
function headers() {
  const h = { "Content-Type": "application/json" };
  const key = el("key").value.trim();
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

// setStatus shows a line in the header; error marks it red.
function setStatus(text, error) {
  const s = el("status");
  s.textContent = text;
  s.classList.toggle("error", Boolean(error));
}

// apiError reads a failed response's message from its OpenAI-style JSON body ({"error":{"message":…}}).
async function apiError(resp) {
  const text = await resp.text();
  try {
    const body = JSON.parse(text);
    if (body && body.error && body.error.message) {
      return `${resp.status}: ${body.error.message}` + (body.error.param ? ` (${body.error.param})` : "");
    }
  } catch (e) {
    // not JSON: show the text itself
  }
  return `${resp.status} ${resp.statusText}: ${text.slice(0, 300)}`;
}

// loadModels fills the model picker from /v1/models, keeping the stored choice when it is still served.
async function loadModels() {
  setStatus("loading models…");
  let resp;
  try {
    resp = await fetch("/v1/models", { headers: headers() });
  } catch (e) {
    setStatus("cannot reach the server: " + e.message, true);
    return;
  }
  if (!resp.ok) {
    setStatus(await apiError(resp), true);
    return;
  }
  const body = await resp.json();
  const select = el("model");
  const want = select.value || localStorage.getItem(modelStore);
  select.replaceChildren();
  for (const m of body.data || []) {
    const opt = document.createElement("option");
    opt.value = opt.textContent = m.id;
    select.append(opt);
  }
  if (want && [...select.options].some((o) => o.value === want)) select.value = want;
  setStatus(select.options.length ? "ready" : "the server lists no model", !select.options.length);
}

// numberField returns an input's number, or undefined when it is empty; a bad value is an error naming it.
function numberField(id, integer) {
  const raw = el(id).value.trim();
  if (raw === "") return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new Error(`${id}: ${JSON.stringify(raw)} is not ${integer ? "an integer" : "a number"}`);
  }
  return v;
}

// buildRequest is the chat request for the conversation and the settings.
function buildRequest() {
  const messages = [];
  const system = el("system").value.trim();
  if (system) messages.push({ role: "system", content: system });
  messages.push(...state.messages);
  const body = { model: el("model").value, messages, stream: true, stream_options: { include_usage: true } };
  for (const [id, integer] of [["temperature", false], ["top_p", false], ["max_tokens", true], ["seed", true]]) {
    const v = numberField(id, integer);
    if (v !== undefined) body[id] = v;
  }
  const plugin = el("plugin").value.trim();
  if (plugin) body.plugin = plugin;
  const schemaText = el("schema").value.trim();
  if (schemaText) {
    let schema;
    try {
      schema = JSON.parse(schemaText);
    } catch (e) {
      throw new Error("JSON schema: " + e.message);
    }
    body.response_format = { type: "json_schema", json_schema: { name: "playground", schema, strict: true } };
  }
  return body;
}

// addMessage appends a message bubble to the log and returns its parts: the text, and for the assistant
// a collapsible reasoning block, a stats line and an error line.
function addMessage(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  const label = document.createElement("span");
  label.className = "role";
  label.textContent = role;
  div.append(label);
  const parts = { div };
  if (role === "assistant") {
    parts.details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "reasoning";
    parts.reasoning = document.createElement("div");
    parts.details.append(summary, parts.reasoning);
    parts.details.hidden = true;
    div.append(parts.details);
  }
  parts.text = document.createElement("div");
  parts.text.textContent = text;
  div.append(parts.text);
  el("log").append(div);
  div.scrollIntoView({ block: "end" });
  return parts;
}

// note adds a line to a message bubble: its stats, or an error.
function note(parts, className, text) {
  const span = document.createElement("span");
  span.className = className;
  span.textContent = text;
  parts.div.append(span);
  parts.div.scrollIntoView({ block: "end" });
}

// sseData yields the data of each Server-Sent Event of a response body, as it arrives.
async function* sseData(resp) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).replace(/^ /, "")).join("\n");
      if (data) yield data;
    }
  }
}

// statsLine says how the answer went: tokens, tokens/s after the first token, time to it, and usage.
function statsLine(start, first, end, usage, tokensSeen, finish) {
  const completion = usage ? usage.completion_tokens : tokensSeen;
  const parts = [];
  if (first && end > first && completion > 1) {
    parts.push(`${((completion - 1) / ((end - first) / 1000)).toFixed(1)} tok/s`);
  }
  if (first) parts.push(`first token ${((first - start) / 1000).toFixed(2)} s`);
  if (usage) {
    let u = `usage: ${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion = ${usage.total_tokens} tokens`;
    const cached = usage.prompt_tokens_details && usage.prompt_tokens_details.cached_tokens;
    if (cached) u += ` (${cached} prompt tokens cached)`;
    parts.push(u);
  } else {
    parts.push(`${completion} chunks`);
  }
  if (finish) parts.push(`finish: ${finish}`);
  return parts.join(" · ");
}

// send sends the prompt as the next user turn and streams the answer into the log.
async function send(event) {
  event.preventDefault();
  const prompt = el("prompt").value;
  if (!prompt.trim() || state.controller) return;
  const conversation = state.messages; // a reset while the answer streams starts another one
  conversation.push({ role: "user", content: prompt });
  let body;
  try {
    body = buildRequest();
  } catch (e) {
    conversation.pop();
    setStatus(e.message, true);
    return;
  }
  el("prompt").value = "";
  addMessage("user", prompt);
  const view = addMessage("assistant", "");
  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  const start = performance.now();
  let first = 0, content = "", reasoning = "", usage = null, finish = "", seen = 0;
  try {
    const resp = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(), body: JSON.stringify(body), signal: controller.signal,
    });
    if (!resp.ok) throw new Error(await apiError(resp));
    for await (const data of sseData(resp)) {
      if (data === "[DONE]") break;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message || JSON.stringify(chunk.error));
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) continue;
      const delta = choice.delta || {};
      if (delta.reasoning_content || delta.content) {
        if (!first) first = performance.now();
        seen++;
      }
      if (delta.reasoning_content) {
        if (!reasoning) { // shown, and open while the model thinks
          view.details.hidden = false;
          view.details.open = true;
        }
        reasoning += delta.reasoning_content;
        view.reasoning.textContent = reasoning;
      }
      if (delta.content) {
        if (!content && reasoning) view.details.open = false; // and folded once the answer starts
        content += delta.content;
        view.text.textContent = content;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
      view.div.scrollIntoView({ block: "end" });
    }
    conversation.push({ role: "assistant", content });
    note(view, "stats", statsLine(start, first, performance.now(), usage, seen, finish));
    setStatus("ready");
  } catch (e) {
    if (e.name === "AbortError") {
      // The partial answer stays in the conversation, as the user saw it.
      conversation.push({ role: "assistant", content });
      note(view, "stats", statsLine(start, first, performance.now(), null, seen, "stopped"));
      setStatus("stopped");
    } else {
      // The failed turn leaves the conversation; its text goes back into the box to edit and resend.
      conversation.pop();
      if (!el("prompt").value) el("prompt").value = prompt;
      note(view, "error", e.message);
      setStatus("error", true);
    }
  } finally {
    state.controller = null;
    setBusy(false);
  }
}

// setBusy enables Stop while a request runs, and Send otherwise.
function setBusy(busy) {
  el("send").disabled = busy;
  el("stop").disabled = !busy;
}

// reset stops the running answer and starts a new conversation.
function reset() {
  if (state.controller) state.controller.abort();
  state.messages = [];
  el("log").replaceChildren();
  setStatus("new chat");
}

// init wires the page up and loads the model list.
function init() {
  el("key").value = localStorage.getItem(keyStore) || "";
  el("key").addEventListener("change", () => {
    localStorage.setItem(keyStore, el("key").value.trim());
    loadModels();
  });
  el("model").addEventListener("change", () => localStorage.setItem(modelStore, el("model").value));
  el("refresh").addEventListener("click", loadModels);
  el("composer").addEventListener("submit", send);
  el("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) send(e);
  });
  el("stop").addEventListener("click", () => state.controller && state.controller.abort());
  el("reset").addEventListener("click", reset);
  loadModels();
}

init();
