// A topic stored by the first version (schema 1: channels by name with counters in
// columns, message rows keyed by channel name, a `requests` table, `pruned_through` in
// meta) is upgraded in place when this build first loads it: nothing pending is lost,
// attempts, failures, checkpoints, dead letters, reply marks, counters and the dedup
// window carry over, and seqs go on from where the first version left them.
//
// The first version's storage is laid out with its own DDL by a second runtime on the
// persist directory (tests/e2e/inspect/), then this build runs on it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { withStorage, startWorker, tempDir, uniqueName, call, cloudEvent, publish, topicStats, Socket } from "./harness.mjs";

/** The first version's schema, as it created it. */
const V1_SCHEMA = [
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
  "CREATE TABLE events (seq INTEGER PRIMARY KEY, source TEXT NOT NULL, eid TEXT NOT NULL, ts INTEGER NOT NULL, okey TEXT, body TEXT NOT NULL)",
  "CREATE TABLE dedup_spill (hash INTEGER PRIMARY KEY, seq INTEGER NOT NULL, ts INTEGER NOT NULL)",
  `CREATE TABLE channels (name TEXT PRIMARY KEY, base_seq INTEGER NOT NULL, floor INTEGER NOT NULL,
     cursor INTEGER NOT NULL, paused INTEGER NOT NULL, delivered_total INTEGER NOT NULL,
     finished_total INTEGER NOT NULL, requeued_total INTEGER NOT NULL,
     timed_out_total INTEGER NOT NULL, dropped_total INTEGER NOT NULL)`,
  `CREATE TABLE messages (channel TEXT NOT NULL, seq INTEGER NOT NULL, state INTEGER NOT NULL, consumer INTEGER,
     due INTEGER, attempt INTEGER NOT NULL, failures INTEGER NOT NULL, checkpoint TEXT,
     PRIMARY KEY (channel, seq)) WITHOUT ROWID`,
  "CREATE TABLE requests (seq INTEGER PRIMARY KEY)",
].map((q) => [q]);

/** Runs statements in each named topic object stored in `dir` (the Worker stopped). */
function inObjects(dir, byName) {
  return withStorage(dir, async (url) => {
    for (const [name, statements] of Object.entries(byName)) {
      const r = await fetch(`${url}?name=${encodeURIComponent(name)}`, { method: "POST", body: JSON.stringify(statements) });
      assert.equal(r.status, 200, `statements in ${name}: ${await r.text()}`);
    }
  });
}

const event = (seq, id, data, ts) => [
  "INSERT INTO events (seq, source, eid, ts, okey, body) VALUES (?, ?, ?, ?, ?, ?)",
  seq,
  "/tests",
  id,
  ts,
  null,
  JSON.stringify({ ...cloudEvent(id, data), time: new Date(ts).toISOString() }),
];

test("a topic stored by the first version is upgraded in place: pending work, counters, dead letters, reply marks, dedup and seqs carry over", async () => {
  const dir = tempDir();
  const busy = uniqueName("v1-busy");
  const pruned = uniqueName("v1-pruned");
  const now = Date.now();
  // The Worker makes the persist layout (and its other objects) first.
  let w = await startWorker({ persist: dir });
  await w.stop();
  try {
    await inObjects(dir, {
      // Events 1-5 on channel `c`: 1 and 4 finished, 2 in flight to a consumer that is
      // gone (deadline passed), 3 given back once with a checkpoint, 5 dead; 3 is a
      // request (a `reply` mark). The channel row's cursor (the next seq to deliver) is
      // 5: the first version wrote it with the next settle or a timer, after the message
      // rows, and found it from them at start. 6 was never delivered (no row); 7 and 8
      // were published with a delay, so each has a row of attempt 0 (7's time has come,
      // 8's has not).
      [busy]: [
        ...V1_SCHEMA,
        ["INSERT INTO meta (key, value) VALUES ('topic', ?)", busy],
        event(1, "e-1", 1, now - 60_000),
        event(2, "e-2", 2, now - 50_000),
        event(3, "e-3", 3, now - 40_000),
        event(4, "e-4", 4, now - 30_000),
        event(5, "e-5", 5, now - 20_000),
        event(6, "e-6", 6, now - 10_000),
        event(7, "e-7", 7, now - 9_000),
        event(8, "e-8", 8, now - 8_000),
        ["INSERT INTO requests (seq) VALUES (3)"],
        ["INSERT INTO channels VALUES ('c', 0, 1, 5, 0, 6, 2, 1, 1, 0)"],
        ["INSERT INTO messages VALUES ('c', 2, 1, 9, ?, 1, 0, NULL)", now - 10_000],
        ["INSERT INTO messages VALUES ('c', 3, 2, NULL, NULL, 1, 1, ?)", JSON.stringify({ step: 2 })],
        ["INSERT INTO messages VALUES ('c', 4, 5, NULL, NULL, 1, 0, NULL)"],
        ["INSERT INTO messages VALUES ('c', 5, 4, NULL, NULL, 3, 3, NULL)"],
        ["INSERT INTO messages VALUES ('c', 7, 3, NULL, ?, 0, 0, NULL)", now - 1_000],
        ["INSERT INTO messages VALUES ('c', 8, 3, NULL, ?, 0, 0, NULL)", now + 4_000],
      ],
      // Every event pruned by retention: only `pruned_through` knows the last seq given.
      [pruned]: [
        ...V1_SCHEMA,
        ["INSERT INTO meta (key, value) VALUES ('topic', ?)", pruned],
        ["INSERT INTO meta (key, value) VALUES ('pruned_through', '7')"],
        ["INSERT INTO channels VALUES ('c', 0, 7, 8, 0, 7, 7, 0, 0, 0)"],
      ],
    });

    w = await startWorker({ persist: dir });
    const consumer = await Socket.consumer(w.url, busy, "c", { max_in_flight: 10 });
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await consumer.msg());
    got.sort((a, b) => a.seq - b.seq);
    assert.deepEqual(
      got.map((m) => [m.seq, m.attempt, m.failures, m.reply, m.checkpoint, m.event.data]),
      [
        [2, 2, 1, false, null, 2],
        [3, 2, 1, true, { step: 2 }, 3],
        [6, 1, 0, false, null, 6],
        [7, 1, 0, false, null, 7],
      ],
      "the in-flight message comes back as a failure (its deadline passed), the given-back one with its checkpoint and reply mark; those never delivered come, the deferred one whose time came too",
    );
    const held = await consumer.barrier();
    assert.deepEqual(held, [], "finished messages (1 and 4), the dead letter (5) and the deferred 8 are not delivered");
    for (const m of got) assert.equal((await consumer.request({ op: "fin", id: m.id })).op, "ok");
    const late = await consumer.msg();
    assert.equal(late.seq, 8, "the deferred message comes at its time");
    assert.ok(Date.now() >= now + 4_000, "not before it");
    assert.equal((await consumer.request({ op: "fin", id: late.id })).op, "ok");

    const dead = await call(w.url, "GET", `/v1/topics/${busy}/channels/c/dead`);
    assert.equal(dead.status, 200);
    assert.deepEqual(
      dead.body.messages.map((m) => [m.seq, m.event.id]),
      [[5, "e-5"]],
    );
    const stats = await topicStats(w.url, busy, "c");
    assert.equal(stats.depth, 0, JSON.stringify(stats));
    assert.equal(stats.dead, 1);
    assert.ok(stats.finished_total >= 7, `the first version's counters go on: ${JSON.stringify(stats)}`);

    const again = await publish(w.url, busy, cloudEvent("e-3", 3));
    assert.equal(again.status, 201);
    assert.deepEqual([again.body.seq, again.body.duplicate], [3, true], "the dedup window holds the first version's pairs");
    const fresh = await publish(w.url, busy, cloudEvent("e-9", 9));
    assert.equal(fresh.body.seq, 9);
    assert.equal((await consumer.msg()).seq, 9);
    consumer.close();

    // Seqs go on after the last one the first version gave, so the channel's cursor (8)
    // does not hide new events.
    const after = await Socket.consumer(w.url, pruned, "c", { max_in_flight: 10 });
    const next = await publish(w.url, pruned, cloudEvent("p-8", 8));
    assert.equal(next.status, 201);
    assert.equal(next.body.seq, 8, "the seq after the first version's pruned_through");
    const m = await after.msg();
    assert.deepEqual([m.seq, m.event.id], [8, "p-8"]);
    after.close();
  } finally {
    await w.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
