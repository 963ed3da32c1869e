// Nothing acknowledged is lost: a 201 publish and an `ok` fin survive a restart of the
// runtime (workerd stopped, then started again on the same persistence directory).
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { startWorker, call, publish, cloudEvent, uniqueName, Socket, tempDir } from "./harness.mjs";

test("published events, finished messages, channels and counters survive a restart", async () => {
  const dir = tempDir();
  let w;
  const topic = uniqueName("durable");
  try {
    w = await startWorker({ persist: dir });
    assert.equal((await call(w.url, "PUT", `/v1/topics/${topic}/channels/idle`)).status, 201);
    const c = await Socket.consumer(w.url, topic, "work", { max_in_flight: 2 });
    const sent = [];
    for (let i = 1; i <= 4; i++) sent.push((await publish(w.url, topic, cloudEvent(`d${i}`, { i }))).body);
    const m1 = await c.msg();
    const m2 = await c.msg();
    assert.equal((await c.request({ op: "fin", id: m1.id })).op, "ok");
    const m3 = await c.msg();
    // Now: 1 finished; 2 and 3 in flight to a consumer about to die; 4 never delivered.
    await call(w.url, "GET", `/v1/topics/${topic}`); // commit barrier for the fin, see below
    await w.stop();

    w = await startWorker({ persist: dir });
    const stats = await call(w.url, "GET", `/v1/topics/${topic}`);
    assert.equal(stats.status, 200);
    assert.equal(stats.body.seq, 4);
    assert.equal(stats.body.retained, 4);
    const work = stats.body.channels.find((s) => s.channel === "work");
    const idle = stats.body.channels.find((s) => s.channel === "idle");
    assert.equal(work.finished_total, 1);
    assert.equal(work.depth, 3);
    assert.equal(work.delivered_total, 3);
    assert.equal(idle.depth, 4, "a channel with no consumer kept every event");

    const c2 = await Socket.consumer(w.url, topic, "work", { max_in_flight: 10 });
    const got = [await c2.msg(), await c2.msg(), await c2.msg()];
    const bySeq = Object.fromEntries(got.map((m) => [m.seq, m]));
    assert.deepEqual(Object.keys(bySeq).map(Number).sort(), [2, 3, 4], "finished 1 is never redelivered");
    assert.equal(bySeq[2].attempt, 2);
    assert.equal(bySeq[3].attempt, 2);
    assert.equal(bySeq[4].attempt, 1);
    assert.equal(bySeq[2].event.id, "d2");
    assert.equal(bySeq[2].id, m2.id);
    assert.equal(bySeq[3].id, m3.id);
    for (const m of got) assert.equal((await c2.request({ op: "fin", id: m.id })).op, "ok");
    await call(w.url, "GET", `/v1/topics/${topic}`); // commit barrier, see above

    // Idempotent publish across the restart: the dedup filter is rebuilt from storage.
    const again = await publish(w.url, topic, cloudEvent("d2", { i: 2 }));
    assert.deepEqual([again.status, again.body.seq, again.body.duplicate], [201, 2, true]);
    const next = await publish(w.url, topic, cloudEvent("d5", 5));
    assert.equal(next.body.seq, 5, "seq continues without a gap");
    assert.equal((await c2.msg()).seq, 5);
    c2.close();
    await w.stop();

    w = await startWorker({ persist: dir });
    const after = await call(w.url, "GET", `/v1/topics/${topic}`);
    const work2 = after.body.channels.find((s) => s.channel === "work");
    assert.equal(work2.finished_total, 4);
    assert.equal(work2.depth, 1, "message 5 was delivered but not finished");
    await w.stop();
  } finally {
    await w?.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

test("idempotent publish beyond the pairs kept in memory, before and after a restart", async () => {
  // DEDUP_MEMORY_PAIRS=3: of six pairs, three stay in memory and three are spilled to storage.
  const dir = tempDir();
  let w;
  const topic = uniqueName("spill");
  const batch = (ids) =>
    call(w.url, "POST", `/v1/topics/${topic}/events`, {
      raw: JSON.stringify(ids.map((id) => cloudEvent(id, id))),
      headers: { "content-type": "application/cloudevents-batch+json" },
    });
  const answer = (r) => r.body.results.map((x) => [x.seq, x.duplicate]);
  try {
    w = await startWorker({ persist: dir, vars: { DEDUP_MEMORY_PAIRS: "3" } });
    const first = await batch(["s1", "s2", "s3", "s4", "s5", "s6"]);
    assert.equal(first.status, 201);
    assert.deepEqual(answer(first), [1, 2, 3, 4, 5, 6].map((s) => [s, false]));
    const again = await batch(["s1", "s6", "s7", "s2"]);
    assert.deepEqual(answer(again), [[1, true], [6, true], [7, false], [2, true]], "spilled and kept pairs alike");
    await w.stop();

    w = await startWorker({ persist: dir, vars: { DEDUP_MEMORY_PAIRS: "3" } });
    const later = await batch(["s3", "s4", "s5", "s7", "s8"]);
    assert.deepEqual(answer(later), [[3, true], [4, true], [5, true], [7, true], [8, false]]);
    assert.equal((await call(w.url, "GET", `/v1/topics/${topic}`)).body.seq, 8);
    await w.stop();
  } finally {
    await w?.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

test("spilled pairs are duplicates for the dedup window and no longer, across spill generations", async () => {
  // A 1.5 s window and 3 pairs in memory: every batch spills, and a new spill generation
  // begins (the older one emptied whole) about every window. What is under test is the
  // window itself, so this test runs until it has passed, publishing all along.
  const window = 1500;
  const w = await startWorker({ vars: { DEDUP_MEMORY_PAIRS: "3", DEDUP_WINDOW_MS: String(window) } });
  const topic = uniqueName("gens");
  const batch = async (ids) => {
    const r = await call(w.url, "POST", `/v1/topics/${topic}/events`, {
      raw: JSON.stringify(ids.map((id) => cloudEvent(id, id))),
      headers: { "content-type": "application/cloudevents-batch+json" },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.results.map((x) => x.duplicate);
  };
  try {
    const t0 = Date.now();
    assert.deepEqual(await batch(["a1", "a2", "a3", "a4", "a5", "a6"]), Array(6).fill(false));
    let round = 0;
    // Until three windows have passed: each round's pairs, then the previous round's again.
    while (Date.now() - t0 < 3 * window + 200) {
      const ids = [1, 2, 3, 4, 5, 6].map((i) => `r${round}-${i}`);
      assert.deepEqual(await batch(ids), Array(6).fill(false), `round ${round}`);
      if (round > 0) {
        const before = [1, 2, 3, 4, 5, 6].map((i) => `r${round - 1}-${i}`);
        assert.deepEqual(await batch(before), Array(6).fill(true), `round ${round}: the round before is inside the window`);
      }
      round += 1;
    }
    assert.deepEqual(await batch(["a1", "a6"]), [false, false], "pairs older than the window are new again");
  } finally {
    await w.stop();
  }
});

test("an in-flight deadline still fires after a restart", async () => {
  const dir = tempDir();
  let w;
  const topic = uniqueName("deadline");
  try {
    w = await startWorker({ persist: dir });
    const c = await Socket.consumer(w.url, topic, "ch", { handler_timeout_ms: 1000 });
    await publish(w.url, topic, cloudEvent("x", 1));
    const m = await c.msg();
    await w.stop();
    w = await startWorker({ persist: dir });
    const c2 = await Socket.consumer(w.url, topic, "ch", { handler_timeout_ms: 1000 });
    const again = await c2.msg(15_000);
    assert.equal(again.id, m.id);
    assert.equal(again.attempt, 2);
    c2.close();
    await w.stop();
  } finally {
    await w?.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

test("deferred messages, checkpoints and dead letters survive a restart", async () => {
  const dir = tempDir();
  let w;
  const topic = uniqueName("deferred");
  try {
    w = await startWorker({ persist: dir });
    const c = await Socket.consumer(w.url, topic, "ch", { max_attempts: 1, max_in_flight: 5 });
    const t0 = Date.now();
    const later = await publish(w.url, topic, cloudEvent("later", 1), "?delay_ms=2500");
    await publish(w.url, topic, cloudEvent("poison", 2));
    await publish(w.url, topic, cloudEvent("work", 3));
    const poison = await c.msg();
    const work = await c.msg();
    await c.request({ op: "req", id: poison.id }); // max_attempts 1: dead
        await c.request({ op: "shelve", id: work.id, state: { step: 7 }, delay_ms: 2000 });
    // Local workerd may send a socket's `ok` a few ms before the commit reaches disk (see
    // the README); an HTTP answer is always held until earlier writes are committed.
    await call(w.url, "GET", `/v1/topics/${topic}`);
    await w.stop();

    w = await startWorker({ persist: dir });
    const c2 = await Socket.consumer(w.url, topic, "ch", { max_in_flight: 5 });
    const first = await c2.msg(15_000);
    const second = await c2.msg(15_000);
    const byId = Object.fromEntries([first, second].map((m) => [m.event.id, m]));
    assert.deepEqual(Object.keys(byId).sort(), ["later", "work"]);
    assert.deepEqual(byId.work.checkpoint, { step: 7 });
    assert.equal(byId.later.id, later.body.id);
    assert.ok(Date.now() - t0 >= 2400, "the deferral held across the restart");
    const dead = await call(w.url, "GET", `/v1/topics/${topic}/channels/ch/dead`);
    assert.deepEqual(dead.body.messages.map((m) => m.event.id), ["poison"]);
    c2.close();
    await w.stop();
  } finally {
    await w?.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
