// The client's v1.1 features against the Worker in workerd: token providers (expiry, a
// 4001 retried once, across a runtime restart), AbortSignal everywhere, the logger,
// `for await` consumption, batched deliveries with coalesced acknowledgements, publishing
// over the publisher socket (bursts batched, publishes made while the runtime is down sent
// on reconnect), and why a message's signal aborted.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { Connection, DisconnectedError, UnauthorizedError } from "../../js/dist/node.js";
import { ADMIN_TOKEN, call, startWorker, tempDir, topicStats, uniqueName, waiter } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
});
after(async () => {
  await w?.destroy();
});

const admin = { token: ADMIN_TOKEN };
const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function newClient(url) {
  const login = uniqueName("c");
  const r = await call(url, "POST", "/v1/clients", { body: { login }, headers: adminHeaders });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function mint(url, creds, ttl_s) {
  const basic = "Basic " + Buffer.from(`${creds.login}:${creds.secret}`).toString("base64");
  const r = await call(url, "POST", "/v1/tokens", { body: { ttl_s }, headers: { authorization: basic } });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

test("a token provider keeps a subscriber alive past its token's expiry and a runtime restart", async () => {
  const dir = tempDir();
  let w1 = await startWorker({ persist: dir, vars: { ALLOW_ANONYMOUS: "false" } });
  const port = Number(new URL(w1.url).port);
  const creds = await newClient(w1.url);
  const first = await mint(w1.url, creds, 1);
  // Until the bus refuses it, the provider hands out the first (soon expired) token;
  // after a 4001 it asks the bus for a fresh one, as a real provider would.
  let refused = false;
  let calls = 0;
  const provider = async () => {
    calls += 1;
    return refused ? (await mint(w1.url, creds, 600)).token : first.token;
  };
  const bus = new Connection({ url: w1.url, credentials: { token: provider }, reconnect: { min: 50, max: 300 }, connectTimeout: 2_000 });
  const codes = [];
  bus.on("disconnected", (e) => {
    codes.push(e.code);
    if (e.code === 4001) refused = true;
  });
  const topic = uniqueName("expiry");
  const got = [];
  // At least once: a fin the stopped runtime had not committed brings event 1 again.
  const seen = waiter(() => got.includes(1) && got.includes(2), "events 1 and 2");
  const sub = bus.subscribe({ topic, channel: "c" }, (msg) => {
    got.push(msg.data.n);
    seen.poke();
  });
  await sub.start();
  await call(w1.url, "POST", `/v1/topics/${topic}/events`, { body: { n: 1 }, headers: adminHeaders });
  await w1.stop();
  // The token expires while the runtime is down (the next connect must be refused).
  while (Date.now() < first.expires_at + 1_100) await new Promise((r) => setTimeout(r, 100));
  w1 = await startWorker({ persist: dir, port, vars: { ALLOW_ANONYMOUS: "false" } });
  try {
    const back = waiter(() => sub.state === "connected" && refused, "reconnected after a 4001");
    bus.on("connected", () => back.poke());
    back.poke();
    await back.done;
    await call(w1.url, "POST", `/v1/topics/${topic}/events`, { body: { n: 2 }, headers: adminHeaders });
    await seen.done;
    assert.deepEqual([...new Set(got)], [1, 2]);
    assert.ok(codes.includes(4001), `the expired token was refused (${codes})`);
    assert.ok(calls >= 3, `the provider was called at every connect (${calls})`);
  } finally {
    await bus.close();
    await w1.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a second 4001 in a row is final; a static expired token is refused at once", async () => {
  let calls = 0;
  const bus = new Connection({ url: w.url, credentials: { token: () => (calls++, "not-a-token") } });
  await assert.rejects(bus.subscribe({ topic: uniqueName("t"), channel: "c" }, () => {}).start(), UnauthorizedError);
  assert.equal(calls, 2, "asked once more after the first 4001");
  const creds = await newClient(w.url);
  const t = await mint(w.url, creds, 1);
  while (Date.now() < t.expires_at + 1_100) await new Promise((r) => setTimeout(r, 100));
  const stale = new Connection({ url: w.url, credentials: { token: t.token } });
  await assert.rejects(stale.subscribe({ topic: uniqueName("t"), channel: "c" }, () => {}).start(), UnauthorizedError);
  // HTTP calls ask a provider again after a 401, once.
  let n = 0;
  const fresh = new Connection({ url: w.url, credentials: { token: () => (n++ === 0 ? "stale" : ADMIN_TOKEN) } });
  const meta = await fresh.publish(uniqueName("http"), { ok: true });
  assert.equal(meta.seq, 1);
  assert.equal(n, 2);
  await Promise.all([bus.close(), stale.close(), fresh.close()]);
});

test("signals: the connection's closes it; publish, request and start reject when aborted", async () => {
  const ac = new AbortController();
  const bus = new Connection({ url: w.url, credentials: admin, signal: ac.signal });
  const topic = uniqueName("signal");
  const sub = bus.subscribe({ topic, channel: "c" }, () => {});
  await sub.start();
  const aborted = new AbortController();
  aborted.abort(new Error("changed my mind"));
  await assert.rejects(bus.publish(topic, 1, { signal: aborted.signal }), /changed my mind/);
  const req = new AbortController();
  const pending = bus.request(uniqueName("nobody"), {}, { timeoutMs: 20_000, signal: req.signal });
  req.abort(new Error("stop waiting"));
  await assert.rejects(pending, /stop waiting/);
  const st = new AbortController();
  const other = bus.subscribe({ topic, channel: "d" }, () => {});
  const starting = other.start({ signal: st.signal });
  st.abort();
  await assert.rejects(starting);
  assert.equal(other.state, "stopped");
  ac.abort(); // closes at once (the rest of close() is waiting for what was in flight)
  assert.equal(bus.state, "closed");
  assert.equal(sub.state, "stopped");
  await assert.rejects(bus.publish(topic, 1), (e) => e instanceof DisconnectedError && e.code === "closed");
});

test("the logger hears connects and disconnects; it is silent by default", async () => {
  const lines = [];
  const logger = Object.fromEntries(["debug", "info", "warn", "error"].map((l) => [l, (m, f) => lines.push({ l, m, f })]));
  const bus = new Connection({ url: w.url, credentials: admin, logger });
  const sub = bus.subscribe({ topic: uniqueName("log"), channel: "c" }, () => {});
  await sub.start();
  await bus.close();
  assert.ok(lines.some((x) => x.l === "info" && x.m === "ismld: connected" && x.f.subscription === sub.fullChannelName), JSON.stringify(lines));
  assert.ok(lines.some((x) => x.l === "debug" && x.m === "ismld: connecting"));
  assert.ok(!JSON.stringify(lines).includes(ADMIN_TOKEN), "no credential in any line");
});

test("for await consumes: the body settles or moves on (finish); break stops and gives back the rest", async () => {
  const bus = new Connection({ url: w.url, credentials: admin });
  const topic = uniqueName("iter");
  await bus.admin.createChannel(topic, "c");
  for (let n = 1; n <= 5; n++) await bus.publish(topic, { n });
  const seen = [];
  for await (const msg of bus.consume({ topic, channel: "c", maxInFlight: 3 })) {
    seen.push(msg.data.n);
    if (msg.data.n === 2) await msg.requeue({ delayMs: 60_000 });
    if (seen.length === 3) break;
  }
  // The bus sees the socket close on its own time: wait for it to take the messages back.
  let c;
  for (let i = 0; i < 100; i++) {
    c = (await bus.stats(topic)).channels[0];
    if (c.in_flight === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(c.finished_total, 1, "the body moved on from the first: finished");
  assert.equal(c.deferred, 1, "the second was requeued by the body");
  assert.equal(c.in_flight, 0, "the one it broke on and those not taken went back with the socket");
  assert.equal(c.ready, 3);
  assert.equal(c.requeued_total >= 1, true);
  await bus.close();
});

test("batched deliveries and coalesced acknowledgements: many fins in few frames, each promise answered", async () => {
  const bus = new Connection({ url: w.url, credentials: admin });
  const topic = uniqueName("batch");
  await bus.admin.createChannel(topic, "c");
  await bus.publishBatch(topic, Array.from({ length: 200 }, (_, n) => ({ data: { n } })));
  const done = [];
  const all = waiter(() => done.length === 200, "200 finished");
  const sub = bus.subscribe({ topic, channel: "c", maxInFlight: 100 }, async (msg) => {
    await msg.finish();
    done.push(msg.id);
    all.poke();
  });
  await sub.start();
  await all.done;
  const c = await topicStats(w.url, topic, "c", adminHeaders);
  assert.equal(c.finished_total, 200);
  assert.equal(c.depth, 0);
  await bus.close();
});

test("publishing over the socket: a burst goes in batches, each answered once durable, ids dedup", async () => {
  const bus = new Connection({ url: w.url, credentials: admin, publishing: { via: "socket", lingerMs: 2 } });
  const topic = uniqueName("pubsock");
  const results = await Promise.all(Array.from({ length: 300 }, (_, n) => bus.publish(topic, { n }, n === 7 ? { id: "seven" } : {})));
  assert.deepEqual(results.map((r) => r.seq).sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i + 1));
  assert.ok(results.every((r) => r.topic === topic && r.partition === 0 && !r.duplicate));
  const again = await bus.publish(topic, { n: 7 }, { id: "seven" });
  assert.equal(again.duplicate, true);
  assert.equal(again.seq, results[7].seq);
  const stats = await bus.stats(topic);
  assert.equal(stats.seq, 300);
  // auto: a lone publish goes by HTTP; a burst switches to the socket.
  const auto = new Connection({ url: w.url, credentials: admin });
  const one = await auto.publish(topic, "alone");
  assert.equal(one.seq, 301);
  await Promise.all(Array.from({ length: 20 }, (_, n) => auto.publish(topic, { n })));
  await Promise.all([bus.close(), auto.close()]);
});

test("a steady stream of socket publishes goes out while it lasts (the linger is not re-armed by each publish)", async () => {
  // One publish per timer tick: a linger timer re-armed by every publish would never fire,
  // and nothing would be sent until the stream stopped.
  const frames = [];
  let made = 0;
  class Recording extends WebSocket {
    send(data) {
      if (JSON.parse(data).op === "pub") frames.push(made);
      super.send(data);
    }
  }
  const bus = new Connection({ url: w.url, credentials: admin, WebSocket: Recording, publishing: { via: "socket", lingerMs: 3 } });
  const topic = uniqueName("stream");
  await bus.publish(topic, { warm: true });
  frames.length = 0;
  const pending = [];
  for (made = 1; made <= 200; made++) {
    pending.push(bus.publish(topic, { n: made }));
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const during = frames.filter((m) => m < 200).length;
  assert.ok(during >= 10, `frames went out while publishing (${during} of ${frames.length} before the last publish)`);
  await bus.close();
});

test("publishes made while the runtime is down wait and are sent on reconnect, once", async () => {
  const dir = tempDir();
  let w1 = await startWorker({ persist: dir });
  const port = Number(new URL(w1.url).port);
  const bus = new Connection({ url: w1.url, credentials: admin, publishing: { via: "socket" }, reconnect: { min: 50, max: 300 }, connectTimeout: 2_000 });
  const topic = uniqueName("queued");
  await bus.publish(topic, { n: 0 });
  await w1.stop();
  const waiting = Array.from({ length: 10 }, (_, i) => bus.publish(topic, { n: i + 1 }));
  w1 = await startWorker({ persist: dir, port });
  try {
    const results = await Promise.all(waiting);
    assert.deepEqual(results.map((r) => r.seq).sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => i + 2));
    assert.equal((await bus.stats(topic)).seq, 11, "each once");
  } finally {
    await bus.close();
    await w1.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("auto publishing: once the bus is unreachable over HTTP, publishes wait on the socket path and are sent on reconnect", async () => {
  const dir = tempDir();
  let w1 = await startWorker({ persist: dir });
  const port = Number(new URL(w1.url).port);
  const bus = new Connection({ url: w1.url, credentials: admin, reconnect: { min: 50, max: 300 }, connectTimeout: 2_000 });
  const topic = uniqueName("auto-down");
  await bus.publish(topic, { n: 0 }); // over HTTP: nothing in flight, no socket open
  await w1.stop();
  // Without an id and the first to meet the outage: it may have been stored, so it fails.
  await assert.rejects(bus.publish(topic, { n: -1 }), DisconnectedError);
  // Made after the failure, and one with an id: both wait for the bus.
  const waiting = [bus.publish(topic, { n: 1 }), bus.publish(topic, { n: 2 }, { id: "kept-id" })];
  w1 = await startWorker({ persist: dir, port });
  try {
    const results = await Promise.all(waiting);
    assert.deepEqual(results.map((r) => r.seq).sort(), [2, 3]);
    assert.equal((await bus.stats(topic)).seq, 3, "each once");
  } finally {
    await bus.close();
    await w1.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("msg.signal.reason says why: disconnected, closed", async () => {
  const dir = tempDir();
  const w1 = await startWorker({ persist: dir });
  const bus = new Connection({ url: w1.url, credentials: admin, reconnect: { min: 50, max: 300 }, connectTimeout: 2_000 });
  const topic = uniqueName("why");
  const reasons = [];
  let deliveries = 0;
  const first = waiter(() => deliveries >= 1, "the first delivery");
  const second = waiter(() => deliveries >= 2, "the redelivery");
  const aborted = waiter(() => reasons.length >= 1, "the first abort");
  const sub = bus.subscribe({ topic, channel: "c" }, async (msg) => {
    deliveries += 1;
    first.poke();
    second.poke();
    await new Promise((r) => msg.signal.addEventListener("abort", r));
    reasons.push(msg.signal.reason.code);
    aborted.poke();
  });
  await sub.start();
  await bus.publish(topic, { n: 1 });
  await first.done;
  await w1.stop(); // the runtime dies while the handler holds the message
  await aborted.done;
  const w2 = await startWorker({ persist: dir, port: Number(new URL(w1.url).port) });
  try {
    await second.done; // redelivered after the reconnect, held again
    await bus.close();
    assert.deepEqual(reasons, ["disconnected", "closed"]);
  } finally {
    await w2.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a string with a JSON content type is JSON text: sent byte for byte as a plain body, as its value in a CloudEvent", async () => {
  const bus = new Connection({ url: w.url, credentials: { token: ADMIN_TOKEN } });
  const topic = uniqueName("jsontext");
  const got = [];
  const all = waiter(() => got.length === 2, "both events");
  const sub = bus.subscribe({ topic, channel: "c", maxInFlight: 5 }, (m) => {
    got.push(m);
    all.poke();
  });
  await sub.start();
  await bus.publish(topic, '{"a": 1.50}', { contentType: "application/json" });
  await bus.publish(topic, '{"b":2}', { contentType: "application/json", id: "j-2" });
  await all.done;
  assert.deepEqual(got.map((m) => m.data), [{ a: 1.5 }, { b: 2 }], "the values, not strings");
  assert.equal(got[0].event.datacontenttype, "application/json");
  await assert.rejects(bus.publish(topic, "not json", { contentType: "application/json", id: "j-3" }), (e) => e.code === "invalid_request");
  await sub.stop();
  await bus.close();
});
