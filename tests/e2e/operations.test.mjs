// Operating the bus: the topic registry (GET /v1/topics), Prometheus metrics (GET
// /metrics, checked with a Prometheus text parser) and structured logs, against the Worker
// in workerd.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { startWorker, call, publish, cloudEvent, uniqueName, Socket, ADMIN_TOKEN } from "./harness.mjs";

const parsePrometheus = createRequire(import.meta.url)("parse-prometheus-text-format");
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

let w;
const logs = [];
before(async () => {
  w = await startWorker({ onLog: (line) => logs.push(line) });
});
after(async () => {
  await w?.destroy();
});

/** Waits until `pred` holds for the log lines seen so far (logs arrive asynchronously). */
async function logsUntil(pred, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const parsed = logs.map((l) => JSON.parse(l));
    if (pred(parsed)) return parsed;
    if (Date.now() > until) assert.fail(`logs never matched; got:\n${logs.join("\n")}`);
    await new Promise((r) => setImmediate(r));
  }
}

test("GET /v1/topics lists every topic with its seq and channels, for the admin only", async () => {
  const a = uniqueName("list");
  const b = uniqueName("list");
  for (let i = 0; i < 3; i++) assert.equal((await publish(w.url, a, cloudEvent(`e${i}`, i))).status, 201);
  await call(w.url, "PUT", `/v1/topics/${b}/channels/audit`);
  await call(w.url, "PUT", `/v1/topics/${b}/channels/billing`);
  const r = await call(w.url, "GET", "/v1/topics", { headers: ADMIN });
  assert.equal(r.status, 200);
  const byName = Object.fromEntries(r.body.topics.map((t) => [t.topic, t]));
  assert.deepEqual(byName[a], { topic: a, seq: 3, partitions: 1, channels: [] });
  assert.deepEqual(byName[b], { topic: b, seq: 0, partitions: 1, channels: ["audit", "billing"] });
  // Anonymous access covers topics, not the admin list.
  assert.equal((await call(w.url, "GET", "/v1/topics")).status, 401);
  // A deleted topic leaves the list.
  assert.equal((await call(w.url, "DELETE", `/v1/topics/${a}`, { headers: ADMIN })).status, 204);
  const after = await call(w.url, "GET", "/v1/topics", { headers: ADMIN });
  assert.ok(!after.body.topics.some((t) => t.topic === a));
  assert.ok(after.body.topics.some((t) => t.topic === b));
});

test("the registry is written once per new topic, not once per publish", async () => {
  const t = uniqueName("once");
  for (let i = 0; i < 5; i++) await publish(w.url, t, cloudEvent(`o${i}`, i));
  await call(w.url, "PUT", `/v1/topics/${t}/channels/c`);
  await publish(w.url, t, cloudEvent("o5", 5));
  // The log line is written after the registry answered, so it counts registry writes.
  const seen = await logsUntil((ls) => ls.some((l) => l.event === "topic.created" && l.topic === t));
  assert.equal(seen.filter((l) => l.event === "topic.created" && l.topic === t).length, 1);
});

test("GET /metrics is valid Prometheus text with per-topic and per-channel series", async () => {
  const t = uniqueName("metrics");
  await call(w.url, "PUT", `/v1/topics/${t}/channels/work`);
  await call(w.url, "PUT", `/v1/topics/${t}/channels/idle`);
  for (let i = 0; i < 4; i++) await publish(w.url, t, cloudEvent(`m${i}`, i));
  const c = await Socket.consumer(w.url, t, "work", { max_in_flight: 1 });
  const m = await c.msg();
  await c.request({ op: "fin", id: m.id });
  await c.msg(); // the second one is delivered after the fin, and stays in flight
  await call(w.url, "POST", `/v1/topics/${t}/channels/idle/pause`);

  assert.equal((await call(w.url, "GET", "/metrics")).status, 401, "metrics are for the admin");
  const r = await call(w.url, "GET", "/metrics", { headers: ADMIN });
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheus(r.text);
  const names = families.map((f) => f.name);
  assert.equal(new Set(names).size, names.length, "each family appears once");
  for (const f of families) {
    assert.match(f.name, /^ismld_[a-z_]+$/);
    assert.ok(f.help.length > 0, `${f.name} has HELP`);
    assert.ok(["COUNTER", "GAUGE"].includes(f.type), `${f.name} has a TYPE`);
    if (f.type === "COUNTER") assert.match(f.name, /_total$/);
    for (const s of f.metrics) assert.ok(Number.isFinite(Number(s.value)), `${f.name} value ${s.value}`);
  }
  const value = (name, labels) => {
    const f = families.find((x) => x.name === name);
    assert.ok(f, `family ${name}`);
    const s = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    assert.ok(s, `${name} ${JSON.stringify(labels)}`);
    return Number(s.value);
  };
  assert.equal(value("ismld_topic_published_total", { topic: t }), 4);
  assert.equal(value("ismld_topic_channels", { topic: t }), 2);
  const work = { topic: t, channel: "work" };
  assert.equal(value("ismld_channel_finished_total", work), 1);
  assert.equal(value("ismld_channel_in_flight", work), 1);
  assert.equal(value("ismld_channel_depth", work), 3);
  assert.equal(value("ismld_channel_delivered_total", work), 2);
  assert.equal(value("ismld_channel_consumers", work), 1);
  assert.equal(value("ismld_channel_paused", { topic: t, channel: "idle" }), 1);
  assert.equal(value("ismld_channel_ready", { topic: t, channel: "idle" }), 4);
  assert.equal(value("ismld_build_info", {}), 1);
  c.close();
});

test("logs: one JSON line per significant event, never a secret or a token", async () => {
  const admin = ADMIN;
  const login = uniqueName("logger").replace(/-/g, "_");
  const made = await call(w.url, "POST", "/v1/clients", { body: { login }, headers: admin });
  assert.equal(made.status, 201);
  const basic = { authorization: `Basic ${Buffer.from(`${login}:${made.body.secret}`).toString("base64")}` };
  const token = await call(w.url, "POST", "/v1/tokens", { body: {}, headers: basic });
  assert.equal(token.status, 201);
  const wrong = `Bearer not-a-token-${made.body.secret.slice(0, 6)}x`;
  assert.equal((await call(w.url, "GET", "/v1/topics/x", { headers: { authorization: wrong } })).status, 401);
  const t = uniqueName("logs");
  await call(w.url, "PUT", `/v1/topics/${t}/channels/c`, { headers: basic });
  const c = await Socket.consumer(w.url, t, "c", { token: token.body.token });
  await call(w.url, "POST", `/v1/topics/${t}/channels/c/pause`, { headers: admin });
  c.close();
  // Earlier tests logged some of these too: wait for this topic's own lines.
  const parsed = await logsUntil(
    (ls) =>
      ["client.created", "token.issued", "auth.refused"].every((e) => ls.some((l) => l.event === e)) &&
      ["channel.created", "consumer.attached", "channel.paused", "consumer.detached"].every((e) => ls.some((l) => l.event === e && l.topic === t)),
  );
  for (const l of parsed) {
    assert.ok(["info", "warn", "error"].includes(l.level), JSON.stringify(l));
    assert.equal(typeof l.event, "string");
  }
  const attached = parsed.find((l) => l.event === "consumer.attached" && l.topic === t);
  assert.equal(attached.login, login);
  assert.equal(attached.channel, "c");
  const all = logs.join("\n");
  for (const secret of [made.body.secret, token.body.token, ADMIN_TOKEN, wrong.slice(7)]) {
    assert.ok(!all.includes(secret), "a credential reached the logs");
  }
});
