// Partitioned topics (contract section 8) against the Worker in workerd: each partition
// its own Durable Object, routing by key or source + id, batches split and atomic per
// partition, one socket per partition, channel operations and stats across partitions.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { startWorker, call, cloudEvent, fnv1a32, uniqueName, Socket, ADMIN_TOKEN } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.destroy();
});

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const enc = encodeURIComponent;
const batch = (events, query = "") =>
  call(w.url, "POST", `/v1/topics/${enc(events.topic)}/events${query}`, {
    raw: JSON.stringify(events.list),
    headers: { "content-type": "application/cloudevents-batch+json" },
  });
const one = (topic, e, query = "") =>
  call(w.url, "POST", `/v1/topics/${enc(topic)}/events${query}`, {
    raw: JSON.stringify(e),
    headers: { "content-type": "application/cloudevents+json" },
  });
const stats = async (topic) => (await call(w.url, "GET", `/v1/topics/${enc(topic)}`, { headers: admin })).body;
const channelPath = (topic, channel) => `/v1/topics/${enc(topic)}/channels/${enc(channel)}`;

async function partitioned(n) {
  const topic = uniqueName("parts");
  const r = await call(w.url, "PUT", `/v1/topics/${enc(topic)}`, { body: { partitions: n }, headers: admin });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.partitions, n);
  return topic;
}

async function consumer(topic, channel, partition, hello = {}) {
  const s = new Socket(w.url, `${channelPath(topic, channel)}/ws?partition=${partition}`);
  await s.opened;
  s.send({ op: "hello", max_in_flight: 1, ...hello });
  const welcome = await s.next((f) => f.op === "welcome" || f.op === "error");
  assert.equal(welcome.op, "welcome", JSON.stringify(welcome));
  s.welcome = welcome;
  return s;
}

function refusedUpgrade(path) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(w.url.replace(/^http/, "ws") + path);
    ws.once("open", () => reject(new Error("the upgrade was accepted")));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body: JSON.parse(body) }));
    });
  });
}

test("PUT makes a partitioned topic: 201, 200 for the same count, 409 for another or an implicit topic", async () => {
  const topic = await partitioned(4);
  const count = await call(w.url, "GET", `/v1/topics/${enc(topic)}/partitions`);
  assert.deepEqual([count.status, count.body.partitions], [200, 4], "the count alone, for clients before their sockets");
  const again = await call(w.url, "PUT", `/v1/topics/${enc(topic)}`, { body: { partitions: 4 }, headers: admin });
  assert.equal(again.status, 200, again.text);
  const other = await call(w.url, "PUT", `/v1/topics/${enc(topic)}`, { body: { partitions: 2 }, headers: admin });
  assert.equal(other.status, 409);
  assert.equal(other.body.error.code, "conflict");
  assert.equal(other.body.partitions, 4);

  const implicit = uniqueName("implicit");
  assert.equal((await one(implicit, cloudEvent("a", 1))).status, 201);
  assert.equal((await call(w.url, "GET", `/v1/topics/${enc(implicit)}/partitions`)).body.partitions, 1);
  const late = await call(w.url, "PUT", `/v1/topics/${enc(implicit)}`, { body: { partitions: 4 }, headers: admin });
  assert.equal(late.status, 409);
  assert.equal(late.body.partitions, 1);

  for (const bad of [0, 65, "four"]) {
    const r = await call(w.url, "PUT", `/v1/topics/${enc(uniqueName("bad"))}`, { body: { partitions: bad }, headers: admin });
    assert.equal(r.status, 400, `${bad}: ${r.text}`);
  }
  const anon = await call(w.url, "PUT", `/v1/topics/${enc(uniqueName("anon"))}`, { body: { partitions: 2 } });
  assert.ok([401, 403].includes(anon.status), anon.text);
});

test("routing: by ordering key, else by source + id; a retry is a duplicate; ?partition overrides", async () => {
  const topic = await partitioned(4);
  for (const key of ["user-1", "user-2", "user-3", "order-9"]) {
    const r = await one(topic, cloudEvent(uniqueName("k"), 1, { orderingkey: key }));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.partition, fnv1a32(key) % 4, key);
  }
  const e = cloudEvent("retry-me", { n: 1 });
  const first = await one(topic, e);
  assert.equal(first.body.partition, fnv1a32(`/tests\nretry-me`) % 4);
  const again = await one(topic, e);
  assert.deepEqual([again.body.duplicate, again.body.partition, again.body.seq, again.body.id], [true, first.body.partition, first.body.seq, first.body.id]);
  const pinned = await one(topic, cloudEvent(uniqueName("p"), 1, { orderingkey: "user-1" }), "?partition=3");
  assert.equal(pinned.body.partition, 3);
  const out = await one(topic, cloudEvent(uniqueName("p"), 1), "?partition=4");
  assert.equal(out.status, 400);
  // Binary mode routes by its headers, the body unread.
  const bin = await call(w.url, "POST", `/v1/topics/${enc(topic)}/events`, {
    raw: "hello",
    headers: { "ce-specversion": "1.0", "ce-id": "b-1", "ce-source": "/bin", "ce-type": "t", "content-type": "text/plain" },
  });
  assert.equal(bin.status, 201, bin.text);
  assert.equal(bin.body.partition, fnv1a32("/bin\nb-1") % 4);
  // Message ids are unique within the topic: they name the partition.
  assert.notEqual(first.body.id, pinned.body.id);
  assert.equal(parseInt(pinned.body.id.slice(0, 2), 16), 3);
});

test("a batch across partitions is split, each part atomic; a refused part leaves the others accepted", async () => {
  const topic = await partitioned(4);
  const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
  const list = keys.map((k, i) => cloudEvent(`ev-${i}`, i, { orderingkey: k }));
  const ok = await batch({ topic, list });
  assert.equal(ok.status, 201, ok.text);
  assert.deepEqual(ok.body.results.map((r) => r.partition), keys.map((k) => fnv1a32(k) % 4));
  assert.equal(new Set(ok.body.results.map((r) => r.partition)).size > 1, true);

  // One event claims a source reserved for a client: its partition's part is refused.
  const bad = keys.map((k, i) => cloudEvent(`bad-${i}`, i, { orderingkey: k }));
  bad[0].source = "/clients/someone-else";
  const refusedPartition = fnv1a32("a") % 4;
  const r = await batch({ topic, list: bad });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.body.error.code, "forbidden");
  r.body.results.forEach((res, i) => {
    if (fnv1a32(keys[i]) % 4 === refusedPartition) assert.equal(res.error.code, "forbidden", `event ${i}`);
    else assert.equal(typeof res.seq, "number", `event ${i}: ${JSON.stringify(res)}`);
  });
  // Retrying the whole batch (the bad source fixed) is safe: accepted parts are duplicates.
  bad[0].source = "/tests";
  const retry = await batch({ topic, list: bad });
  assert.equal(retry.status, 201, retry.text);
  retry.body.results.forEach((res, i) => {
    assert.equal(res.duplicate, fnv1a32(keys[i]) % 4 !== refusedPartition, `event ${i}`);
  });
  const s = await stats(topic);
  assert.equal(s.seq, 16, "8 + 8 events accepted once each");
});

test("per-key order holds across 4 partitions with 3 consumers, one socket per partition each", async () => {
  const topic = await partitioned(4);
  const ch = "ordered";
  assert.equal((await call(w.url, "PUT", channelPath(topic, ch))).status, 201);
  const keys = Array.from({ length: 8 }, (_, i) => `key-${i}`);
  const perKey = 12;
  const seen = new Map(keys.map((k) => [k, []]));
  let total = 0;
  let resolveAll;
  const all = new Promise((r) => (resolveAll = r));
  const sockets = [];
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < 4; p++) {
      const s = await consumer(topic, ch, p, { max_in_flight: 2 });
      assert.deepEqual([s.welcome.partition, s.welcome.partitions], [p, 4]);
      sockets.push(s);
      (async () => {
        for (;;) {
          let m;
          try {
            m = await s.msg(60_000);
          } catch {
            return;
          }
          assert.equal(m.partition, p);
          seen.get(m.event.orderingkey).push(m.event.data);
          if (++total === keys.length * perKey) resolveAll();
          await new Promise((r) => setImmediate(r));
          s.send({ op: "fin", id: m.id });
        }
      })();
    }
  }
  for (let i = 0; i < perKey; i++) {
    const list = keys.map((k) => cloudEvent(`${k}-${i}`, i, { orderingkey: k }));
    assert.equal((await batch({ topic, list })).status, 201);
  }
  await all;
  for (const [k, got] of seen) assert.deepEqual(got, Array.from({ length: perKey }, (_, i) => i), k);
  for (const s of sockets) s.close();
});

test("sockets: 409 with the count without ?partition, 400 out of range; implicit topics unchanged", async () => {
  const topic = await partitioned(3);
  const refused = await refusedUpgrade(`${channelPath(topic, "c")}/ws`);
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, "conflict");
  assert.equal(refused.body.partitions, 3);
  const publisher = await refusedUpgrade(`/v1/topics/${enc(topic)}/ws`);
  assert.equal(publisher.status, 409);
  assert.equal((await refusedUpgrade(`${channelPath(topic, "c")}/ws?partition=3`)).status, 400);

  const implicit = uniqueName("implicit");
  const s = await Socket.consumer(w.url, implicit, "c");
  assert.deepEqual([s.welcome.partition, s.welcome.partitions], [0, 1]);
  const r = await one(implicit, cloudEvent("x", 1));
  assert.deepEqual([r.status, r.body.partition, r.body.seq], [201, 0, 1]);
  const m = await s.msg();
  assert.equal(m.partition, 0);
  const st = await stats(implicit);
  assert.equal(st.partitions, 1);
  assert.equal(st.channels[0].partitions, undefined, "no per-partition list on a topic of one");
  s.close();
});

test("channel operations cover every partition; stats add up; dead letters list and redrive across partitions", async () => {
  const topic = await partitioned(4);
  const ch = "ops";
  const path = channelPath(topic, ch);
  const made = await call(w.url, "PUT", path);
  assert.equal(made.status, 201, made.text);
  assert.equal(made.body.partitions.length, 4);
  const before = new Date().toISOString();
  const list = Array.from({ length: 12 }, (_, i) => cloudEvent(`ops-${i}`, i, { orderingkey: `k${i}` }));
  assert.equal((await batch({ topic, list })).status, 201);

  let s = await stats(topic);
  assert.equal(s.partitions, 4);
  assert.equal(s.seq, 12);
  const c = s.channels.find((x) => x.channel === ch);
  assert.equal(c.depth, 12);
  assert.equal(c.partitions.reduce((a, p) => a + p.depth, 0), 12, "the parts add up");
  assert.deepEqual(c.partitions.map((p) => p.partition), [0, 1, 2, 3]);

  const paused = await call(w.url, "POST", `${path}/pause`);
  assert.equal(paused.status, 200);
  assert.ok(paused.body.partitions.every((p) => p.paused));
  const pulledWhilePaused = await call(w.url, "POST", `${path}/pull`, { body: { max: 10 } });
  assert.deepEqual(pulledWhilePaused.body.messages, []);
  assert.equal((await call(w.url, "POST", `${path}/unpause`)).status, 200);

  // Pull from any partition (no "partition"), fail each once with max_attempts 1: dead.
  const got = [];
  while (got.length < 12) {
    const r = await call(w.url, "POST", `${path}/pull`, { body: { max: 5, max_attempts: 1 } });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.messages.length > 0);
    got.push(...r.body.messages);
    const settled = await call(w.url, "POST", `${path}/settle`, {
      body: { settle: r.body.messages.map((m) => ({ op: "req", id: m.id })) },
    });
    assert.equal(settled.status, 200, settled.text);
    assert.ok(settled.body.results.every((x) => x.ok), settled.text);
    assert.deepEqual(settled.body.results.map((x) => x.id), r.body.messages.map((m) => m.id), "in input order");
  }
  assert.equal(new Set(got.map((m) => m.partition)).size > 1, true);
  s = await stats(topic);
  assert.equal(s.channels[0].dead, 12);

  const dead = [];
  let cursor;
  for (let page = 0; page < 20; page++) {
    const q = `?limit=5${cursor ? `&cursor=${cursor}` : ""}`;
    const r = await call(w.url, "GET", `${path}/dead${q}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.messages.length <= 5);
    dead.push(...r.body.messages);
    cursor = r.body.cursor;
    if (!cursor) break;
  }
  assert.equal(dead.length, 12);
  assert.equal(new Set(dead.map((d) => d.id)).size, 12);

  const redriven = await call(w.url, "POST", `${path}/dead/redrive`, { body: {} });
  assert.deepEqual([redriven.status, redriven.body.redriven], [200, 12]);

  // Pull one partition by name, then seek by time (every partition) and by seq (one).
  const p2 = await call(w.url, "POST", `${path}/pull`, { body: { max: 100, partition: 2 } });
  assert.ok(p2.body.messages.every((m) => m.partition === 2));
  const byTime = await call(w.url, "POST", `${path}/seek`, { body: { time: before } });
  assert.equal(byTime.status, 200, byTime.text);
  assert.equal(byTime.body.ready, 12);
  const noPartition = await call(w.url, "POST", `${path}/seek`, { body: { seq: 1 } });
  assert.equal(noPartition.status, 400);
  const bySeq = await call(w.url, "POST", `${path}/seek`, { body: { seq: 1, partition: 1 } });
  assert.equal(bySeq.status, 200, bySeq.text);

  const metrics = await call(w.url, "GET", "/metrics", { headers: admin });
  for (let p = 0; p < 4; p++) {
    assert.match(metrics.text, new RegExp(`ismld_channel_depth\\{topic="${topic}",partition="${p}",channel="${ch}"\\}`));
  }
  const listed = await call(w.url, "GET", "/v1/topics", { headers: admin });
  const entry = listed.body.topics.filter((t) => t.topic === topic);
  assert.equal(entry.length, 1, "one entry for the topic, not one per partition");
  assert.equal(entry[0].partitions, 4);

  assert.equal((await call(w.url, "DELETE", path)).status, 204);
  s = await stats(topic);
  assert.equal(s.channels.length, 0);

  assert.equal((await call(w.url, "DELETE", `/v1/topics/${enc(topic)}`, { headers: admin })).status, 204);
  const gone = await call(w.url, "GET", `/v1/topics/${enc(topic)}`, { headers: admin });
  assert.equal(gone.status, 404);
});

test("a long-polling pull without a partition wakes for a message on any partition", async () => {
  const topic = await partitioned(4);
  const path = channelPath(topic, "lp");
  assert.equal((await call(w.url, "PUT", path)).status, 201);
  const waiting = call(w.url, "POST", `${path}/pull`, { body: { max: 10, wait_ms: 20_000 } });
  // The pull is waiting on every partition; publish to one of them.
  const s = await stats(topic);
  assert.equal(s.channels[0].depth, 0);
  const r = await one(topic, cloudEvent("lp-1", 1), "?partition=3");
  assert.equal(r.status, 201);
  const got = await waiting;
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.body.messages.map((m) => [m.partition, m.event.id]), [[3, "lp-1"]]);
});

test("a channel a hello makes on one partition is made on every partition: events published to another reach it", async () => {
  const topic = await partitioned(3);
  const s0 = await consumer(topic, "first", 1);
  // Published after the welcome, to the partitions no socket of the channel is on yet.
  for (const p of [0, 2]) assert.equal((await one(topic, cloudEvent(`to-${p}`, { p }), `?partition=${p}`)).status, 201);
  const st = await stats(topic);
  const ch = st.channels.find((c) => c.channel === "first");
  assert.deepEqual(ch?.partitions?.map((p) => p.partition).sort(), [0, 1, 2], JSON.stringify(st));
  assert.equal(ch.depth, 2);
  for (const p of [0, 2]) {
    const s = await consumer(topic, "first", p);
    const m = await s.next((f) => f.op === "msg");
    assert.equal(m.event.id, `to-${p}`);
    s.close();
  }
  s0.close();
});

test("limits hold for the whole request on a partitioned topic: batch size, empty batch, settle and pull ranges; a refused batch has results", async () => {
  const topic = await partitioned(4);
  const many = Array.from({ length: 1001 }, (_, i) => cloudEvent(`e-${i}`, i, { orderingkey: `k-${i}` }));
  const big = await batch({ topic, list: many });
  assert.deepEqual([big.status, big.body.error?.code], [413, "payload_too_large"], big.text);
  const empty = await batch({ topic, list: [] });
  assert.deepEqual([empty.status, empty.body.error?.code], [400, "invalid_request"], empty.text);
  assert.equal((await stats(topic)).seq, 0, "nothing was stored");
  // Both events in one partition (one key); the second is not a CloudEvent.
  const { type: _, ...untyped } = cloudEvent("b-2", 2, { orderingkey: "same" });
  const refused = await batch({ topic, list: [cloudEvent("b-1", 1, { orderingkey: "same" }), untyped] });
  assert.equal(refused.status, 400, refused.text);
  assert.equal(refused.body.results?.length, 2, refused.text);
  assert.ok(refused.body.results.every((r) => r.error), "the part is atomic: neither event was accepted");
  const path = channelPath(topic, "pulled");
  assert.equal((await call(w.url, "PUT", path, { body: {} })).status, 201);
  const settle = await call(w.url, "POST", `${path}/settle`, {
    body: { settle: Array.from({ length: 1001 }, (_, i) => ({ op: "fin", id: `${i}` })) },
  });
  assert.deepEqual([settle.status, settle.body.error?.code], [400, "invalid_request"], settle.text);
  for (const body of [{ wait_ms: 60_000 }, { max: "x" }, { max: 0 }]) {
    const r = await call(w.url, "POST", `${path}/pull`, { body });
    assert.deepEqual([r.status, r.body.error?.code], [400, "invalid_request"], `${JSON.stringify(body)}: ${r.text}`);
  }
});
