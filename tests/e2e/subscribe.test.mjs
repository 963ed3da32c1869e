// Consuming over WebSockets: NSQ channel semantics, credit, fin/req/touch, deadlines.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, call, publish, cloudEvent, uniqueName, Socket, topicStats } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.destroy();
});

const consumer = (topic, channel, hello) => Socket.consumer(w.url, topic, channel, hello);

async function publishN(topic, n, from = 0) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = await publish(w.url, topic, cloudEvent(`e${from + i}`, { i: from + i }));
    assert.equal(r.status, 201);
    out.push(r.body);
  }
  return out;
}

const stats = (topic, channel) => topicStats(w.url, topic, channel);

test("welcome echoes the session settings", async () => {
  const topic = uniqueName();
  const c = await consumer(topic, "ch", { max_in_flight: 7, heartbeat_ms: 10_000 });
  assert.equal(c.welcome.topic, topic);
  assert.equal(c.welcome.channel, "ch");
  assert.equal(typeof c.welcome.session, "string");
  assert.equal(c.welcome.max_in_flight, 7);
  assert.equal(c.welcome.heartbeat_ms, 10_000);
  c.close();
});

test("every channel gets every event", async () => {
  const topic = uniqueName();
  const a = await consumer(topic, "a", { max_in_flight: 10 });
  const b = await consumer(topic, "b", { max_in_flight: 10 });
  const sent = await publishN(topic, 3);
  for (const s of [a, b]) {
    const got = [await s.msg(), await s.msg(), await s.msg()].map((m) => m.seq);
    assert.deepEqual(got, sent.map((p) => p.seq));
  }
  a.close();
  b.close();
});

test("a channel made by PUT keeps events published before any consumer attaches", async () => {
  const topic = uniqueName();
  const put = await call(w.url, "PUT", `/v1/topics/${topic}/channels/later`);
  assert.equal(put.status, 201);
  assert.equal((await call(w.url, "PUT", `/v1/topics/${topic}/channels/later`)).status, 200);
  const [p] = await publishN(topic, 1);
  const c = await consumer(topic, "later");
  assert.equal((await c.msg()).seq, p.seq);
  c.close();
});

test("consumers on one channel split the messages, each delivered once", async () => {
  const topic = uniqueName();
  const c1 = await consumer(topic, "work", { max_in_flight: 100 });
  const c2 = await consumer(topic, "work", { max_in_flight: 100 });
  await publishN(topic, 10);
  await c1.barrier();
  await c2.barrier();
  const s1 = c1.frames.filter((f) => f.op === "msg").map((m) => m.seq);
  const s2 = c2.frames.filter((f) => f.op === "msg").map((m) => m.seq);
  assert.ok(s1.length > 0 && s2.length > 0, `both consumers got work: ${s1} / ${s2}`);
  assert.deepEqual([...s1, ...s2].sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  c1.close();
  c2.close();
});

test("never more than rdy in flight; fin frees one credit", async () => {
  const topic = uniqueName();
  const c = await consumer(topic, "ch", { max_in_flight: 2 });
  await publishN(topic, 5);
  await c.barrier();
  const first = c.frames.filter((f) => f.op === "msg");
  assert.deepEqual(first.map((m) => m.seq), [1, 2], "max_in_flight 2: two deliveries");
  c.frames = [];
  assert.equal((await c.request({ op: "fin", id: first[0].id })).op, "ok");
  assert.equal((await c.msg()).seq, 3);
  await c.barrier();
  assert.equal(c.frames.filter((f) => f.op === "msg").length, 0, "two in flight again: nothing more");
  c.close();
});

test("rdy changes credit", async () => {
  const topic = uniqueName();
  const c = await consumer(topic, "ch", { max_in_flight: 1 });
  await publishN(topic, 4);
  const m1 = await c.msg();
  c.send({ op: "rdy", count: 0 });
  await c.request({ op: "fin", id: m1.id });
  await c.barrier();
  assert.equal(c.frames.filter((f) => f.op === "msg").length, 0, "rdy 0 pauses deliveries");
  c.send({ op: "rdy", count: 3 });
  const got = [await c.msg(), await c.msg(), await c.msg()].map((m) => m.seq);
  assert.deepEqual(got, [2, 3, 4]);
  const s = await stats(topic, "ch");
  assert.equal(s.in_flight, 3);
  assert.equal(s.finished_total, 1);
  c.close();
});

test("req requeues at once, counting a failure; touch extends the deadline", async () => {
  const topic = uniqueName();
  const c = await consumer(topic, "ch");
  await publishN(topic, 1);
  const m = await c.msg();
  assert.equal(m.attempt, 1);
  assert.equal(m.failures, 0);
  const touched = await c.request({ op: "touch", id: m.id });
  assert.equal(touched.op, "ok");
  assert.ok(touched.deadline >= m.deadline, "touch answers with the new deadline");
  assert.equal((await c.request({ op: "req", id: m.id })).op, "ok");
  const again = await c.msg();
  assert.equal(again.id, m.id);
  assert.equal(again.attempt, 2);
  assert.equal(again.failures, 1);
  assert.equal((await c.request({ op: "fin", id: again.id })).op, "ok");
  const s = await stats(topic, "ch");
  assert.deepEqual(
    [s.depth, s.delivered_total, s.requeued_total, s.finished_total],
    [0, 2, 1, 1],
  );
  c.close();
});

test("a message not finished within handler_timeout_ms is redelivered with attempt + 1", async () => {
  const topic = uniqueName();
  const c = await consumer(topic, "slow", { handler_timeout_ms: 1000 });
  await publishN(topic, 1);
  const m = await c.msg();
  assert.ok(m.deadline > Date.now() - 5000 && m.deadline <= Date.now() + 1500);
  const again = await c.msg(15_000); // the object's alarm fires at the deadline
  assert.equal(again.seq, m.seq);
  assert.equal(again.attempt, 2);
  assert.equal(again.failures, 1);
  assert.ok(again.deadline > m.deadline);
  const late = await c.request({ op: "fin", id: m.id });
  assert.equal(late.op, "ok", "the redelivery went to the same consumer, so fin works");
  const s = await stats(topic, "slow");
  assert.ok(s.timed_out_total >= 1, "counted (a slow machine may let the redelivery time out too)");
  c.close();
});

test("a deadline passing moves the message to another consumer", async () => {
  const topic = uniqueName();
  const stuck = await consumer(topic, "ch", { handler_timeout_ms: 1000 });
  await publishN(topic, 1);
  const m = await stuck.msg();
  stuck.send({ op: "rdy", count: 0 });
  await stuck.barrier();
  const other = await consumer(topic, "ch");
  const again = await other.msg(15_000);
  assert.equal(again.id, m.id);
  assert.equal(again.attempt, 2);
  const refused = await stuck.request({ op: "fin", id: m.id });
  assert.equal(refused.op, "error");
  assert.equal(refused.code, "not_found");
  assert.equal((await other.request({ op: "fin", id: m.id })).op, "ok");
  stuck.close();
  other.close();
});

test("frames: ping/pong, error frames keep the socket open, unknown ids are not_found", async () => {
  const topic = uniqueName();
  const c = await consumer(topic, "ch");
  c.send({ op: "ping" });
  assert.deepEqual(await c.next((f) => f.op === "pong"), { op: "pong" });
  const unknown = await c.request({ op: "dance" });
  assert.equal(unknown.op, "error");
  assert.equal(unknown.code, "invalid_request");
  c.send("{not json");
  const malformed = await c.next((f) => f.op === "error");
  assert.equal(malformed.code, "invalid_request");
  const nf = await c.request({ op: "fin", id: "0000000000000999" });
  assert.equal(nf.code, "not_found");
  const garbage = await c.request({ op: "fin", id: "../etc" });
  assert.equal(garbage.code, "not_found");
  c.send({ op: "ping" });
  await c.next((f) => f.op === "pong");
  assert.equal(c.closed, null, "still open");
  c.close();
});

test("the first frame must be hello (close 4001); a second hello closes 4000", async () => {
  const topic = uniqueName();
  const s = new Socket(w.url, `/v1/topics/${topic}/channels/ch/ws`);
  await s.opened;
  s.send({ op: "rdy", count: 1 });
  assert.equal((await s.waitClosed()).code, 4001);
  const c = await consumer(topic, "ch");
  c.send({ op: "hello" });
  assert.equal((await c.waitClosed()).code, 4000);
});

test("closing a consumer requeues its messages at once, without a failure", async () => {
  const topic = uniqueName();
  const a = await consumer(topic, "ch");
  await publishN(topic, 1);
  const m = await a.msg();
  a.close();
  await a.waitClosed();
  const b = await consumer(topic, "ch");
  const again = await b.msg();
  assert.equal(again.id, m.id);
  assert.equal(again.attempt, 2);
  assert.equal(again.failures, 0);
  b.close();
});

test("channels: pause stops delivery, unpause resumes; delete closes consumers with 4004", async () => {
  const topic = uniqueName();
  const c = await consumer(topic, "ch", { max_in_flight: 10 });
  const paused = await call(w.url, "POST", `/v1/topics/${topic}/channels/ch/pause`);
  assert.equal(paused.status, 200);
  assert.equal(paused.body.paused, true);
  await publishN(topic, 2);
  await c.barrier();
  assert.equal(c.frames.filter((f) => f.op === "msg").length, 0);
  assert.equal((await call(w.url, "POST", `/v1/topics/${topic}/channels/ch/unpause`)).status, 200);
  assert.deepEqual([(await c.msg()).seq, (await c.msg()).seq], [1, 2]);
  const del = await call(w.url, "DELETE", `/v1/topics/${topic}/channels/ch`);
  assert.equal(del.status, 204);
  assert.equal((await c.waitClosed()).code, 4004);
  assert.equal((await call(w.url, "DELETE", `/v1/topics/${topic}/channels/ch`)).status, 404);
  assert.equal((await call(w.url, "POST", `/v1/topics/${topic}/channels/nope/pause`)).status, 404);
});
