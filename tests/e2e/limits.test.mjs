// Limits and retention on a Worker configured with small limits through its vars.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, call, publish, cloudEvent, uniqueName, Socket } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker({
    vars: { MAX_BATCH_EVENTS: "3", MAX_TOPIC_EVENTS: "4", RETENTION_MS: "1000", MAX_EVENT_BYTES: "2048" },
  });
});
after(async () => {
  await w?.destroy();
});

const batch = (topic, events) =>
  call(w.url, "POST", `/v1/topics/${topic}/events`, {
    raw: JSON.stringify(events),
    headers: { "content-type": "application/cloudevents-batch+json" },
  });

async function topicStats(topic) {
  return (await call(w.url, "GET", `/v1/topics/${topic}`)).body;
}

/** Polls a condition through the API (each poll is a round trip), up to `ms`. */
async function until(what, cond, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("event and batch size limits answer 413 and append nothing", async () => {
  const topic = uniqueName();
  const big = await publish(w.url, topic, cloudEvent("big", "x".repeat(4096)));
  assert.equal(big.status, 413);
  assert.equal(big.body.error.code, "payload_too_large");
  const four = await batch(topic, [1, 2, 3, 4].map((i) => cloudEvent(`b${i}`, i)));
  assert.equal(four.status, 413);
  assert.equal((await call(w.url, "GET", `/v1/topics/${topic}`)).status, 404, "nothing was appended");
  const three = await batch(topic, [1, 2, 3].map((i) => cloudEvent(`b${i}`, i)));
  assert.equal(three.status, 201);
});

test("a full topic refuses with 507 storage_full; retention frees it once every channel finished", async () => {
  const topic = uniqueName();
  const c = await Socket.consumer(w.url, topic, "ch", { max_in_flight: 10 });
  for (let i = 1; i <= 4; i++) assert.equal((await publish(w.url, topic, cloudEvent(`f${i}`, i))).status, 201);
  const full = await publish(w.url, topic, cloudEvent("f5", 5));
  assert.equal(full.status, 507);
  assert.equal(full.body.error.code, "storage_full");
  assert.equal((await topicStats(topic)).seq, 4, "data is refused, never dropped");
  // An event some channel has not finished is never pruned.
  const msgs = [await c.msg(), await c.msg(), await c.msg(), await c.msg()];
  for (const m of msgs.slice(0, 3)) await c.request({ op: "fin", id: m.id });
  await until("three events pruned", async () => (await topicStats(topic)).retained === 1);
  const stats = await topicStats(topic);
  assert.equal(stats.seq, 4, "the head is kept");
  const again = await publish(w.url, topic, cloudEvent("f5", 5));
  assert.equal(again.status, 201);
  assert.equal(again.body.seq, 5);
  await c.request({ op: "fin", id: msgs[3].id });
  assert.equal((await c.msg()).seq, 5);
  c.close();
});
