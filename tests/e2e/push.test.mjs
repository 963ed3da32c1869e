// Push channels (contract section 9) against the Worker in workerd, delivering to a real
// HTTP receiver on 127.0.0.1 that verifies every request with the `standardwebhooks`
// package: binary-mode CloudEvents, retries after a 500, Retry-After on a 429, pause on
// 410, dead letters, per-key order, partitions, and a runtime restart mid-retry. (The
// package's `verify` also parses the body as JSON, so the events here carry JSON data.)
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { rmSync } from "node:fs";
import { Webhook } from "standardwebhooks";
import { startWorker, call, cloudEvent, uniqueName, tempDir, Socket, ADMIN_TOKEN } from "./harness.mjs";

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const enc = encodeURIComponent;
const workers = [];
after(async () => {
  for (const w of workers) await w.destroy();
});

/**
 * A receiver: records each request (headers, body, verified or not) and answers with
 * `answer(req, n)` → [status, headers]. `until(pred)` waits for a request matching pred.
 */
async function receiver(answer = () => [200, {}]) {
  const got = [];
  const waiters = [];
  let secret;
  let inFlight = 0;
  let maxInFlight = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const body = Buffer.concat(chunks);
      let verified = false;
      try {
        new Webhook(secret).verify(body.toString("utf8"), req.headers);
        verified = true;
      } catch {}
      const r = { headers: req.headers, body, verified, at: Date.now() };
      const [status, headers, delayMs = 0] = answer(r, got.length);
      if (delayMs) await new Promise((t) => setTimeout(t, delayMs));
      got.push(r);
      inFlight--;
      res.writeHead(status, headers);
      res.end();
      for (const w of [...waiters]) w();
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    got,
    url: `http://127.0.0.1:${server.address().port}/hook`,
    set secret(s) {
      secret = s;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    until(pred, what = "requests") {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`receiver: no ${what} within 30 s; got ${got.length}`)), 30_000);
        const check = () => {
          if (pred(got)) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(check), 1);
            resolve(got);
          }
        };
        waiters.push(check);
        check();
      });
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

async function pushChannel(w, topic, channel, push) {
  const r = await call(w.url, "PUT", `/v1/topics/${enc(topic)}/channels/${enc(channel)}`, { body: { push } });
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.push.secret, /^whsec_/);
  return r.body.push.secret;
}

const publish = (w, topic, e, q = "") =>
  call(w.url, "POST", `/v1/topics/${enc(topic)}/events${q}`, {
    raw: JSON.stringify(e),
    headers: { "content-type": "application/cloudevents+json" },
  });
const channelStats = async (w, topic, channel) =>
  (await call(w.url, "GET", `/v1/topics/${enc(topic)}`)).body.channels.find((c) => c.channel === channel);

async function until(f, what) {
  for (let i = 0; i < 300; i++) {
    const v = await f();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not within 30 s: ${what}`);
}

let w;
test("a push delivery is a signed binary-mode CloudEvent; 2xx finishes it", async () => {
  w = await startWorker();
  workers.push(w);
  const rx = await receiver();
  const topic = uniqueName("push");
  rx.secret = await pushChannel(w, topic, "hook", { url: rx.url, headers: { authorization: "Bearer receiver-token" } });
  const r = await publish(w, topic, cloudEvent("e-1", { amount: 12.5 }, { subject: "order 1", datacontenttype: "application/json" }));
  assert.equal(r.status, 201);
  const [req] = await rx.until((g) => g.length === 1);
  assert.equal(req.verified, true, "standardwebhooks verifies the signature");
  assert.deepEqual(JSON.parse(req.body), { amount: 12.5 });
  assert.equal(req.headers["ce-id"], "e-1");
  assert.equal(req.headers["ce-source"], "/tests");
  assert.equal(req.headers["ce-subject"], "order%201");
  assert.equal(req.headers["content-type"], "application/json");
  assert.equal(req.headers["webhook-id"], `${r.body.id}-1`);
  assert.equal(req.headers["ismld-attempt"], "1");
  assert.equal(req.headers["ismld-seq"], "1");
  assert.equal(req.headers["ismld-partition"], "0");
  assert.equal(req.headers.authorization, "Bearer receiver-token");
  const s = await until(async () => {
    const c = await channelStats(w, topic, "hook");
    return c.finished_total === 1 && c;
  }, "finished");
  assert.equal(s.push_ok_total, 1);
  assert.equal(s.push.url, rx.url);
  assert.equal(s.push.secret, undefined, "stats never show the secret");
  assert.equal(s.push.headers.authorization, "(hidden)");
  await rx.close();
});

test("a 500 is retried after retry_ms; a 429 with Retry-After waits without a failure", async () => {
  const rx = await receiver((r, n) => (n === 0 ? [500, {}] : n === 1 ? [429, { "retry-after": "1" }] : [204, {}]));
  const topic = uniqueName("retry");
  rx.secret = await pushChannel(w, topic, "hook", { url: rx.url, retry_ms: 200 });
  await publish(w, topic, cloudEvent("r-1", 1));
  const got = await rx.until((g) => g.length === 3);
  assert.deepEqual(got.map((g) => g.headers["ismld-attempt"]), ["1", "2", "3"]);
  assert.ok(got.every((g) => g.verified));
  assert.ok(got[1].at - got[0].at >= 150, "retried after retry_ms");
  assert.ok(got[2].at - got[1].at >= 900, "Retry-After: 1 s");
  const c = await until(async () => {
    const c = await channelStats(w, topic, "hook");
    return c.finished_total === 1 && c;
  }, "finished");
  assert.deepEqual([c.push_failed_total, c.push_ok_total, c.depth], [1, 1, 0], "the 429 was no failure");
  await rx.close();
});

test("410 pauses the channel; unpause delivers again; failures dead-letter at max_attempts", async () => {
  let gone = true;
  const rx = await receiver(() => (gone ? [410, {}] : [200, {}]));
  const topic = uniqueName("gone");
  rx.secret = await pushChannel(w, topic, "hook", { url: rx.url });
  await publish(w, topic, cloudEvent("g-1", 1));
  await rx.until((g) => g.length === 1);
  const paused = await until(async () => {
    const c = await channelStats(w, topic, "hook");
    return c.paused && c;
  }, "paused");
  assert.match(paused.push_error, /410/);
  assert.equal(paused.ready, 1);
  gone = false;
  assert.equal((await call(w.url, "POST", `/v1/topics/${enc(topic)}/channels/hook/unpause`)).status, 200);
  await rx.until((g) => g.length === 2);
  await until(async () => (await channelStats(w, topic, "hook")).finished_total === 1, "finished after unpause");
  await rx.close();

  const failing = await receiver(() => [500, {}]);
  const t2 = uniqueName("dead");
  failing.secret = await pushChannel(w, t2, "hook", { url: failing.url, retry_ms: 50, max_attempts: 3 });
  await publish(w, t2, cloudEvent("d-1", 1));
  await failing.until((g) => g.length === 3);
  const dead = await until(async () => {
    const c = await channelStats(w, t2, "hook");
    return c.dead === 1 && c;
  }, "dead letter");
  assert.deepEqual([dead.push_failed_total, dead.depth], [3, 0]);
  const letters = await call(w.url, "GET", `/v1/topics/${enc(t2)}/channels/hook/dead`);
  assert.equal(letters.body.messages[0].event.id, "d-1");
  await failing.close();
});

test("ordering keys hold and max_in_flight bounds the concurrent requests", async () => {
  const rx = await receiver(() => [200, {}, 30]);
  const topic = uniqueName("order");
  rx.secret = await pushChannel(w, topic, "hook", { url: rx.url, max_in_flight: 4 });
  const list = [];
  for (let i = 0; i < 6; i++) for (const k of ["a", "b"]) list.push(cloudEvent(`${k}-${i}`, i, { orderingkey: k }));
  for (let i = 0; i < 8; i++) list.push(cloudEvent(`free-${i}`, i));
  const r = await call(w.url, "POST", `/v1/topics/${enc(topic)}/events`, {
    raw: JSON.stringify(list),
    headers: { "content-type": "application/cloudevents-batch+json" },
  });
  assert.equal(r.status, 201);
  const got = await rx.until((g) => g.length === list.length);
  for (const k of ["a", "b"]) {
    const seen = got.filter((g) => g.headers["ce-orderingkey"] === k).map((g) => JSON.parse(g.body));
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5], `key ${k} in order`);
  }
  assert.ok(rx.maxInFlight <= 4, `at most max_in_flight at once (saw ${rx.maxInFlight})`);
  assert.ok(rx.maxInFlight >= 2, "deliveries run concurrently");
  await rx.close();
});

test("a partitioned topic's push channel has one secret for every partition", async () => {
  const rx = await receiver();
  const topic = uniqueName("ppush");
  const made = await call(w.url, "PUT", `/v1/topics/${enc(topic)}`, { body: { partitions: 3 }, headers: admin });
  assert.equal(made.status, 201);
  rx.secret = await pushChannel(w, topic, "hook", { url: rx.url });
  for (const k of ["x", "y", "z", "w", "v", "u"]) await publish(w, topic, cloudEvent(`p-${k}`, { k }, { orderingkey: k }));
  const got = await rx.until((g) => g.length === 6);
  assert.ok(got.every((g) => g.verified), "one secret verifies every partition's deliveries");
  assert.ok(new Set(got.map((g) => g.headers["ismld-partition"])).size > 1);
  await rx.close();
});

test("a runtime restart mid-retry loses nothing: the retry is made after the restart", async () => {
  const dir = tempDir();
  let fail = true;
  const rx = await receiver(() => (fail ? [500, {}] : [200, {}]));
  const topic = uniqueName("restart");
  let w2 = await startWorker({ persist: dir });
  rx.secret = await pushChannel(w2, topic, "hook", { url: rx.url, retry_ms: 1500 });
  await publish(w2, topic, cloudEvent("s-1", 1));
  await rx.until((g) => g.length === 1, "the first attempt");
  await w2.stop();
  fail = false;
  w2 = await startWorker({ persist: dir });
  workers.push(w2);
  // The retry is a deferred row: the restarted object's alarm sends it.
  const got = await rx.until((g) => g.length === 2, "the retry after the restart");
  assert.equal(got[1].headers["ismld-attempt"], "2");
  assert.equal(got[1].verified, true);
  await until(async () => (await channelStats(w2, topic, "hook")).finished_total === 1, "finished");
  await rx.close();
  await w2.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("pushes that wait for a connection are sent once each, without a failure; other timers run meanwhile", async () => {
  // A slow receiver (900 ms an answer) and 42 messages: with at most 6 requests out at a
  // time, the last wait ~6 s in the object's queue, past timeout_ms + its grace from
  // the time they were queued.
  if (!w) workers.push((w = await startWorker()));
  const rx = await receiver(() => [204, {}, 900]);
  const topic = uniqueName("queued");
  rx.secret = await pushChannel(w, topic, "hook", { url: rx.url, timeout_ms: 1000, max_in_flight: 42 });
  // A socket channel of the same topic with a deferred message due while pushes are out.
  const s = await Socket.consumer(w.url, topic, "sock", { max_in_flight: 1 });
  const events = Array.from({ length: 42 }, (_, i) => cloudEvent(`q-${i}`, { i }));
  const r = await call(w.url, "POST", `/v1/topics/${enc(topic)}/events`, {
    raw: JSON.stringify(events),
    headers: { "content-type": "application/cloudevents-batch+json" },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal((await publish(w, topic, cloudEvent("later", 1), "?delay_ms=1500")).status, 201);
  let seen = await s.next((m) => m.op === "msg");
  while (seen.event.id !== "later") {
    s.send({ op: "fin", id: seen.id });
    seen = await s.next((m) => m.op === "msg");
  }
  assert.ok(rx.got.length < 42, `the deferred message came while pushes were still out (${rx.got.length} answered)`);
  s.close();
  await rx.until((g) => g.length === 42, "every push");
  const st = await until(async () => {
    const c = await channelStats(w, topic, "hook");
    return c.finished_total === 42 && c;
  }, "42 finished");
  assert.deepEqual([st.push_ok_total, st.push_failed_total], [42, 0], JSON.stringify(st));
  const ids = rx.got.map((g) => g.headers["webhook-id"]);
  assert.equal(new Set(ids).size, 42, "each message pushed once");
  assert.ok(ids.every((id) => id.endsWith("-1")), "every one on its first attempt");
  await rx.close();
});
