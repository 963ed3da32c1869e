// NSQ-compatible publishing: nsqd's documented HTTP examples, answered as nsqd answers
// them, against the Worker in workerd.
//   curl -d "<message>" 'http://127.0.0.1:4151/pub?topic=name'
//   curl -d "<message>" 'http://127.0.0.1:4151/pub?topic=name&defer=1000'
//   curl -d $'<message>\n<message>\n<message>' 'http://127.0.0.1:4151/mpub?topic=name'
//   curl --data-binary @framed 'http://127.0.0.1:4151/mpub?topic=name&binary=true'
//   curl 'http://127.0.0.1:4151/ping'
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, call, uniqueName, Socket, topicStats, ADMIN_TOKEN } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.destroy();
});

/** What `curl -d` sends: a form content type nsqd ignores. */
const CURL = { "content-type": "application/x-www-form-urlencoded" };

/** nsqd's binary /mpub framing: u32 count, then u32 size + bytes per message (big-endian). */
function framed(messages) {
  const parts = [Buffer.alloc(4)];
  parts[0].writeUInt32BE(messages.length);
  for (const m of messages) {
    const size = Buffer.alloc(4);
    size.writeUInt32BE(m.length);
    parts.push(size, Buffer.from(m));
  }
  return Buffer.concat(parts);
}

test("GET /ping answers OK, as nsqd does, without credentials", async () => {
  const r = await call(w.url, "GET", "/ping");
  assert.equal(r.status, 200);
  assert.equal(r.text, "OK");
  assert.equal(r.headers.get("x-nsq-content-type"), "nsq; version=1.0");
});

test("/pub: the curl example publishes one message, made into an event like a plain body", async () => {
  const topic = uniqueName("nsq");
  const c = await Socket.consumer(w.url, topic, "all", { max_in_flight: 5 });
  const r = await call(w.url, "POST", `/pub?topic=${topic}`, { raw: "hello nsq", headers: CURL });
  assert.equal(r.status, 200);
  assert.equal(r.text, "OK");
  const m = await c.msg();
  assert.equal(m.seq, 1);
  assert.equal(m.event.data, "hello nsq");
  assert.equal(m.event.type, topic);
  assert.equal(m.event.source, "/anonymous");
  assert.equal(m.event.specversion, "1.0");
  assert.equal(m.event.datacontenttype, undefined, "curl's form type says nothing about an NSQ message");
  // A JSON content type is kept: the message is JSON data.
  await call(w.url, "POST", `/pub?topic=${topic}`, { raw: '{"n":1}', headers: { "content-type": "application/json" } });
  const j = await c.msg();
  assert.deepEqual(j.event.data, { n: 1 });
  assert.equal(j.event.datacontenttype, "application/json");
  c.close();
});

test("/pub with defer: the message waits as deferred", async () => {
  const topic = uniqueName("nsq");
  await call(w.url, "PUT", `/v1/topics/${topic}/channels/later`);
  const r = await call(w.url, "POST", `/pub?topic=${topic}&defer=60000`, { raw: "later", headers: CURL });
  assert.equal(r.text, "OK");
  const s = await topicStats(w.url, topic, "later");
  assert.equal(s.deferred, 1);
  assert.equal(s.ready, 0);
});

test("/mpub: newline-separated and binary=true, all in order with consecutive seqs", async () => {
  const topic = uniqueName("nsq");
  const c = await Socket.consumer(w.url, topic, "all", { max_in_flight: 10 });
  const lines = await call(w.url, "POST", `/mpub?topic=${topic}`, { raw: "one\ntwo\n\nthree\n", headers: CURL });
  assert.equal(lines.status, 200);
  assert.equal(lines.text, "OK");
  const binary = await call(w.url, "POST", `/mpub?topic=${topic}&binary=true`, {
    raw: framed([Buffer.from("line\nbreak"), Buffer.from([0xff, 0x00, 0x01])]),
    headers: { "content-type": "application/octet-stream" },
  });
  assert.equal(binary.text, "OK");
  const got = [];
  for (let i = 0; i < 5; i++) got.push(await c.msg());
  assert.deepEqual(got.map((m) => m.seq), [1, 2, 3, 4, 5]);
  assert.deepEqual(got.slice(0, 4).map((m) => m.event.data), ["one", "two", "three", "line\nbreak"]);
  assert.equal(got[4].event.data_base64, Buffer.from([0xff, 0x00, 0x01]).toString("base64"));
  assert.equal(got[4].event.datacontenttype, "application/octet-stream");
  c.close();
});

test("nsqd's error answers, and a refused publish changes nothing", async () => {
  const topic = uniqueName("nsq");
  await call(w.url, "PUT", `/v1/topics/${topic}/channels/c`);
  const cases = [
    ["/pub", "x", 400, "MISSING_ARG_TOPIC", "invalid_request"],
    [`/pub?topic=bad@name`, "x", 400, "INVALID_TOPIC", "invalid_name"],
    [`/pub?topic=${topic}`, "", 400, "MSG_EMPTY", "invalid_request"],
    [`/pub?topic=${topic}&defer=-5`, "x", 400, "INVALID_DEFER", "invalid_request"],
    [`/pub?topic=${topic}&defer=soon`, "x", 400, "INVALID_DEFER", "invalid_request"],
    [`/pub?topic=${topic}`, "x".repeat((1 << 20) + 1), 413, "MSG_TOO_BIG", "payload_too_large"],
    [`/mpub?topic=${topic}&binary=true`, Buffer.from([0, 0, 0, 0]), 413, "BAD_BODY", "invalid_request"],
    [`/mpub?topic=${topic}&binary=true`, framed(["ok"]).subarray(0, 9), 413, "BAD_MESSAGE", "invalid_request"],
    [`/mpub?topic=${topic}`, "ok\n" + "y".repeat((1 << 20) + 1), 413, "MSG_TOO_BIG", "payload_too_large"],
    [`/mpub?topic=${topic}`, "a\n".repeat(1001), 413, "BODY_TOO_BIG", "payload_too_large"],
    [`/pub?topic=${topic}`, "not json", 400, "BAD_MESSAGE", "invalid_request", { "content-type": "application/json" }],
  ];
  for (const [path, raw, status, nsq, code, headers = CURL] of cases) {
    const r = await call(w.url, "POST", path, { raw, headers });
    assert.equal(r.status, status, `${path}: ${r.text.slice(0, 200)}`);
    assert.equal(r.body.message, nsq, path);
    assert.equal(r.body.error.code, code, path);
  }
  const s = await topicStats(w.url, topic);
  assert.equal(s.body.seq, 0, "nothing was published");
});

test("same auth as the rest of the API: 401 without credentials, 403 outside the client's topics", async () => {
  const locked = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
  try {
    const anon = await call(locked.url, "POST", "/pub?topic=orders.x", { raw: "m", headers: CURL });
    assert.equal(anon.status, 401);
    assert.equal(anon.body.message, "UNAUTHORIZED");
    assert.equal((await call(locked.url, "GET", "/ping")).text, "OK", "ping needs no credentials");
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const made = await call(locked.url, "POST", "/v1/clients", { body: { login: "nsqpub", publish: ["orders.*"] }, headers: admin });
    const basic = { ...CURL, authorization: `Basic ${Buffer.from(`nsqpub:${made.body.secret}`).toString("base64")}` };
    const denied = await call(locked.url, "POST", "/pub?topic=billing", { raw: "m", headers: basic });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.message, "FORBIDDEN");
    const ok = await call(locked.url, "POST", "/mpub?topic=orders.x", { raw: "a\nb", headers: basic });
    assert.equal(ok.text, "OK");
    const stats = await call(locked.url, "GET", "/v1/topics/orders.x", { headers: admin });
    assert.equal(stats.body.seq, 2);
  } finally {
    await locked.destroy();
  }
});

test("GET /pub and /mpub are answered as nsqd does: 405 METHOD_NOT_ALLOWED", async () => {
  for (const path of ["/pub?topic=x", "/mpub?topic=x"]) {
    const r = await call(w.url, "GET", path);
    assert.equal(r.status, 405, path);
    assert.deepEqual(r.body, { message: "METHOD_NOT_ALLOWED" });
    assert.equal(r.headers.get("allow"), "POST");
  }
});
