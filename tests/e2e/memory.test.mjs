// The `memory://` bus: the same package API and semantics, with the server core running
// in-process (no Worker, no network).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Connection, InvalidRequestError, TimeoutError } from "../../js/dist/memory-node.js";

let n = 0;
const url = () => `memory://test-${process.pid}-${++n}`;

test("publish, subscribe, checkpoints and redelivery on memory://", async () => {
  const bus = new Connection({ url: url(), namePrefix: "[DEV]", backoff: 50 });
  const seen = [];
  let done;
  const finished = new Promise((r) => (done = r));
  const sub = bus.subscribe({ topic: "jobs", channel: "workers", maxInFlight: 2 }, async (msg) => {
    seen.push({ n: msg.data.n, attempt: msg.attempt, checkpoint: msg.checkpoint });
    if (msg.attempt === 1 && msg.data.n === 1) {
      await msg.acknowledge({ step: 1 });
      throw new Error("first try fails");
    }
    if (seen.filter((s) => s.attempt >= 1).length === 3) done();
  });
  assert.equal(sub.fullChannelName, "[DEV]workers@[DEV]jobs");
  await sub.start();
  const meta = await bus.publish("jobs", { n: 1 });
  assert.deepEqual(meta, { topic: "[DEV]jobs", id: "0000000000000001", seq: 1, partition: 0, duplicate: false });
  await bus.publish("jobs", { n: 2 });
  await finished;
  const retry = seen.find((s) => s.n === 1 && s.attempt === 2);
  assert.deepEqual(retry.checkpoint, { step: 1 }, "the redelivery carries the checkpoint");
  const stats = await bus.stats("jobs");
  assert.equal(stats.channels[0].requeued_total, 1);
  await bus.close();
});

test("dedup, ordering keys, batches, request-response and errors on memory://", async () => {
  const bus = new Connection({ url: url() });
  const a = await bus.publish("t", 1, { id: "k1" });
  const b = await bus.publish("t", 1, { id: "k1" });
  assert.equal(b.duplicate, true);
  assert.equal(b.seq, a.seq);
  await assert.rejects(bus.publish("bad topic", 1), (e) => e instanceof InvalidRequestError && e.code === "invalid_name");
  await assert.rejects(bus.publish("t", 1, { delayMs: 8 * 24 * 3600 * 1000 }), InvalidRequestError);
  // A memory:// topic has one partition: 0 may be named, another is refused.
  assert.equal((await bus.publish("t", 2, { partition: 0 })).partition, 0);
  await assert.rejects(bus.publish("t", 3, { partition: 1 }), (e) => e instanceof InvalidRequestError && /partition must be 0\.\.0 on this topic/.test(e.message));
  // The same over the socket path, from a connection that has not opened a socket yet, twice.
  const sockets = new Connection({ url: url(), publishing: { via: "socket" } });
  for (let i = 0; i < 2; i++) await assert.rejects(sockets.publish("t2", 3, { partition: 1 }), (e) => e instanceof InvalidRequestError && /no partition 1/.test(e.message));
  assert.equal((await sockets.publish("t2", 4, { partition: 0 })).partition, 0);
  await sockets.close();

  const order = [];
  let all;
  const six = new Promise((r) => (all = r));
  const sub = bus.subscribe({ topic: "ordered", channel: "c", maxInFlight: 10 }, async (msg) => {
    order.push(msg.data);
    await new Promise((r) => setTimeout(r, 1));
    if (order.length === 6) all();
  });
  await sub.start();
  await bus.publishBatch("ordered", [1, 2, 3, 4, 5, 6].map((i) => ({ data: i, orderingKey: i % 2 ? "odd" : "even" })));
  await six;
  const odd = order.filter((i) => i % 2);
  assert.deepEqual(odd, [1, 3, 5], "per-key order");

  const responder = bus.subscribe({ topic: "rpc", channel: "r" }, (msg) => msg.respond({ sum: msg.data.a + msg.data.b }));
  await responder.start();
  const reply = await bus.request("rpc", { a: 2, b: 3 }, { timeoutMs: 2_000 });
  assert.equal(reply.data.sum, 5);
  assert.equal(reply.event.type, "rpc.response");
  await assert.rejects(bus.request("nobody", {}, { timeoutMs: 50 }), TimeoutError);
  await bus.close();
});

test("connections to the same memory:// URL share one bus; other URLs do not", async () => {
  const u = url();
  const pub = new Connection({ url: u });
  const subConn = new Connection({ url: u });
  const other = new Connection({ url: url() });
  let got;
  const one = new Promise((r) => (got = r));
  await subConn.subscribe({ topic: "shared", channel: "c" }, (m) => got(m.data)).start();
  await pub.publish("shared", "hello");
  assert.equal(await one, "hello");
  await assert.rejects(other.stats("shared"), (e) => e.code === "not_found");
  await Promise.all([pub.close(), subConn.close(), other.close()]);
});

test("a handler may await its own subscriber's stop(): it waits for the other handlers, not for that one", async () => {
  const bus = new Connection({ url: url() });
  let release;
  const slow = new Promise((r) => (release = r));
  let slowDone = false;
  let stopping;
  let calledStop;
  const called = new Promise((r) => (calledStop = r));
  const sub = bus.subscribe({ topic: "s", channel: "c", maxInFlight: 2 }, async (msg) => {
    if (msg.data === "slow") {
      await slow;
      slowDone = true;
      return;
    }
    await new Promise((r) => setImmediate(r)); // later in the handler, not in its first tick
    stopping = sub.stop();
    calledStop();
    await stopping;
    return slowDone;
  });
  await sub.start();
  await bus.publish("s", "slow");
  await bus.publish("s", "stopper");
  await called;
  let settled = false;
  void stopping.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, "stop() waits for the slow handler");
  release();
  await stopping;
  assert.equal(slowDone, true, "it resolved after the other handler returned");
  await sub.stop();
  await bus.close();
});
