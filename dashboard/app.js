// The ismld dashboard: polls GET /v1/topics?stats=true with the admin token, shows
// topics and channels with live rate charts (uPlot), and runs the channel actions of the
// HTTP API. No build step: a plain module next to uPlot, served as Workers static assets.
// `?interval_ms=N` changes the polling interval (default 2000). A partitioned topic shows
// its partition count; each of its channels can be expanded into one row per partition
// (the per-partition stats the API lists), and its seek by seq names a partition.
/* global uPlot */

const params = new URLSearchParams(location.search);
const INTERVAL_MS = Math.max(250, Number(params.get("interval_ms")) || 2000);
const WINDOW = 150; // samples kept per chart
const TOKEN_KEY = "ismld-admin-token";
const $ = (id) => document.getElementById(id);

let token = sessionStorage.getItem(TOKEN_KEY);
let selected = null;
let previous = null; // { at, topics: Map(topic -> { seq, finished: Map(channel -> n) }) }
let timer = null;
const expanded = new Set(); // "topic\u0000channel" of channels showing their partitions
const series = { overview: newSeries(), topics: new Map() };
const charts = {};

function newSeries() {
  return { t: [], published: [], finished: [] };
}

function push(s, t, published, finished) {
  s.t.push(t);
  s.published.push(published);
  s.finished.push(finished);
  if (s.t.length > WINDOW) for (const k of Object.keys(s)) s[k].shift();
}

/** Calls the HTTP API as the admin; throws an Error with `status` and `code` on failure. */
async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = new Error(json?.error?.message ?? `HTTP ${res.status}`);
    e.status = res.status;
    e.code = json?.error?.code;
    throw e;
  }
  return json;
}

const STATS = ["depth", "ready", "in_flight", "deferred", "dead", "consumers"];
const topicPath = (t) => `/v1/topics/${encodeURIComponent(t)}`;
const channelPath = (t, c) => `${topicPath(t)}/channels/${encodeURIComponent(c)}`;

function status(text, error = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", error);
}

function chart(id, s) {
  const el = $(id);
  const data = [s.t, s.published, s.finished];
  if (!charts[id]) {
    charts[id] = new uPlot(
      {
        width: Math.max(320, el.clientWidth || 800),
        height: 200,
        scales: { x: { time: true } },
        series: [
          {},
          { label: "published/s", stroke: "#0969da", width: 2 },
          { label: "finished/s", stroke: "#1a7f37", width: 2 },
        ],
      },
      data,
      el,
    );
  } else {
    charts[id].setData(data);
  }
  el.dataset.samples = String(s.t.length);
  el.dataset.maxPublished = String(Math.max(0, ...s.published));
  el.dataset.maxFinished = String(Math.max(0, ...s.finished));
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = String(text);
  if (className) td.className = className;
  return td;
}

function button(label, action, onClick, disabled = false) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.dataset.action = action;
  b.disabled = disabled;
  b.addEventListener("click", onClick);
  return b;
}

/** Runs a channel action, reports it, and refreshes at once. */
async function act(what, fn) {
  try {
    const result = await fn();
    status(`${what}${result ? `: ${JSON.stringify(result)}` : ""}`);
  } catch (e) {
    status(`${what} failed: ${e.message}`, true);
  }
  await refresh();
}

function renderTopics(topics, rates) {
  const body = $("topics").tBodies[0];
  body.replaceChildren();
  $("no-topics").hidden = topics.length > 0;
  for (const t of topics) {
    const row = body.insertRow();
    row.dataset.topic = t.topic;
    row.classList.toggle("selected", t.topic === selected);
    const sum = (k) => t.channel_stats.reduce((n, c) => n + c[k], 0);
    cell(row, t.topic);
    cell(row, t.partitions ?? 1, "partitions");
    cell(row, t.seq);
    cell(row, t.retained);
    cell(row, t.channels.length);
    cell(row, sum("depth"));
    cell(row, sum("in_flight"));
    cell(row, sum("dead"));
    cell(row, (rates.get(t.topic)?.published ?? 0).toFixed(1));
    row.addEventListener("click", () => {
      selected = t.topic;
      refresh();
    });
  }
}

function renderTopic(t, rates) {
  $("topic").hidden = !t;
  if (!t) return;
  $("topic-name").textContent = t.topic;
  const n = t.partitions ?? 1;
  $("topic-partitions").textContent = n > 1 ? `${n} partitions` : "";
  chart("topic-chart", series.topics.get(t.topic) ?? newSeries());
  const body = $("channels").tBodies[0];
  body.replaceChildren();
  for (const c of t.channel_stats) {
    const row = body.insertRow();
    row.dataset.channel = c.channel;
    const key = `${t.topic}\u0000${c.channel}`;
    const open = expanded.has(key);
    const name = cell(row, c.channel);
    if (c.partitions) {
      // A partitioned topic's channel: the sums here, each partition's own on demand.
      const toggle = button(open ? "▾" : "▸", "partitions", () => {
        if (expanded.has(key)) expanded.delete(key);
        else expanded.add(key);
        renderTopic(t, rates);
      });
      toggle.title = open ? "hide the partitions" : `show its ${c.partitions.length} partitions`;
      toggle.setAttribute("aria-expanded", String(open));
      toggle.className = "toggle";
      name.prepend(toggle);
    }
    for (const k of STATS) cell(row, c[k]);
    cell(row, c.paused ? "paused" : "active", c.paused ? "paused" : "");
    cell(row, (rates.get(t.topic)?.channels.get(c.channel) ?? 0).toFixed(1));
    const actions = cell(row, "", "actions");
    const path = channelPath(t.topic, c.channel);
    const full = `${c.channel}@${t.topic}`;
    actions.append(
      c.paused
        ? button("Unpause", "unpause", () => act(`unpaused ${full}`, () => api("POST", `${path}/unpause`)))
        : button("Pause", "pause", () => act(`paused ${full}`, () => api("POST", `${path}/pause`))),
      button(`Redrive ${c.dead}`, "redrive", () => act(`redrove ${full}`, () => api("POST", `${path}/dead/redrive`, {})), c.dead === 0),
    );
    const seq = document.createElement("input");
    seq.type = "number";
    seq.min = "1";
    seq.placeholder = "seq";
    seq.dataset.field = "seek-seq";
    seq.style.width = "6em";
    actions.append(seq);
    // seqs are per partition: on a partitioned topic a seek by seq names one.
    const part = n > 1 ? partitionPicker(n) : null;
    if (part) actions.append(part);
    actions.append(
      button("Seek", "seek", () => {
        if (!seq.value) return status("seek needs a seq", true);
        const body = { seq: Number(seq.value), ...(part ? { partition: Number(part.value) } : {}) };
        const where = part ? ` of partition ${part.value}` : "";
        return act(`sought ${full} to ${seq.value}${where}`, () => api("POST", `${path}/seek`, body));
      }),
      button("Delete", "delete", () => {
        if (confirm(`Delete channel ${full} and its backlog?`)) act(`deleted ${full}`, () => api("DELETE", path));
      }),
    );
    if (open && c.partitions) for (const p of c.partitions) partitionRow(body, c.channel, p);
  }
}

/** One partition of an expanded channel: its own stats, under the channel's sums. */
function partitionRow(body, channel, p) {
  const row = body.insertRow();
  row.className = "partition";
  row.dataset.partitionOf = channel;
  row.dataset.partition = String(p.partition);
  cell(row, `partition ${p.partition}`);
  for (const k of STATS) cell(row, p[k]);
  cell(row, p.paused ? "paused" : "active", p.paused ? "paused" : "");
  cell(row, "");
  cell(row, "");
}

/** A select of partitions 0..n-1 (for a seek by seq). */
function partitionPicker(n) {
  const select = document.createElement("select");
  select.dataset.field = "seek-partition";
  select.title = "partition";
  for (let p = 0; p < n; p++) select.add(new Option(`p${p}`, String(p)));
  return select;
}

/** One poll: fetch, compute rates from the counters' deltas, render. */
async function refresh() {
  clearTimeout(timer);
  try {
    const { topics } = await api("GET", "/v1/topics?stats=true");
    const at = Date.now();
    const now = { at, topics: new Map() };
    const rates = new Map();
    let published = 0;
    let finished = 0;
    for (const t of topics) {
      const fin = new Map(t.channel_stats.map((c) => [c.channel, c.finished_total]));
      now.topics.set(t.topic, { seq: t.seq, finished: fin });
      const before = previous?.topics.get(t.topic);
      if (!before) continue;
      const dt = (at - previous.at) / 1000;
      const rate = { published: Math.max(0, t.seq - before.seq) / dt, channels: new Map() };
      let topicFinished = 0;
      for (const [c, n] of fin) {
        const r = before.finished.has(c) ? Math.max(0, n - before.finished.get(c)) / dt : 0;
        rate.channels.set(c, r);
        topicFinished += r;
      }
      rates.set(t.topic, rate);
      published += rate.published;
      finished += topicFinished;
      if (!series.topics.has(t.topic)) series.topics.set(t.topic, newSeries());
      push(series.topics.get(t.topic), at / 1000, rate.published, topicFinished);
    }
    if (previous) push(series.overview, at / 1000, published, finished);
    previous = now;
    if (selected && !topics.some((t) => t.topic === selected)) selected = null;
    chart("overview-chart", series.overview);
    renderTopics(topics, rates);
    renderTopic(topics.find((t) => t.topic === selected), rates);
  } catch (e) {
    if (e.status === 401) return logout("The admin token was refused.");
    status(`refresh failed: ${e.message}`, true);
  }
  timer = setTimeout(refresh, INTERVAL_MS);
}

function logout(message = "") {
  clearTimeout(timer);
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
}

async function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  await refresh();
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  token = $("token").value.trim();
  try {
    await api("GET", "/v1/topics");
  } catch (e) {
    return logout(e.status === 401 ? "Wrong admin token." : `Login failed: ${e.message}`);
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token").value = "";
  await start();
});

$("logout").addEventListener("click", () => logout());

$("create-channel").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const name = $("new-channel").value.trim();
  const from = $("from-seq").value;
  const body = from ? { from_seq: Number(from) } : {};
  act(`created ${name}@${selected}`, () => api("PUT", channelPath(selected, name), body)).then(() => {
    $("new-channel").value = "";
    $("from-seq").value = "";
  });
});

fetch("/v1/health")
  .then((r) => r.json())
  .then((h) => ($("version").textContent = `v${h.version}`))
  .catch(() => {});

if (token) start();
