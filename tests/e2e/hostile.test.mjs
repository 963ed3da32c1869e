// Hostile input: oversized, malformed, deeply nested, mistyped and out-of-range input on
// every surface. The Worker never answers 500 and never crashes; each refusal carries the
// contract's code and changes nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startWorker, call, publish, cloudEvent, uniqueName, Socket } from "./harness.mjs";

let w;
const statuses = [];
before(async () => {
  w = await startWorker({ vars: { MAX_EVENT_BYTES: "150000", MAX_BATCH_BYTES: "200000" } });
});
after(async () => {
  assert.ok(!statuses.includes(500), "no request answered 500");
  await w?.destroy();
});

async function req(method, path, init = {}) {
  const r = await call(w.url, method, path, init);
  statuses.push(r.status);
  return r;
}

/** Raw HTTP, so paths reach the Worker exactly as written. */
function raw(method, path, body) {
  const { hostname, port } = new URL(w.url);
  return new Promise((resolve, reject) => {
    const r = http.request({ hostname, port, method, path }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => {
        statuses.push(res.statusCode);
        resolve({ status: res.statusCode, text });
      });
    });
    r.on("error", reject);
    r.end(body);
  });
}

const deep = (n) => "[".repeat(n) + "]".repeat(n);

test("bodies: oversized, deeply nested, invalid UTF-8, wrong types", async () => {
  const topic = uniqueName();
  const path = `/v1/topics/${topic}/events`;
  const ceHeaders = { "content-type": "application/cloudevents+json" };
  // One event is held to MAX_EVENT_BYTES, a batch to MAX_BATCH_BYTES; each refusal names its limit.
  const big = await req("POST", path, { raw: "x".repeat(160_000), headers: { "content-type": "text/plain" } });
  assert.equal(big.status, 413);
  assert.match(big.body.error.message, /MAX_EVENT_BYTES/);
  const batch = [1, 2, 3].map((i) => ({ specversion: "1.0", id: `b${i}`, source: "/s", type: "t", data: "x".repeat(70_000) }));
  const bigBatch = await req("POST", path, { raw: JSON.stringify(batch), headers: { "content-type": "application/cloudevents-batch+json" } });
  assert.equal(bigBatch.status, 413);
  assert.match(bigBatch.body.error.message, /MAX_BATCH_BYTES/);
  const nested = `{"specversion":"1.0","id":"n","source":"/s","type":"t","data":${deep(50_000)}}`;
  assert.equal((await req("POST", path, { raw: nested, headers: ceHeaders })).status, 400);
  assert.equal((await req("POST", path, { raw: deep(50_000), headers: { "content-type": "application/json" } })).status, 400);
  const badUtf8 = Buffer.concat([Buffer.from('{"specversion":"1.0","id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","source":"/s","type":"t"}')]);
  assert.equal((await req("POST", path, { raw: badUtf8, headers: ceHeaders })).status, 400);
  for (const bad of [
    { specversion: 1, id: "a", source: "/s", type: "t" },
    { specversion: "1.0", id: ["a"], source: "/s", type: "t" },
    { specversion: "1.0", id: "a", source: {}, type: "t" },
    { specversion: "1.0", id: "a", source: "/s", type: null },
    { specversion: "1.0", id: "a", source: "/s", type: "t", orderingkey: 5 },
    { specversion: "1.0", id: "a", source: "/s", type: "t", deliverafter: "tomorrow" },
    { specversion: "1.0", id: "a", source: "/s", type: "t", time: 12 },
    "a string",
    null,
  ]) {
    const r = await req("POST", path, { raw: JSON.stringify(bad), headers: ceHeaders });
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(r.body.error.code, "invalid_request");
  }
  for (const q of ["?delay_ms=abc", "?delay_ms=-5", `?ordering_key=${"k".repeat(1025)}`, `?delay_ms=${2 ** 70}`]) {
    assert.equal((await req("POST", path + q, { body: { a: 1 } })).status, 400, q);
  }
  const ch = `/v1/topics/${topic}/channels/c`;
  assert.equal((await req("PUT", ch, { raw: '{"from_seq":"x"}' })).status, 400);
  assert.equal((await req("PUT", ch, { raw: "[" })).status, 400);
  assert.equal((await req("POST", `${ch}/seek`, { raw: '{"seq":-1}' })).status, 400);
  assert.equal((await req("POST", `${ch}/seek`, { raw: "{}" })).status, 400);
  assert.equal((await req("POST", `${ch}/dead/redrive`, { raw: '{"ids":5}' })).status, 400);
  assert.equal((await req("GET", `${ch}/dead?limit=x`)).status, 400);
  assert.equal((await req("GET", `/v1/topics/${topic}`)).status, 404, "nothing was created by refused requests");
});

test("names: @, /, NUL, 129 characters and dot segments", async () => {
  for (const name of ["a%40b", "a%2Fb", "a%00b", "x".repeat(129), "%F0%9F%92%A9", "a%ZZ"]) {
    const r = await raw("POST", `/v1/topics/${name}/events`, "{}");
    assert.equal(r.status, 400, name);
    assert.equal(JSON.parse(r.text).error.code, "invalid_name");
    const c = await raw("PUT", `/v1/topics/ok/channels/${name}`, "");
    assert.equal(c.status, 400, `channel ${name}`);
  }
  assert.equal((await raw("POST", "/v1/topics/../events", "{}")).status, 404, "a literal .. segment is no topic");
  assert.equal((await raw("PUT", "/v1/topics/ok/channels/c%23other", "")).status, 400, "only #ephemeral may follow #");
  const dots = await raw("POST", "/v1/topics/a..b/events", "{}");
  assert.equal(dots.status, 201, "dots are name characters (the contract's grammar)");
});

test("frames: oversized, nested, mistyped, out of range, non-UTF-8 — refused, socket kept or closed as the contract says", async () => {
  const topic = uniqueName();
  const s = await Socket.consumer(w.url, topic, "c");
  const refused = async (frame, code = "invalid_request") => {
    const r = await s.request(frame);
    assert.equal(r.op, "error", JSON.stringify(frame));
    assert.equal(r.code, code, JSON.stringify(frame));
  };
  for (const f of [
    { op: "rdy", count: "x" },
    { op: "rdy", count: -1 },
    { op: "rdy", count: 2501 },
    { op: "rdy", count: 1.5 },
    { op: "fin", id: 5 },
    { op: "fin" },
    { op: "req", id: "0000000000000001", delay_ms: "soon" },
    { op: "touch", id: ["x"] },
    { op: "pub" },
    { op: "pub", data: 1, event: {} },
    { op: "pub", event: { id: "x" } },
    { op: "pub", data: 1, ordering_key: "k".repeat(1025) },
    { op: "pub", data: 1, delay_ms: 8 * 24 * 3600 * 1000 },
    { op: 7 },
    { op: "HELLO" },
    {},
  ]) {
    await refused(f);
  }
  await refused({ op: "fin", id: "0000000000000001" }, "not_found");
  s.send(deep(100_000));
  assert.equal((await s.next((f) => f.op === "error")).code, "invalid_request");
  s.ws.send(Buffer.from([0xff, 0xfe, 0xfd]));
  assert.equal((await s.next((f) => f.op === "error")).code, "invalid_request");
  s.send({ op: "ping" });
  await s.next((f) => f.op === "pong");
  assert.equal(s.closed, null, "error frames keep the socket open");
  s.send({ op: "pub", data: "x".repeat(1_200_000) });
  assert.equal((await s.waitClosed()).code, 4013, "a frame over the limit closes with 4013");
  for (const hello of [
    { max_in_flight: 0 },
    { max_in_flight: 2501 },
    { handler_timeout_ms: 999 },
    { handler_timeout_ms: 3_600_001 },
    { heartbeat_ms: 4999 },
    { heartbeat_ms: "fast" },
    { max_attempts: -1 },
  ]) {
    const h = new Socket(w.url, `/v1/topics/${topic}/channels/c/ws`);
    await h.opened;
    h.send({ op: "hello", ...hello });
    const e = await h.next((f) => f.op === "error");
    assert.equal(e.code, "invalid_request", JSON.stringify(hello));
    h.send({ op: "hello" });
    assert.equal((await h.next((f) => f.op === "welcome")).op, "welcome", "the socket may say hello again");
    h.close();
  }
  const stats = await req("GET", `/v1/topics/${topic}`);
  assert.equal(stats.body.seq, 0, "no refused pub appended anything");
});

test("the Worker keeps serving after all of it", async () => {
  const topic = uniqueName();
  const r = await publish(w.url, topic, cloudEvent("alive", 1));
  assert.equal(r.status, 201);
});
