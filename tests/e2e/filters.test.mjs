// Channel filters and expiry end to end (contract section 10) against the Worker: every
// Subscriptions API dialect and a dozen CESQL expressions decide what a consumer gets;
// the JS client's subscribe makes a filtered channel and its publish takes ttlMs; an
// expired message is skipped before delivery and after a requeue; the JS admin API makes
// a push channel.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Connection } from "ismld";
import { startWorker, call, uniqueName, Socket, ADMIN_TOKEN } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.destroy();
});

const enc = encodeURIComponent;
const EVENTS = [
  { id: "e1", type: "order.created", source: "/shop/eu", subject: "orders/1", region: "eu", amount: 120, vip: true },
  { id: "e2", type: "order.created", source: "/shop/us", subject: "orders/2", region: "us", amount: 15 },
  { id: "e3", type: "order.shipped", source: "/shop/eu", subject: "orders/1", region: "eu", amount: 120 },
  { id: "e4", type: "invoice.sent", source: "/billing", region: "apac", amount: 99 },
  { id: "e5", type: "order.cancelled", source: "/shop/eu", subject: "orders/3", amount: 7 },
];

/** Makes a channel with `filter`, publishes EVENTS, and answers the ids a consumer gets. */
async function delivered(filter) {
  const topic = uniqueName("flt");
  const put = await call(w.url, "PUT", `/v1/topics/${enc(topic)}/channels/c`, { body: { filter } });
  assert.equal(put.status, 201, `${JSON.stringify(filter)}: ${put.text}`);
  const c = await Socket.consumer(w.url, topic, "c", { max_in_flight: 100 });
  const list = EVENTS.map((e) => ({ specversion: "1.0", data: {}, ...e }));
  const r = await call(w.url, "POST", `/v1/topics/${enc(topic)}/events`, {
    raw: JSON.stringify(list),
    headers: { "content-type": "application/cloudevents-batch+json" },
  });
  assert.equal(r.status, 201, r.text);
  const ids = (await c.barrier()).map((m) => m.event.id);
  const stats = (await call(w.url, "GET", `/v1/topics/${enc(topic)}`)).body.channels[0];
  assert.equal(stats.filtered_total, EVENTS.length - ids.length, "the others are counted as filtered");
  assert.deepEqual(stats.filter, filter, "stats show the filter");
  c.close();
  return ids;
}

test("every Subscriptions API dialect decides what the channel gets", async () => {
  const cases = [
    [{ exact: { type: "order.created" } }, ["e1", "e2"]],
    [{ exact: { type: "order.created", region: "eu" } }, ["e1"]],
    [{ prefix: { type: "order." } }, ["e1", "e2", "e3", "e5"]],
    [{ suffix: { source: "/eu" } }, ["e1", "e3", "e5"]],
    [{ all: [{ prefix: { type: "order." } }, { exact: { region: "eu" } }] }, ["e1", "e3"]],
    [{ any: [{ exact: { type: "invoice.sent" } }, { suffix: { subject: "/3" } }] }, ["e4", "e5"]],
    [{ not: { prefix: { type: "order." } } }, ["e4"]],
    [[{ prefix: { type: "order." } }, { exact: { subject: "orders/1" } }], ["e1", "e3"]],
  ];
  for (const [filter, want] of cases) assert.deepEqual(await delivered(filter), want, JSON.stringify(filter));
});

test("CESQL expressions decide what the channel gets; a CESQL error counts as no match", async () => {
  const cases = [
    ["type = 'order.created'", ["e1", "e2"]],
    ["type LIKE 'order.%' AND region = 'eu'", ["e1", "e3"]],
    ["amount > 100", ["e1", "e3"]],
    ["amount >= 10 AND amount <= 100", ["e2", "e4"]],
    ["region IN ('us', 'apac')", ["e2", "e4"]],
    ["NOT EXISTS region", ["e5"]],
    ["EXISTS vip AND vip", ["e1"]],
    ["UPPER(region) = 'EU'", ["e1", "e3"]],
    ["LENGTH(region) = 2", ["e1", "e2", "e3"]],
    ["source LIKE '/shop/%' AND NOT (type = 'order.shipped')", ["e1", "e2", "e5"]],
    ["CONCAT(type, '@', region) = 'order.created@us'", ["e2"]],
    ["amount % 2 = 0 OR subject = 'orders/3'", ["e1", "e3", "e5"]],
    // e4 has no subject: reading it is an error, which makes the whole expression one (no
    // match), though its other side is true; e5 has no region: the same.
    ["subject = 'orders/1' OR region = 'apac'", ["e1", "e3"]],
  ];
  for (const [sql, want] of cases) assert.deepEqual(await delivered({ sql }), want, sql);
  const bad = await call(w.url, "PUT", `/v1/topics/${enc(uniqueName("flt"))}/channels/c`, { body: { filter: { sql: "type = " } } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, "invalid_request");
  const dialect = await call(w.url, "PUT", `/v1/topics/${enc(uniqueName("flt"))}/channels/c`, { body: { filter: { regex: {} } } });
  assert.equal(dialect.status, 400);
});

test("the JS client: subscribe with a filter makes the channel; publish takes ttlMs", async () => {
  const bus = new Connection({ url: w.url, credentials: { token: ADMIN_TOKEN } });
  const topic = uniqueName("jsflt");
  const got = [];
  let done;
  const two = new Promise((r) => (done = r));
  const sub = bus.subscribe({ topic, channel: "big", maxInFlight: 10, filter: { sql: "amount > 10" } }, (msg) => {
    got.push(msg.data.amount);
    if (got.length === 2) done();
  });
  await sub.start();
  for (const amount of [5, 50, 1, 500]) {
    await bus.publishEvent(topic, { specversion: "1.0", id: `a-${amount}`, source: "/js", type: "t", amount, data: { amount } });
  }
  await two;
  assert.deepEqual(got, [50, 500]);
  const other = bus.subscribe({ topic, channel: "big", filter: { sql: "amount > 11" } }, () => {});
  await assert.rejects(other.start(), (e) => e.code === "conflict", "another filter on the channel is a conflict");

  const short = await bus.publish(topic, { stale: true }, { ttlMs: 1 });
  assert.equal(typeof short.seq, "number");
  await sub.stop();
  await bus.close();
});

test("expiry: skipped before delivery and after a requeue, counted in expired_total", async () => {
  const topic = uniqueName("ttl");
  await call(w.url, "PUT", `/v1/topics/${enc(topic)}/channels/c`);
  const pub = (data, q) =>
    call(w.url, "POST", `/v1/topics/${enc(topic)}/events${q}`, { raw: JSON.stringify(data), headers: { "content-type": "application/json" } });
  // Attached first: delivered in the publish's own call, well within its 1.5 s.
  const c = await Socket.consumer(w.url, topic, "c", { max_in_flight: 1 });
  assert.equal((await pub({ n: "requeued" }, "?ttl_ms=1500")).status, 201);
  const m = await c.msg();
  assert.equal(m.event.data.n, "requeued");
  // Given back with a delay that outlives its expiry: it is not delivered again.
  assert.equal((await c.request({ op: "req", id: m.id, delay_ms: 2000 })).op, "ok");
  const expiry = new Date(Date.now() + 300).toISOString();
  assert.equal((await pub({ n: "expires-soon" }, "")).status, 201);
  const stats = async () => (await call(w.url, "GET", `/v1/topics/${enc(topic)}`)).body.channels[0];
  const second = await c.msg();
  assert.equal(second.event.data.n, "expires-soon");
  assert.equal((await c.request({ op: "fin", id: second.id })).op, "ok");
  const e = { specversion: "1.0", id: "x-1", source: "/t", type: "t", expirytime: expiry, data: { n: "expirytime" } };
  const deferred = await call(w.url, "POST", `/v1/topics/${enc(topic)}/events?delay_ms=600`, {
    raw: JSON.stringify(e),
    headers: { "content-type": "application/cloudevents+json" },
  });
  assert.equal(deferred.status, 201);
  // Both expire while deferred and are dropped then (each poll is a round trip); a fresh
  // event arrives next, the two expired ones never do.
  const end = Date.now() + 20_000;
  while ((await stats()).expired_total !== 2) {
    assert.ok(Date.now() < end, "both expired in time");
  }
  assert.equal((await pub({ n: "fresh" }, "")).status, 201);
  const third = await c.msg();
  assert.equal(third.event.data.n, "fresh", "the expired ones were skipped");
  const s = await stats();
  assert.equal(s.expired_total, 2);
  assert.equal(s.depth, 1, "only the fresh one, in flight");
  c.close();
});

test("expiry: a deferred message that expires stops holding back its key; a ttl past 2^53 ms never expires", async () => {
  const topic = uniqueName("ttlkey");
  await call(w.url, "PUT", `/v1/topics/${enc(topic)}/channels/c`);
  const pub = (data, q) =>
    call(w.url, "POST", `/v1/topics/${enc(topic)}/events${q}`, { raw: JSON.stringify(data), headers: { "content-type": "application/json" } });
  const c = await Socket.consumer(w.url, topic, "c", { max_in_flight: 10 });
  assert.equal((await pub({ n: "a" }, "?ordering_key=k&delay_ms=600000&ttl_ms=400")).status, 201);
  assert.equal((await pub({ n: "b" }, "?ordering_key=k")).status, 201);
  // b waits behind a, deferred for ten minutes, only until a expires.
  const b = await c.msg();
  assert.equal(b.event.data.n, "b");
  assert.equal((await c.request({ op: "fin", id: b.id })).op, "ok");
  // 2^63 ms: stored as the latest time the bus keeps, so given back it comes again.
  assert.equal((await pub({ n: "long" }, "?ttl_ms=9223372036854775808")).status, 201);
  const first = await c.msg();
  assert.equal(first.event.data.n, "long");
  assert.equal((await c.request({ op: "req", id: first.id })).op, "ok");
  const again = await c.msg();
  assert.deepEqual([again.event.data.n, again.attempt], ["long", 2]);
  const s = (await call(w.url, "GET", `/v1/topics/${enc(topic)}`)).body.channels[0];
  assert.equal(s.expired_total, 1, "only a expired");
  c.close();
});

test("expiry: expired events leave depth before any consumer reaches them", async () => {
  const topic = uniqueName("ttldepth");
  await call(w.url, "PUT", `/v1/topics/${enc(topic)}/channels/c`);
  const pub = (data, q) =>
    call(w.url, "POST", `/v1/topics/${enc(topic)}/events${q}`, { raw: JSON.stringify(data), headers: { "content-type": "application/json" } });
  for (const [n, q] of [[1, "?ttl_ms=300"], [2, ""], [3, "?ttl_ms=300"]]) assert.equal((await pub({ n }, q)).status, 201);
  const stats = async () => (await call(w.url, "GET", `/v1/topics/${enc(topic)}`)).body.channels[0];
  assert.equal((await stats()).depth, 3);
  // No consumer, so nothing passes the channel's cursor: as the two expire they leave
  // depth and count as expired.
  const deadline = Date.now() + 10_000;
  let s = await stats();
  while (s.depth !== 1 && Date.now() < deadline) s = await stats();
  assert.deepEqual([s.depth, s.ready, s.expired_total], [1, 1, 2]);
});

test("the JS admin API makes a push channel and shows its settings", async () => {
  const bus = new Connection({ url: w.url, credentials: { token: ADMIN_TOKEN } });
  const topic = uniqueName("jspush");
  const made = await bus.admin.createChannel(topic, "hook", { push: { url: "http://127.0.0.1:9/hook", maxInFlight: 3, retryMs: 500 } });
  assert.equal(made.created, true);
  assert.match(made.push.secret, /^whsec_/);
  const s = await bus.admin.stats(topic);
  const hook = s.channels.find((c) => c.channel === "hook");
  assert.deepEqual([hook.push.url, hook.push.max_in_flight, hook.push.retry_ms, hook.push.secret], ["http://127.0.0.1:9/hook", 3, 500, undefined]);
  await bus.close();
});
