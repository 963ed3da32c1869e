// Delivery semantics through the Worker: checkpoints, dead letters, deferral, ordering
// keys, idempotent publish, seek, ephemeral channels, heartbeats, topic deletion.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, call, publish, cloudEvent, uniqueName, Socket, ADMIN_TOKEN, topicStats } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.destroy();
});

const consumer = (topic, channel, hello) => Socket.consumer(w.url, topic, channel, hello);
const chPath = (t, c) => `/v1/topics/${encodeURIComponent(t)}/channels/${encodeURIComponent(c)}`;

const stats = (topic, channel) => topicStats(w.url, topic, channel);

test("checkpoints: a consumer that saved progress and vanished hands it to the next one", async () => {
  const topic = uniqueName();
  const a = await consumer(topic, "ch");
  await publish(w.url, topic, cloudEvent("job", { steps: 3 }));
  const m = await a.msg();
  assert.equal(m.checkpoint, null);
  assert.equal((await a.request({ op: "touch", id: m.id, state: { counter: 1 } })).op, "ok");
  assert.equal((await a.request({ op: "touch", id: m.id, state: { counter: 2 } })).op, "ok");
  a.ws.terminate(); // a crash: no close handshake, no fin
  const b = await consumer(topic, "ch");
  const again = await b.msg();
  assert.equal(again.id, m.id);
  assert.deepEqual(again.checkpoint, { counter: 2 }, "work resumes where it stopped");
  assert.equal(again.failures, 0, "closing before the deadline is not a failure");
  const big = await b.request({ op: "touch", id: m.id, state: "x".repeat(64 * 1024 + 1) });
  assert.equal(big.code, "payload_too_large");
  assert.equal((await b.request({ op: "shelve", id: m.id, state: { counter: 3 } })).op, "ok");
  const shelved = await b.msg();
  assert.deepEqual(shelved.checkpoint, { counter: 3 }, "the refused checkpoint changed nothing");
  assert.equal(shelved.failures, 0, "shelve is not a failure");
  assert.equal(shelved.attempt, 3);
  b.close();
});

test("dead letters: max_attempts failures dead-letter a message; list and redrive it", async () => {
  const topic = uniqueName();
  const c = await consumer(topic, "ch", { max_attempts: 2 });
  const p = await publish(w.url, topic, cloudEvent("poison", { bad: true }));
  const m1 = await c.msg();
  await c.request({ op: "req", id: m1.id, state: { tried: 1 } });
  const m2 = await c.msg();
  assert.equal(m2.failures, 1);
  await c.request({ op: "req", id: m2.id });
  await c.barrier();
  assert.equal(c.frames.filter((f) => f.op === "msg").length, 0, "dead: not redelivered");
  const s = await stats(topic, "ch");
  assert.deepEqual([s.dead, s.depth], [1, 0]);
  const dead = await call(w.url, "GET", `${chPath(topic, "ch")}/dead?limit=10`);
  assert.equal(dead.status, 200);
  assert.equal(dead.body.messages.length, 1);
  const d = dead.body.messages[0];
  assert.deepEqual([d.id, d.seq, d.failures], [p.body.id, p.body.seq, 2]);
  assert.equal(d.event.id, "poison");
  assert.deepEqual(d.checkpoint, { tried: 1 });
  const none = await call(w.url, "POST", `${chPath(topic, "ch")}/dead/redrive`, { body: { ids: ["0000000000000999"] } });
  assert.deepEqual(none.body, { redriven: 0 });
  const r = await call(w.url, "POST", `${chPath(topic, "ch")}/dead/redrive`, { body: { ids: [p.body.id] } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { redriven: 1 });
  const back = await c.msg();
  assert.deepEqual([back.id, back.failures, back.attempt], [p.body.id, 0, 3]);
  assert.equal((await stats(topic, "ch")).dead, 0);
  c.close();
});

test("deferred: delay_ms and deliverafter hold a message until its time; req delay_ms too", async () => {
  const topic = uniqueName();
  const c = await consumer(topic, "ch", { max_in_flight: 10 });
  const t0 = Date.now();
  // Times long enough for the stats below to be read before either is due on a slow machine.
  const late = await publish(w.url, topic, cloudEvent("late", 1), "?delay_ms=6000");
  const at = new Date(Date.now() + 4000).toISOString();
  await publish(w.url, topic, cloudEvent("after", 2, { deliverafter: at }));
  await publish(w.url, topic, cloudEvent("now", 3));
  const first = await c.msg();
  assert.equal(first.event.id, "now");
  assert.equal((await stats(topic, "ch")).deferred, 2);
  const second = await c.msg(10_000);
  assert.equal(second.event.id, "after");
  assert.ok(Date.now() >= Date.parse(at) - 50, "not before deliverafter");
  const third = await c.msg(15_000);
  assert.equal(third.id, late.body.id);
  assert.ok(Date.now() - t0 >= 5950, "not before delay_ms");
  const t1 = Date.now();
  await c.request({ op: "req", id: third.id, delay_ms: 1000 });
  const again = await c.msg(10_000);
  assert.equal(again.id, third.id);
  assert.ok(Date.now() - t1 >= 950);
  const far = await publish(w.url, topic, cloudEvent("far", 1), `?delay_ms=${8 * 24 * 3600 * 1000}`);
  assert.equal(far.status, 400);
  c.close();
});

test("ordering keys: one in flight per key, in seq order; keys do not block each other", async () => {
  const topic = uniqueName();
  const c = await consumer(topic, "ch", { max_in_flight: 10 });
  await publish(w.url, topic, cloudEvent("a1", 1, { orderingkey: "a" }));
  await publish(w.url, topic, cloudEvent("a2", 2, { partitionkey: "a" }));
  await publish(w.url, topic, cloudEvent("a3", 3), "?ordering_key=a");
  await publish(w.url, topic, cloudEvent("b1", 4, { orderingkey: "b" }));
  await publish(w.url, topic, cloudEvent("free", 5));
  const got = await c.barrier();
  assert.deepEqual(got.map((m) => m.event.id), ["a1", "b1", "free"]);
  c.frames = [];
  await c.request({ op: "req", id: got[0].id });
  assert.equal((await c.msg()).event.id, "a1", "a requeued message keeps its place");
  await c.request({ op: "fin", id: got[0].id });
  const a2 = await c.msg();
  assert.equal(a2.event.id, "a2");
  await c.request({ op: "fin", id: a2.id });
  assert.equal((await c.msg()).event.id, "a3");
  c.close();
});

test("idempotent publish: the same source and id within the window is not appended again", async () => {
  const topic = uniqueName();
  const ev = cloudEvent("once", { n: 1 });
  const a = await publish(w.url, topic, ev);
  const b = await publish(w.url, topic, ev);
  assert.equal(b.status, 201);
  assert.deepEqual([b.body.seq, b.body.id, b.body.duplicate], [a.body.seq, a.body.id, true]);
  const other = await publish(w.url, topic, { ...ev, source: "/elsewhere" });
  assert.equal(other.body.duplicate, false);
  const batch = await call(w.url, "POST", `/v1/topics/${topic}/events`, {
    raw: JSON.stringify([cloudEvent("new-1", 1), ev, cloudEvent("new-1", 1), cloudEvent("new-2", 2)]),
    headers: { "content-type": "application/cloudevents-batch+json" },
  });
  assert.equal(batch.status, 201);
  assert.deepEqual(
    batch.body.results.map((r) => [r.seq, r.duplicate]),
    [[3, false], [1, true], [3, true], [4, false]],
  );
  assert.equal((await stats(topic)).body.seq, 4);
});

test("seek by seq and by time; a channel from an earlier seq", async () => {
  const topic = uniqueName();
  const c = await consumer(topic, "ch", { max_in_flight: 10 });
  for (let i = 1; i <= 3; i++) await publish(w.url, topic, cloudEvent(`s${i}`, i));
  for (const m of [await c.msg(), await c.msg(), await c.msg()]) await c.request({ op: "fin", id: m.id });
  const s = await call(w.url, "POST", `${chPath(topic, "ch")}/seek`, { body: { seq: 2 } });
  assert.equal(s.status, 200);
  assert.deepEqual(s.body, { ready: 2 });
  assert.deepEqual([(await c.msg()).seq, (await c.msg()).seq], [2, 3]);
  const future = await call(w.url, "POST", `${chPath(topic, "ch")}/seek`, {
    body: { time: new Date(Date.now() + 60_000).toISOString() },
  });
  assert.deepEqual(future.body, { ready: 0 });
  const past = await call(w.url, "POST", `${chPath(topic, "ch")}/seek`, { body: { time: "2000-01-01T00:00:00Z" } });
  assert.deepEqual(past.body, { ready: 3 });
  const bad = await call(w.url, "POST", `${chPath(topic, "ch")}/seek`, { body: { seq: 1, time: "x" } });
  assert.equal(bad.status, 400);
  const missing = await call(w.url, "POST", `${chPath(topic, "nope")}/seek`, { body: { seq: 1 } });
  assert.equal(missing.status, 404);
  const put = await call(w.url, "PUT", chPath(topic, "replay"), { body: { from_seq: 2 } });
  assert.equal(put.status, 201);
  assert.equal(put.body.depth, 2);
  c.close();
});

test("ephemeral channels are deleted with their last consumer", async () => {
  const topic = uniqueName();
  const name = "live#ephemeral";
  const c = await consumer(topic, name);
  await publish(w.url, topic, cloudEvent("e", 1));
  await c.msg();
  assert.ok(await stats(topic, name), "exists while a consumer is attached");
  c.close();
  await c.waitClosed();
  const probe = await consumer(topic, "probe"); // a round trip through the object
  assert.equal(await stats(topic, name), undefined, "gone with its backlog");
  probe.close();
});

test("a consumer silent for 2 x heartbeat_ms while holding a message is closed with 4008", async () => {
  const topic = uniqueName();
  const c = await consumer(topic, "ch", { heartbeat_ms: 5000, handler_timeout_ms: 600_000 });
  await publish(w.url, topic, cloudEvent("hb", 1));
  const m = await c.msg();
  const closed = await c.waitClosed(60_000);
  assert.equal(closed.code, 4008);
  const other = await consumer(topic, "ch");
  const again = await other.msg();
  assert.equal(again.id, m.id);
  other.close();
});

test("deleting a topic (admin) closes consumers with 4004 and removes its data", async () => {
  const topic = uniqueName();
  const c = await consumer(topic, "ch");
  await publish(w.url, topic, cloudEvent("x", 1));
  await c.msg();
  const anon = await call(w.url, "DELETE", `/v1/topics/${topic}`);
  assert.equal(anon.status, 401);
  const del = await call(w.url, "DELETE", `/v1/topics/${topic}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(del.status, 204);
  assert.equal((await c.waitClosed()).code, 4004);
  assert.equal((await stats(topic)).status, 404);
  assert.equal((await publish(w.url, topic, cloudEvent("x", 1))).body.seq, 1, "a new topic starts again");
});
