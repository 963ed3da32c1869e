// The npm package (js/dist, Node entry) against the Worker in workerd: every API of
// PROTOCOL.md section 5 over real HTTP and real WebSockets.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import {
  Connection,
  ForbiddenError,
  InvalidRequestError,
  TimeoutError,
  UnauthorizedError,
} from "../../js/dist/node.js";
// The golden-fixture decoders are in the memory entry's wasm (the main one has no server decoder).
import "../../js/dist/memory-node.js";
import { decodeClientFrame, decodeServerFrame } from "../../js/wasm/ismld_memory.js";
import { ADMIN_TOKEN, call, startWorker, tempDir, uniqueName, waiter } from "./harness.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
let w;
before(async () => {
  w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
});
after(async () => {
  await w?.destroy();
});

const admin = { token: ADMIN_TOKEN };

async function newClient(login, permissions = {}) {
  const r = await call(w.url, "POST", "/v1/clients", {
    body: { login, ...permissions },
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

test("publish and subscribe with a name prefix: ids, meta, auto-finish on return", async () => {
  const creds = await newClient(uniqueName("c"));
  const bus = new Connection({ url: w.url, credentials: { ...creds, clientId: "node-test" }, namePrefix: "[DEV]" });
  const topic = uniqueName("OnPingSent");
  const got = [];
  const all = waiter(() => got.length === 3, "3 messages");
  const sub = bus.subscribe({ topic, channel: "Handler", maxInFlight: 3 }, async (msg) => {
    got.push(msg);
    all.poke();
  });
  assert.equal(sub.fullChannelName, `[DEV]Handler@[DEV]${topic}`);
  assert.ok(sub.id);
  await sub.start();
  assert.equal(bus.state, "connected");
  const meta = await bus.publish(topic, { message: "Hello World" });
  assert.equal(meta.topic, `[DEV]${topic}`);
  assert.equal(meta.seq, 1);
  assert.equal(meta.duplicate, false);
  await bus.publish(topic, "plain text");
  await bus.publish(topic, new Uint8Array([0, 1, 2, 255]));
  await all.done;
  got.sort((a, b) => a.seq - b.seq);
  assert.deepEqual(got[0].data, { message: "Hello World" });
  assert.equal(got[0].event.source, `/clients/${creds.login}`);
  assert.equal(got[0].event.type, `[DEV]${topic}`);
  assert.equal(got[0].attempt, 1);
  assert.equal(got[0].checkpoint, null);
  assert.equal(got[1].data, "plain text");
  assert.deepEqual([...got[2].data], [0, 1, 2, 255]);
  // Returned handlers finished their messages.
  const stats = await bus.stats(topic);
  assert.equal(stats.channels[0].channel, "[DEV]Handler");
  await bus.close();
  // The fins went out on the socket before it closed; this GET is another path: poll.
  let after;
  for (let i = 0; i < 200 && after?.body.channels[0].finished_total !== 3; i++) {
    if (i) await new Promise((r) => setTimeout(r, 10));
    after = await call(w.url, "GET", `/v1/topics/${encodeURIComponent(`[DEV]${topic}`)}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
  }
  assert.equal(after.body.channels[0].finished_total, 3);
  assert.equal(after.body.channels[0].depth, 0);
});

test("idempotent publish with an id, batches, ordering keys and delays", async () => {
  const bus = new Connection({ url: w.url, credentials: admin });
  const topic = uniqueName("batch");
  const got = [];
  const three = waiter(() => got.length === 3, "3 ready messages");
  const sub = bus.subscribe({ topic, channel: "c", maxInFlight: 10 }, (msg) => {
    got.push(msg.data.n);
    three.poke();
  });
  await sub.start();
  const a = await bus.publish(topic, { n: 1 }, { id: "same" });
  const b = await bus.publish(topic, { n: 1 }, { id: "same" });
  assert.equal(b.seq, a.seq);
  assert.equal(b.duplicate, true);
  const results = await bus.publishBatch(topic, [
    { data: { n: 2 }, orderingKey: "k" },
    { data: { n: 3 }, orderingKey: "k", id: "x3" },
    { data: { n: 4 }, delayMs: 60_000 },
  ]);
  assert.deepEqual(results.map((r) => r.seq), [2, 3, 4]);
  await three.done;
  assert.deepEqual(got, [1, 2, 3], "the key keeps 2 before 3; the delayed event waits");
  const stats = await bus.stats(topic);
  assert.equal(stats.channels[0].deferred, 1);
  await bus.close();
});

test("a throw requeues with a failure and backs the subscriber off; maxAttempts dead-letters", async () => {
  const bus = new Connection({ url: w.url, credentials: admin, backoff: 200, maxAttempts: 2 });
  const topic = uniqueName("fail");
  const attempts = [];
  const errors = [];
  bus.on("error", (e) => errors.push(e.error.message));
  const two = waiter(() => attempts.length === 2, "2 attempts");
  const sub = bus.subscribe({ topic, channel: "c" }, (msg) => {
    attempts.push({ attempt: msg.attempt, failures: msg.failures, at: Date.now() });
    two.poke();
    throw new Error(`boom ${msg.attempt}`);
  });
  await sub.start();
  await bus.publish(topic, { x: 1 });
  await two.done;
  assert.deepEqual(attempts.map((a) => [a.attempt, a.failures]), [[1, 0], [2, 1]]);
  // No delivery while backing off: the second attempt came after the backoff.
  assert.ok(attempts[1].at - attempts[0].at >= 150, `backoff respected (${attempts[1].at - attempts[0].at} ms)`);
  let d;
  for (let i = 0; i < 100; i++) {
    d = await call(w.url, "GET", `/v1/topics/${topic}/channels/c/dead`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    if (d.body.messages.length === 1) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(d.body.messages.length, 1, "dead after maxAttempts failures");
  assert.ok(errors.some((m) => m.includes("boom 1")), "handler errors are reported as error events");
  await bus.close();
});

test("checkpoints: acknowledge saves progress; a killed consumer's message resumes from it", async () => {
  const topic = uniqueName("cp");
  const first = new Connection({ url: w.url, credentials: admin });
  let killed;
  const holding = new Promise((r) => (killed = r));
  const s1 = first.subscribe({ topic, channel: "work", handlerTimeout: 60_000 }, async (msg) => {
    const progress = msg.checkpoint ?? { counter: 0 };
    progress.counter += 2;
    await msg.acknowledge(progress);
    killed();
    await new Promise((resolve) => msg.signal.addEventListener("abort", resolve));
    assert.ok(msg.signal.aborted, "connection loss aborts the signal");
  });
  await s1.start();
  await first.publish(topic, { job: 1 });
  await holding;
  await first.close(); // the consumer dies mid-handler

  const second = new Connection({ url: w.url, credentials: admin });
  let resumed;
  const got = new Promise((r) => (resumed = r));
  const s2 = second.subscribe({ topic, channel: "work" }, async (msg) => {
    const progress = msg.checkpoint ?? { counter: 0 };
    while (progress.counter < 3) {
      progress.counter += 1;
      await msg.acknowledge(progress);
    }
    await msg.finish(progress);
    resumed({ checkpoint: msg.checkpoint, attempt: msg.attempt, counter: progress.counter });
  });
  await s2.start();
  const r = await got;
  assert.deepEqual(r, { checkpoint: { counter: 3 }, attempt: 2, counter: 3 });
  await second.close();
});

test("the signal aborts at the handler timeout; the message comes back", async () => {
  const bus = new Connection({ url: w.url, credentials: admin });
  const topic = uniqueName("timeout");
  const seen = [];
  // The client's own deadline and the bus's redelivery are independent: wait for both.
  const two = waiter(() => seen.length === 2 && seen[0].reason !== undefined, "abort and redelivery after the deadline");
  const sub = bus.subscribe({ topic, channel: "c", handlerTimeout: 1_000 }, async (msg) => {
    seen.push({ attempt: msg.attempt, abortedAtStart: msg.signal.aborted });
    two.poke();
    if (msg.attempt > 1) return;
    await new Promise((resolve) => msg.signal.addEventListener("abort", resolve));
    seen[0].aborted = msg.signal.aborted;
    seen[0].reason = msg.signal.reason?.code;
    two.poke();
  });
  await sub.start();
  await bus.publish(topic, { slow: true });
  await two.done;
  assert.deepEqual(seen[0], { attempt: 1, abortedAtStart: false, aborted: true, reason: "timeout" });
  assert.equal(seen[1].attempt, 2);
  await bus.close();
});

test("shelve gives a message back with its state, not as a failure", async () => {
  const bus = new Connection({ url: w.url, credentials: admin });
  const topic = uniqueName("shelve");
  const seen = [];
  const two = waiter(() => seen.length === 2, "redelivery after shelve");
  const sub = bus.subscribe({ topic, channel: "c" }, async (msg) => {
    seen.push({ attempt: msg.attempt, failures: msg.failures, checkpoint: msg.checkpoint });
    two.poke();
    if (!msg.checkpoint) await msg.shelve({ step: 7 }, { delayMs: 10 });
  });
  await sub.start();
  await bus.publish(topic, { job: true });
  await two.done;
  assert.deepEqual(seen, [
    { attempt: 1, failures: 0, checkpoint: null },
    { attempt: 2, failures: 0, checkpoint: { step: 7 } },
  ]);
  await bus.close();
});

test("request-response: the first respond wins; no responder means TimeoutError", async () => {
  const bus = new Connection({ url: w.url, credentials: admin });
  const topic = uniqueName("rpc.add");
  const responders = [];
  for (let i = 0; i < 2; i++) {
    const s = bus.subscribe({ topic, channel: "adders" }, async (msg) => {
      assert.equal(msg.reply, true);
      await msg.respond({ sum: msg.data.a + msg.data.b, by: i });
    });
    await s.start();
    responders.push(s);
  }
  const reply = await bus.request(topic, { a: 1, b: 2 }, { timeoutMs: 10_000 });
  assert.equal(reply.data.sum, 3);
  assert.equal(reply.event.type, topic + ".response");
  assert.equal(reply.event.source, "/admin");
  await Promise.all(responders.map((s) => s.stop()));
  await assert.rejects(bus.request(topic, { a: 1, b: 1 }, { timeoutMs: 300 }), (e) => {
    assert.ok(e instanceof TimeoutError);
    assert.equal(e.code, "timeout");
    assert.equal(e.status, 504);
    return true;
  });
  await bus.close();
});

test("errors carry the contract's codes and classes", async () => {
  const creds = await newClient(uniqueName("limited"), { publish: ["allowed.*"], subscribe: ["allowed.*"] });
  const bus = new Connection({ url: w.url, credentials: creds });
  await assert.rejects(bus.publish("other", 1), (e) => e instanceof ForbiddenError && e.status === 403);
  await assert.rejects(bus.publish("bad name", 1), (e) => e instanceof InvalidRequestError && e.code === "invalid_name");
  const sub = bus.subscribe({ topic: "other", channel: "c" }, () => {});
  await assert.rejects(sub.start(), (e) => e instanceof ForbiddenError);
  const wrong = new Connection({ url: w.url, credentials: { login: creds.login, secret: "nope" } });
  await assert.rejects(wrong.publish("allowed.x", 1), (e) => e instanceof UnauthorizedError && e.code === "unauthorized");
  const s2 = wrong.subscribe({ topic: "allowed.x", channel: "c" }, () => {});
  await assert.rejects(s2.start(), UnauthorizedError);
  await bus.close();
  await wrong.close();
});

test("token credentials, the ws package as WebSocket (Node 20), and a typed event map", async () => {
  const creds = await newClient(uniqueName("tok"));
  const t = await call(w.url, "POST", "/v1/tokens", {
    body: { ttl_s: 600 },
    headers: { authorization: "Basic " + Buffer.from(`${creds.login}:${creds.secret}`).toString("base64") },
  });
  assert.equal(t.status, 201);
  const bus = new Connection({ url: w.url, credentials: { token: t.body.token }, WebSocket });
  const events = [];
  for (const type of ["connecting", "connected", "disconnected", "error"]) bus.on(type, () => events.push(type));
  const topic = uniqueName("tok");
  let got;
  const one = new Promise((r) => (got = r));
  const sub = bus.subscribe({ topic, channel: "c" }, (msg) => got(msg.data));
  await sub.start();
  await bus.publish(topic, { via: "token" });
  assert.deepEqual(await one, { via: "token" });
  assert.deepEqual(events.slice(0, 2), ["connecting", "connected"]);
  await bus.close();
  assert.equal(bus.state, "closed");
});

test("reconnects after the runtime restarts; nothing acknowledged is lost", async () => {
  const dir = tempDir();
  let w1 = await startWorker({ persist: dir });
  const port = Number(new URL(w1.url).port);
  const bus = new Connection({ url: w1.url, credentials: admin, reconnect: { min: 50, max: 500 } });
  const topic = uniqueName("restart");
  const done = new Set();
  let reconnects = 0;
  bus.on("connected", () => (reconnects += 1));
  const twenty = waiter(() => done.size === 20, "20 distinct messages finished", 60_000);
  const ten = waiter(() => done.size >= 10, "first 10");
  const sub = bus.subscribe({ topic, channel: "c", maxInFlight: 5 }, async (msg) => {
    await msg.finish();
    done.add(msg.data.n);
    ten.poke();
    twenty.poke();
  });
  await sub.start();
  for (let n = 0; n < 10; n++) await bus.publish(topic, { n }, { id: `e${n}` });
  await ten.done;
  await w1.stop();
  const w2 = await startWorker({ persist: dir, port });
  try {
    for (let n = 10; n < 20; n++) await bus.publish(topic, { n }, { id: `e${n}` });
    await twenty.done;
    assert.ok(reconnects >= 2, `reconnected (${reconnects} welcomes)`);
    assert.deepEqual([...done].sort((a, b) => a - b), [...Array(20).keys()]);
  } finally {
    await bus.close();
    await w2.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("golden fixtures decode the same in the JS package as in Rust", () => {
  const dir = join(ROOT, "tests/fixtures");
  for (const [kind, decode] of [
    ["frames", decodeClientFrame],
    ["server-frames", decodeServerFrame],
  ]) {
    const files = readdirSync(join(dir, kind)).filter((f) => f.endsWith(".json"));
    assert.ok(files.length >= 3, kind);
    for (const f of files) {
      const text = readFileSync(join(dir, kind, f), "utf8").trim();
      assert.equal(decode(text), f.replace(/\.json$/, ""), `${kind}/${f}`);
    }
  }
});

test("browsers on other origins may call the API (CORS)", async () => {
  const pre = await fetch(`${w.url}/v1/topics/x/events`, {
    method: "OPTIONS",
    headers: { origin: "http://example.test", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-origin"), "*");
  assert.match(pre.headers.get("access-control-allow-headers"), /authorization/);
  const r = await call(w.url, "GET", "/v1/health");
  assert.equal(r.headers.get("access-control-allow-origin"), "*");
});
