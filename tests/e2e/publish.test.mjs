// Publishing over HTTP in every body form of the contract, and refusals that change nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, call, publish, cloudEvent, uniqueName, Socket } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.destroy();
});

const path = (t) => `/v1/topics/${encodeURIComponent(t)}/events`;

/** Attaches a consumer with room for `n` messages and returns it. */
function consumer(topic, n = 10) {
  return Socket.consumer(w.url, topic, "all", { max_in_flight: n });
}

test("structured mode: 201 with id and seq; the event arrives unchanged, with time added", async () => {
  const topic = uniqueName();
  const c = await consumer(topic);
  const ev = cloudEvent("order-1", { total: 12.5, items: ["a"] }, { subject: "s1", orderingkey: "k" });
  const res = await publish(w.url, topic, ev);
  assert.equal(res.status, 201);
  assert.deepEqual(Object.keys(res.body).sort(), ["duplicate", "id", "partition", "seq", "topic"]);
  assert.equal(res.body.topic, topic);
  assert.equal(res.body.seq, 1);
  assert.equal(res.body.duplicate, false);
  const m = await c.msg();
  assert.equal(m.id, res.body.id);
  assert.equal(m.seq, 1);
  const { time, ...rest } = m.event;
  assert.deepEqual(rest, ev);
  assert.ok(!Number.isNaN(Date.parse(time)), "time is added as an RFC 3339 time");
  c.close();
});

test("batch mode: consecutive seqs in array order, one result each", async () => {
  const topic = uniqueName();
  await publish(w.url, topic, cloudEvent("first", 0));
  const batch = [1, 2, 3].map((i) => cloudEvent(`b${i}`, i));
  const res = await call(w.url, "POST", path(topic), {
    raw: JSON.stringify(batch),
    headers: { "content-type": "application/cloudevents-batch+json" },
  });
  assert.equal(res.status, 201);
  assert.equal(res.body.topic, topic);
  assert.deepEqual(res.body.results.map((r) => r.seq), [2, 3, 4]);
  assert.equal(new Set(res.body.results.map((r) => r.id)).size, 3);
  assert.ok(res.body.results.every((r) => r.duplicate === false));
});

test("a batch larger than one SQL statement holds, with some events keyed, deferred or expiring: every event stored and delivered as sent", async () => {
  const topic = uniqueName();
  const past = new Date(Date.now() - 60_000).toISOString();
  const future = new Date(Date.now() + 3_600_000).toISOString();
  const extra = (i) => (i % 5 === 1 ? { orderingkey: `k${i}` } : i % 5 === 2 ? { deliverafter: past } : i % 5 === 3 ? { expirytime: future } : {});
  const batch = Array.from({ length: 57 }, (_, i) => cloudEvent(`m${i}`, { i }, extra(i)));
  const c = await consumer(topic, 100);
  const res = await call(w.url, "POST", path(topic), { raw: JSON.stringify(batch), headers: { "content-type": "application/cloudevents-batch+json" } });
  assert.equal(res.status, 201);
  assert.deepEqual(res.body.results.map((r) => r.seq), batch.map((_, i) => i + 1));
  const got = new Map();
  while (got.size < batch.length) {
    const m = await c.msg();
    got.set(m.seq, m);
    await c.request({ op: "fin", id: m.id });
  }
  for (const [i, e] of batch.entries()) {
    const m = got.get(i + 1);
    assert.equal(m.event.id, e.id);
    assert.deepEqual(m.event.data, { i });
    for (const k of ["orderingkey", "deliverafter", "expirytime"]) assert.equal(m.event[k], e[k], `${e.id} ${k}`);
  }
  c.close();
});

test("binary mode: ce-* headers are the attributes, the body is the data", async () => {
  const topic = uniqueName();
  const c = await consumer(topic);
  const res = await call(w.url, "POST", path(topic), {
    raw: JSON.stringify({ hello: "world" }),
    headers: {
      "ce-specversion": "1.0",
      "ce-id": "bin-1",
      "ce-source": "/sensors/7",
      "ce-type": "reading.taken",
      "ce-subject": "temp%20C",
      "content-type": "application/json",
    },
  });
  assert.equal(res.status, 201, res.text);
  const m = await c.msg();
  assert.equal(m.event.id, "bin-1");
  assert.equal(m.event.source, "/sensors/7");
  assert.equal(m.event.type, "reading.taken");
  assert.equal(m.event.subject, "temp C", "header values are percent-decoded");
  assert.equal(m.event.datacontenttype, "application/json");
  assert.deepEqual(m.event.data, { hello: "world" });
  c.close();
});

test("plain bodies: the bus makes the event (JSON stays JSON, text stays text, bytes go base64)", async () => {
  const topic = uniqueName();
  const c = await consumer(topic);
  const a = await call(w.url, "POST", path(topic), { body: { n: 1 } });
  const b = await call(w.url, "POST", path(topic), { raw: "just text", headers: { "content-type": "text/plain" } });
  const bytes = new Uint8Array([0xff, 0x00, 0x10]);
  const d = await call(w.url, "POST", path(topic), {
    raw: bytes,
    headers: { "content-type": "application/octet-stream" },
  });
  for (const r of [a, b, d]) assert.equal(r.status, 201, r.text);
  const [ma, mb, md] = [await c.msg(), await c.msg(), await c.msg()];
  assert.equal(ma.event.specversion, "1.0");
  assert.match(ma.event.id, /^[0-9a-f]{24}$/, "the bus makes random 96-bit ids");
  assert.notEqual(ma.event.id, a.body.id, "never derived from the seq");
  assert.equal(ma.event.source, "/anonymous");
  assert.equal(ma.event.type, topic);
  assert.equal(ma.event.datacontenttype, "application/json");
  assert.deepEqual(ma.event.data, { n: 1 });
  assert.equal(mb.event.data, "just text");
  assert.equal(mb.event.datacontenttype, "text/plain");
  assert.equal(md.event.data_base64, Buffer.from(bytes).toString("base64"));
  assert.equal(md.event.data, undefined);
  c.close();
});

async function seqOf(topic) {
  const s = await call(w.url, "GET", `/v1/topics/${encodeURIComponent(topic)}`);
  return s.status === 404 ? 0 : s.body.seq;
}

test("refusals carry the contract's code and change nothing", async () => {
  const topic = uniqueName();
  await publish(w.url, topic, cloudEvent("ok", 1));
  const cases = [
    [400, "invalid_request", { raw: "{not json", headers: { "content-type": "application/cloudevents+json" } }],
    [400, "invalid_request", { raw: JSON.stringify({ id: "x" }), headers: { "content-type": "application/cloudevents+json" } }],
    [400, "invalid_request", { raw: JSON.stringify(cloudEvent("x", 1, { specversion: "0.3" })), headers: { "content-type": "application/cloudevents+json" } }],
    [
      400,
      "invalid_request",
      {
        raw: JSON.stringify([cloudEvent("good", 1), { specversion: "1.0", id: "bad" }]),
        headers: { "content-type": "application/cloudevents-batch+json" },
      },
    ],
    [400, "invalid_request", { raw: "{", headers: { "content-type": "application/json" } }],
    [415, "unsupported_media_type", { raw: "<e/>", headers: { "content-type": "application/cloudevents+xml" } }],
  ];
  for (const [status, code, init] of cases) {
    const res = await call(w.url, "POST", path(topic), init);
    assert.equal(res.status, status, `${init.raw}: ${res.text}`);
    assert.equal(res.body.error.code, code);
    assert.equal(typeof res.body.error.message, "string");
  }
  assert.equal(await seqOf(topic), 1, "no refused publish appended anything");
});

test("names are checked: invalid_name for @, /, NUL and 129 characters", async () => {
  for (const bad of ["a@b", "a%2Fb", "a%00", "x".repeat(129), "sp%20ace"]) {
    const res = await call(w.url, "POST", `/v1/topics/${bad}/events`, { body: {} });
    assert.equal(res.status, 400, bad);
    assert.equal(res.body.error.code, "invalid_name");
  }
  const ok = await call(w.url, "POST", `/v1/topics/${encodeURIComponent("[DEV]x.y_z-1")}/events`, { body: {} });
  assert.equal(ok.status, 201);
});

test("health and unknown routes", async () => {
  const h = await call(w.url, "GET", "/v1/health");
  assert.equal(h.status, 200);
  assert.equal(h.body.ok, true);
  assert.equal(typeof h.body.version, "string");
  const nf = await call(w.url, "GET", "/v2/nothing");
  assert.equal(nf.status, 404);
  assert.equal(nf.body.error.code, "not_found");
});
