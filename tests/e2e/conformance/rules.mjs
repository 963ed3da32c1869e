// The delivery rules every driver of the broker must keep, written once and run against
// each of them (tests/e2e/conformance.*.test.mjs): the Worker in workerd over real HTTP
// and WebSockets, and the in-process memory:// bus. A driver gives:
//   http(method, path, { body, raw, contentType, query }) -> { status, body }
//   consumer(topic, channel, hello) -> a socket with send(frame), next(pred), msg(),
//     request(frame) (answer by ref), barrier() (msg frames held), close(), closed
import { test } from "node:test";
import assert from "node:assert/strict";

let n = 0;
const name = (p) => `${p}-${process.pid}-${Date.now().toString(36)}-${++n}`;
const ce = (id, data, extra = {}) => ({ specversion: "1.0", id, source: "/conformance", type: "c.event", data, ...extra });
const enc = encodeURIComponent;

/** Registers the suite for `driver` (its `name` prefixes every test). */
export function rules(driver) {
  const pub = (topic, data, query = {}) =>
    driver.http("POST", `/v1/topics/${enc(topic)}/events`, { body: data, query });
  const pubEvent = (topic, event, query = {}) =>
    driver.http("POST", `/v1/topics/${enc(topic)}/events`, { raw: JSON.stringify(event), contentType: "application/cloudevents+json", query });
  const pubBatch = (topic, events) =>
    driver.http("POST", `/v1/topics/${enc(topic)}/events`, { raw: JSON.stringify(events), contentType: "application/cloudevents-batch+json" });
  const stats = async (topic, channel) => (await driver.http("GET", `/v1/topics/${enc(topic)}`)).body.channels.find((c) => c.channel === channel);
  const ch = (t, c) => `/v1/topics/${enc(t)}/channels/${enc(c)}`;
  const it = (title, fn) => test(`${driver.name}: ${title}`, fn);

  it("every channel gets every event published after it exists; a channel's consumers share them", async () => {
    const t = name("fan");
    await pub(t, 0);
    const a1 = await driver.consumer(t, "a", { max_in_flight: 10 });
    const a2 = await driver.consumer(t, "a", { max_in_flight: 10 });
    const b = await driver.consumer(t, "b", { max_in_flight: 10 });
    for (let i = 1; i <= 6; i++) assert.equal((await pub(t, i)).status, 201);
    const [s1, s2, sb] = [await a1.barrier(), await a2.barrier(), await b.barrier()].map((ms) => ms.map((m) => m.seq));
    assert.deepEqual(sb, [2, 3, 4, 5, 6, 7], "every event after the channel existed");
    assert.deepEqual([...s1, ...s2].sort((x, y) => x - y), [2, 3, 4, 5, 6, 7], "each message once per channel");
    assert.ok(s1.length === 3 && s2.length === 3, `round robin: ${s1} / ${s2}`);
    for (const s of [a1, a2, b]) s.close();
  });

  it("credit: never more than rdy in flight; fin frees one; a refused settle changes nothing", async () => {
    const t = name("credit");
    const c = await driver.consumer(t, "c", { max_in_flight: 2 });
    for (let i = 0; i < 4; i++) await pub(t, i);
    const first = await c.barrier();
    assert.deepEqual(first.map((m) => m.seq), [1, 2]);
    assert.equal((await c.request({ op: "fin", id: "00000000000000ff" })).code, "not_found");
    assert.equal((await c.request({ op: "fin", id: first[0].id })).op, "ok");
    assert.equal((await c.msg()).seq, 3);
    assert.equal((await stats(t, "c")).in_flight, 2);
    c.close();
  });

  it("req counts a failure, shelve does not, and the last checkpoint rides on every redelivery", async () => {
    const t = name("settle");
    const c = await driver.consumer(t, "c", {});
    await pub(t, { job: 1 });
    const m = await c.msg();
    assert.equal((await c.request({ op: "touch", id: m.id, state: { step: 1 } })).op, "ok");
    await c.request({ op: "req", id: m.id });
    const m2 = await c.msg();
    assert.deepEqual([m2.attempt, m2.failures, m2.checkpoint], [2, 1, { step: 1 }]);
    await c.request({ op: "shelve", id: m2.id, state: { step: 2 } });
    const m3 = await c.msg();
    assert.deepEqual([m3.attempt, m3.failures, m3.checkpoint], [3, 1, { step: 2 }]);
    c.close();
    const d = await driver.consumer(t, "c", {});
    const m4 = await d.msg();
    assert.deepEqual([m4.failures, m4.checkpoint], [1, { step: 2 }], "a disconnect before the deadline is not a failure");
    d.close();
  });

  it("a passed deadline is a failure: redelivered with attempt and failures counted", async () => {
    const t = name("deadline");
    const c = await driver.consumer(t, "c", { handler_timeout_ms: 1_000 });
    await pub(t, 1);
    const m = await c.msg();
    const again = await c.msg(10_000);
    assert.equal(again.id, m.id);
    assert.deepEqual([again.attempt, again.failures], [2, 1]);
    await c.request({ op: "fin", id: again.id });
    // At least 1: on a slow machine the redelivery's own deadline may pass as well.
    assert.ok((await stats(t, "c")).timed_out_total >= 1);
    c.close();
  });

  it("max_attempts failures dead-letter a message; listed with its event and checkpoint, redriven with failures reset", async () => {
    const t = name("dead");
    const c = await driver.consumer(t, "c", { max_attempts: 1 });
    await pubEvent(t, ce("poison", { bad: true }));
    const m = await c.msg();
    await c.request({ op: "req", id: m.id, state: { tried: true } });
    await c.barrier();
    assert.equal((await stats(t, "c")).dead, 1);
    const dead = await driver.http("GET", `${ch(t, "c")}/dead`);
    assert.equal(dead.body.messages[0].event.id, "poison");
    assert.deepEqual(dead.body.messages[0].checkpoint, { tried: true });
    assert.equal((await driver.http("POST", `${ch(t, "c")}/dead/redrive`, { body: { ids: [m.id] } })).body.redriven, 1);
    const back = await c.msg();
    assert.deepEqual([back.id, back.failures], [m.id, 0]);
    c.close();
  });

  it("a deferred publish waits for its time", async () => {
    const t = name("defer");
    const c = await driver.consumer(t, "c", {});
    const start = Date.now();
    await pub(t, "later", { delay_ms: "3000" });
    assert.equal((await stats(t, "c")).deferred, 1);
    const m = await c.msg(10_000);
    assert.ok(Date.now() - start >= 2990, `${Date.now() - start} ms`);
    assert.equal(m.event.data, "later");
    c.close();
  });

  it("ordering keys: one at a time per key, in seq order; keys do not block each other", async () => {
    const t = name("keys");
    const c = await driver.consumer(t, "c", { max_in_flight: 10 });
    for (const [i, k] of ["a", "b", "a", "a", "b"].entries()) await pub(t, i, { ordering_key: k });
    const first = await c.barrier();
    assert.deepEqual(first.map((m) => m.seq), [1, 2]);
    const order = [];
    let held = first;
    while (order.length < 5) {
      const m = held.shift() ?? (await c.msg());
      order.push(m.seq);
      await c.request({ op: "fin", id: m.id });
      held = held.filter((x) => x.seq !== m.seq);
    }
    const a = order.filter((s) => [1, 3, 4].includes(s));
    assert.deepEqual(a, [1, 3, 4], `key a in order: ${order}`);
    c.close();
  });

  it("idempotent publish: a repeated (source, id) is a duplicate with the original seq", async () => {
    const t = name("dedup");
    const a = await pubEvent(t, ce("same", 1));
    const b = await pubEvent(t, ce("same", 2));
    assert.deepEqual([b.status, b.body.seq, b.body.duplicate], [201, a.body.seq, true]);
    const batch = await pubBatch(t, [ce("x", 1), ce("same", 3), ce("x", 4)]);
    assert.deepEqual(batch.body.results.map((r) => r.duplicate), [false, true, true]);
  });

  it("batched frames: msgs for a batch consumer, fin with ids answers settled and missing, pub with events", async () => {
    const t = name("batch");
    const c = await driver.consumer(t, "c", { max_in_flight: 10, batch: true });
    assert.equal(c.welcome.batch, true);
    await pubBatch(t, [ce("1", 1), ce("2", 2), ce("3", 3)]);
    const frame = await c.next((f) => f.op === "msgs");
    assert.equal(frame.messages.length, 3);
    const ids = frame.messages.map((m) => m.id);
    const ok = await c.request({ op: "fin", ids: [ids[0], ids[1], "00000000000000ff"] });
    assert.deepEqual([ok.settled, ok.missing], [2, ["00000000000000ff"]]);
    const p = await c.request({ op: "pub", events: [ce("4", 4), ce("1", 1)] });
    assert.deepEqual(p.results.map((r) => [r.seq, r.duplicate]), [[4, false], [1, true]]);
    c.close();
  });

  it("seek rewinds and skips; a channel made with from_seq gets the backlog", async () => {
    const t = name("seek");
    for (let i = 0; i < 3; i++) await pub(t, i);
    assert.equal((await driver.http("PUT", ch(t, "late"), { body: { from_seq: 2 } })).status, 201);
    const c = await driver.consumer(t, "late", { max_in_flight: 10 });
    const ms = await c.barrier();
    assert.deepEqual(ms.map((m) => m.seq), [2, 3]);
    for (const m of ms) await c.request({ op: "fin", id: m.id });
    assert.equal((await driver.http("POST", `${ch(t, "late")}/seek`, { body: { seq: 1 } })).body.ready, 3);
    assert.deepEqual((await c.barrier()).map((m) => m.seq), [1, 2, 3]);
    c.close();
  });

  it("request-response: the first respond completes the request", async () => {
    const t = name("rpc");
    const r = await driver.consumer(t, "responders", {});
    const answer = driver.http("POST", `/v1/topics/${enc(t)}/requests`, { body: { a: 2, b: 3 }, query: { timeout_ms: "5000" } });
    const m = await r.msg();
    assert.equal(m.reply, true);
    assert.equal((await r.request({ op: "respond", id: m.id, data: { sum: 5 } })).op, "ok");
    const res = await answer;
    assert.equal(res.status, 200);
    assert.equal(res.body.data.sum, 5);
    assert.equal(res.body.type, `${t}.response`);
    assert.equal((await r.request({ op: "respond", id: m.id, data: {} })).code, "not_found", "the first wins");
    r.close();
  });

  it("pull and settle: pulled messages are in flight until settled; a long poll wakes on publish", async () => {
    const t = name("pull");
    await driver.http("PUT", ch(t, "p"), {});
    await pub(t, 1);
    const got = await driver.http("POST", `${ch(t, "p")}/pull`, { body: { max: 5, visibility_ms: 30_000 } });
    assert.equal(got.body.messages.length, 1);
    const id = got.body.messages[0].id;
    const none = await driver.http("POST", `${ch(t, "p")}/pull`, { body: { max: 5 } });
    assert.equal(none.body.messages.length, 0, "in flight: not pulled twice");
    const waiting = driver.http("POST", `${ch(t, "p")}/pull`, { body: { max: 5, wait_ms: 10_000 } });
    await pub(t, 2);
    const woken = await waiting;
    assert.deepEqual(woken.body.messages.map((m) => m.seq), [2]);
    const settled = await driver.http("POST", `${ch(t, "p")}/settle`, { body: { settle: [{ op: "fin", id }, { op: "fin", id: "00000000000000ff" }] } });
    assert.equal(settled.body.results[0].ok, true);
    assert.equal(settled.body.results[1].error.code, "not_found");
  });

  it("filters: a channel gets only matching events (exact and CESQL); others are counted, not delivered", async () => {
    const t = name("filter");
    const put = await driver.http("PUT", ch(t, "big"), { body: { filter: { sql: "type = 'order.created' AND amount > 10" } } });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    await driver.http("PUT", ch(t, "exact"), { body: { filter: { exact: { type: "order.shipped" } } } });
    const c = await driver.consumer(t, "big", { max_in_flight: 10 });
    await pubEvent(t, ce("1", null, { type: "order.created", amount: 50 }));
    await pubEvent(t, ce("2", null, { type: "order.created", amount: 5 }));
    await pubEvent(t, ce("3", null, { type: "order.shipped" }));
    assert.deepEqual((await c.barrier()).map((m) => m.event.id), ["1"]);
    const big = await stats(t, "big");
    const exact = await stats(t, "exact");
    assert.deepEqual([big.filtered_total, exact.filtered_total, exact.depth], [2, 2, 1]);
    // Behind an undelivered backlog too: judged when published, never in depth.
    await pubEvent(t, ce("4", null, { type: "order.created", amount: 1 }));
    const later = await stats(t, "exact");
    assert.deepEqual([later.filtered_total, later.depth], [3, 1]);
    const conflict = await driver.http("PUT", ch(t, "big"), { body: { filter: { exact: { type: "x" } } } });
    assert.equal(conflict.status, 409, "a filter is fixed when the channel is made");
    assert.equal((await driver.http("PUT", ch(t, "bad"), { body: { filter: { sql: "type =" } } })).status, 400);
    c.close();
  });

  it("expiry: an expired message is not delivered and is counted", async () => {
    const t = name("ttl");
    await driver.http("PUT", ch(t, "c"), {});
    await pub(t, "stale", { ttl_ms: "200", delay_ms: "300" });
    await pub(t, "fresh", { ttl_ms: "60000" });
    const c = await driver.consumer(t, "c", { max_in_flight: 10 });
    assert.deepEqual((await c.barrier()).map((m) => m.event.data), ["fresh"]);
    await new Promise((r) => setTimeout(r, 400));
    await pub(t, "after");
    const m = await c.msg();
    assert.equal(m.event.data, "after", "the deferred one expired before it became ready");
    assert.equal((await stats(t, "c")).expired_total, 1);
    c.close();
  });

  it("the frame sequence: hello first; unknown ops and malformed frames get an error and the socket stays open", async () => {
    const t = name("frames");
    const c = await driver.consumer(t, "c", {});
    c.send("{not json");
    assert.equal((await c.next((f) => f.op === "error")).code, "invalid_request");
    assert.equal((await c.request({ op: "nope" })).code, "invalid_request");
    await pub(t, 1);
    assert.equal((await c.msg()).seq, 1, "still open and delivering");
    c.send({ op: "hello" });
    assert.equal((await c.closedWith()).code, 4000, "a second hello closes the socket");
  });
}
