// The JS client on partitioned topics against the Worker in workerd: a subscriber opens one
// socket per partition by itself (learning the count from a refused first socket), spreads
// maxInFlight over them, gets every keyed event once in per-key order, and reconnects one
// partition's socket without touching the others; a topic partitioned while a subscriber
// is away is picked up; publisher sockets route per partition with the bus's rule.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { Connection, ForbiddenError, InvalidRequestError, UnauthorizedError } from "../../js/dist/node.js";
import { ADMIN_TOKEN, fnv1a32, startWorker, tempDir, uniqueName } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
});
after(async () => {
  await w?.destroy();
});

/** Keys covering every one of `n` partitions, `each` keys per partition. */
function keysOver(n, each) {
  const by = Array.from({ length: n }, () => []);
  for (let i = 0; by.some((k) => k.length < each); i++) {
    const k = `key-${i}`;
    if (by[fnv1a32(k) % n].length < each) by[fnv1a32(k) % n].push(k);
  }
  return by.flat();
}

/** Re-checks conditions whenever something happens (no sleeps); each wait has a safety timeout. */
class Board {
  waits = new Set();
  poke() {
    for (const w of [...this.waits]) w();
  }
  until(check, what, timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waits.delete(test);
      };
      const test = () => {
        if (!check()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.waits.add(test);
      test();
    });
  }
}

/**
 * A WebSocket constructor that records each socket it makes (its URL's partition and the
 * frames sent), pokes `board` on every socket event, and, while `gate.closed`, makes
 * sockets that fail before opening (as a refused upgrade does).
 */
function recorder(board, gate = { closed: false }) {
  const sockets = [];
  class Recording extends WebSocket {
    constructor(url) {
      if (gate.closed) {
        const fake = { readyState: 0, partition: new URL(url).searchParams.get("partition"), sent: [], send() {}, close() {} };
        setImmediate(() => {
          fake.readyState = 3;
          fake.onerror?.({});
          fake.onclose?.({ code: 1006, reason: "" });
        });
        return fake;
      }
      super(url);
      this.partition = new URL(url).searchParams.get("partition");
      this.sent = [];
      this.addEventListener("open", () => (this.opened = true));
      sockets.push(this);
      for (const ev of ["open", "close", "error", "message"]) this.addEventListener(ev, () => setImmediate(() => board.poke()));
    }
    send(data) {
      this.sent.push(JSON.parse(data));
      super.send(data);
    }
  }
  return { WebSocket: Recording, sockets, open: () => sockets.filter((s) => s.readyState === 1) };
}

function connect(url, extra) {
  return new Connection({ url, credentials: { token: ADMIN_TOKEN }, reconnect: { min: 50, max: 400 }, ...extra });
}

test("a subscriber on a 4-partition topic: one socket per partition, maxInFlight spread 3/3/2/2, every keyed event once in per-key order", async () => {
  const board = new Board();
  const rec = recorder(board);
  const bus = connect(w.url, { WebSocket: rec.WebSocket });
  const topic = uniqueName("cparts");
  assert.deepEqual(await bus.admin.createTopic(topic, { partitions: 4 }), { created: true, partitions: 4 });
  const keys = keysOver(4, 3);
  const perKey = 10;
  const seen = new Map(keys.map((k) => [k, []]));
  let total = 0;
  const sub = bus.subscribe({ topic, channel: "all", maxInFlight: 10 }, async (msg) => {
    assert.equal(msg.partition, fnv1a32(msg.data.k) % 4, "the message names its partition");
    seen.get(msg.data.k).push(msg.data.i);
    await new Promise((r) => setImmediate(r));
    total += 1;
    board.poke();
  });
  await sub.start();
  assert.equal(sub.partitions, 4);
  assert.equal(sub.state, "connected");
  // The first socket went without ?partition and was refused; then one per partition.
  assert.equal(rec.sockets[0].partition, null);
  const live = rec.open();
  assert.deepEqual(live.map((s) => s.partition).sort(), ["0", "1", "2", "3"]);
  assert.equal(rec.sockets.length, 5);
  const credit = live.map((s) => [s.partition, s.sent.find((f) => f.op === "hello").max_in_flight]).sort();
  assert.deepEqual(credit, [["0", 3], ["1", 3], ["2", 2], ["3", 2]]);
  const channel = (await bus.admin.stats(topic)).channels.find((c) => c.channel === "all");
  assert.deepEqual(channel.partitions.map((p) => [p.partition, p.consumers]), [[0, 1], [1, 1], [2, 1], [3, 1]]);

  for (let i = 0; i < perKey; i++) {
    const results = await bus.publishBatch(topic, keys.map((k) => ({ data: { k, i }, orderingKey: k })));
    assert.deepEqual(results.map((r) => r.partition), keys.map((k) => fnv1a32(k) % 4));
  }
  await board.until(() => total === keys.length * perKey, "every event");
  for (const [k, got] of seen) assert.deepEqual(got, Array.from({ length: perKey }, (_, i) => i), k);

  // setMaxInFlight spreads again: 5 over 4 is 2/1/1/1.
  sub.setMaxInFlight(5);
  await board.until(() => live.every((s) => s.sent.some((f) => f.op === "rdy")), "rdy on every socket");
  assert.deepEqual(live.map((s) => [s.partition, s.sent.findLast((f) => f.op === "rdy").count]).sort(), [["0", 2], ["1", 1], ["2", 1], ["3", 1]]);
  // 0 pauses every socket (rdy 0, not 1 each).
  sub.setMaxInFlight(0);
  await board.until(() => live.every((s) => s.sent.findLast((f) => f.op === "rdy").count === 0), "rdy 0 on every socket");
  await bus.close();
  assert.equal(sub.state, "stopped");
  await board.until(() => rec.open().length === 0, "every socket closed");
});

test("one partition's socket failing reconnects only that one; a runtime restart reconnects each", async () => {
  const dir = tempDir();
  let w1 = await startWorker({ persist: dir, vars: { ALLOW_ANONYMOUS: "false" } });
  const port = Number(new URL(w1.url).port);
  const board = new Board();
  const rec = recorder(board);
  const bus = connect(w1.url, { WebSocket: rec.WebSocket });
  const events = [];
  for (const type of ["connecting", "connected", "disconnected"]) bus.on(type, (e) => (events.push({ type, ...e }), board.poke()));
  const topic = uniqueName("ckill");
  await bus.admin.createTopic(topic, { partitions: 4 });
  const keys = keysOver(4, 1);
  const got = [];
  const sub = bus.subscribe({ topic, channel: "c", maxInFlight: 4 }, (msg) => {
    got.push(msg.data);
    board.poke();
  });
  await sub.start();
  const before = new Map(rec.open().map((s) => [s.partition, s]));
  assert.equal(before.size, 4);
  events.length = 0;

  before.get("2").close(4000, "killed by the test");
  await board.until(() => events.some((e) => e.type === "connected" && e.partition === 2), "partition 2 back");
  assert.deepEqual(events.filter((e) => e.type === "disconnected").map((e) => e.partition), [2]);
  assert.deepEqual([...new Set(events.map((e) => e.partition))], [2], "no other partition's socket noticed");
  for (const p of ["0", "1", "3"]) assert.equal(before.get(p).readyState, 1, `partition ${p} kept its socket`);
  assert.equal(rec.sockets.length, 6, "one new socket");
  for (const [i, k] of keys.entries()) await bus.publish(topic, { k, i }, { orderingKey: k });
  await board.until(() => got.length === 4, "one event per partition");

  events.length = 0;
  await w1.stop();
  w1 = await startWorker({ persist: dir, port, vars: { ALLOW_ANONYMOUS: "false" } });
  await board.until(() => sub.state === "connected" && rec.open().length === 4, "every partition back after the restart");
  assert.deepEqual([...new Set(events.filter((e) => e.type === "disconnected").map((e) => e.partition))].sort(), [0, 1, 2, 3]);
  for (const [i, k] of keys.entries()) await bus.publish(topic, { k, i: i + 4 }, { orderingKey: k });
  // At least once: a message whose fin the stopped runtime had not committed comes again.
  const distinct = () => new Set(got.map((d) => JSON.stringify(d)));
  await board.until(() => distinct().size === 8, "events after the restart");
  for (const again of got.filter((d, i) => got.findIndex((e) => e.k === d.k && e.i === d.i) !== i)) {
    assert.ok(again.i < 4, `only a message of before the restart is delivered twice: ${JSON.stringify(again)}`);
  }
  await bus.close();
  await w1.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test("a topic partitioned while the subscriber was away: the refused reconnect reads the count and opens a socket per partition", async () => {
  const board = new Board();
  const gate = { closed: false };
  const rec = recorder(board, gate);
  const topic = uniqueName("clater");
  const statsAsked = [];
  const fetchSpy = (url, init) => {
    if ((init?.method ?? "GET") === "GET" && new URL(url).pathname.startsWith(`/v1/topics/${topic}`) && !new URL(url).pathname.includes("/events")) statsAsked.push(Date.now());
    return fetch(url, init);
  };
  const bus = connect(w.url, { WebSocket: rec.WebSocket, fetch: fetchSpy });
  const got = [];
  const sub = bus.subscribe({ topic, channel: "c", maxInFlight: 6 }, (msg) => {
    got.push(msg);
    board.poke();
  });
  await sub.start();
  assert.equal(sub.partitions, 1);
  assert.equal(rec.sockets[0].partition, null, "a topic of one partition: one socket, no ?partition");
  assert.equal(rec.sockets.length, 1);
  await bus.publish(topic, { before: true });
  await board.until(() => got.length === 1, "the first event");
  assert.deepEqual(statsAsked, [], "no extra request on a topic of one partition");

  // The socket is lost and cannot come back for now; meanwhile the topic is made again
  // with 3 partitions.
  let attempts = 0;
  bus.on("connecting", () => (attempts++, board.poke()));
  gate.closed = true;
  rec.sockets[0].close(4000, "away");
  await board.until(() => attempts >= 2, "reconnect attempts");
  await bus.admin.deleteTopic(topic);
  assert.deepEqual(await bus.admin.createTopic(topic, { partitions: 3 }), { created: true, partitions: 3 });
  await bus.admin.createChannel(topic, "c");
  gate.closed = false;
  await board.until(() => sub.partitions === 3 && sub.state === "connected", "3 partition sockets");
  assert.deepEqual(rec.open().map((s) => s.partition).sort(), ["0", "1", "2"]);
  assert.deepEqual(rec.open().map((s) => s.sent[0].max_in_flight), [2, 2, 2]);
  const keys = keysOver(3, 1);
  for (const k of keys) await bus.publish(topic, { k }, { orderingKey: k });
  await board.until(() => got.length === 4, "an event on each partition");
  assert.deepEqual(got.slice(1).map((m) => m.partition).sort(), [0, 1, 2]);
  await bus.close();
});

test("publisher sockets on a 4-partition topic: routed by key (order kept) and by source + id, one socket per partition", async () => {
  const board = new Board();
  const rec = recorder(board);
  const bus = connect(w.url, { WebSocket: rec.WebSocket, publishing: { via: "socket", lingerMs: 2 } });
  const topic = uniqueName("cpub");
  await bus.admin.createTopic(topic, { partitions: 4 });
  await bus.admin.createChannel(topic, "audit");
  const keys = keysOver(4, 2);
  const perKey = 15;
  // A burst, made before the client knows the topic is partitioned: it waits on the first
  // socket (refused), then is routed again, in order.
  const sends = [];
  for (let i = 0; i < perKey; i++) for (const k of keys) sends.push(bus.publish(topic, { k, i }, { orderingKey: k }).then((r) => ({ k, i, r })));
  const results = await Promise.all(sends);
  for (const { k, r } of results) assert.equal(r.partition, fnv1a32(k) % 4, k);
  for (const k of keys) {
    const seqs = results.filter((x) => x.k === k).sort((a, b) => a.i - b.i).map((x) => x.r.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${k}: published in order`);
  }
  assert.equal(rec.sockets[0].partition, null);
  assert.deepEqual(rec.open().map((s) => s.partition).sort(), ["0", "1", "2", "3"]);
  assert.equal(rec.sockets.length, 5);
  const frames = rec.open().flatMap((s) => s.sent.filter((f) => f.op === "pub"));
  assert.ok(frames.some((f) => f.events?.length > 1), "batched per partition");

  // Without a key, by source + id: a retry lands on the same partition and is a duplicate.
  const first = await bus.publish(topic, { n: 1 }, { id: "fixed-id-1" });
  assert.equal(first.partition, fnv1a32("/ismld-js\nfixed-id-1") % 4);
  const again = await bus.publish(topic, { n: 1 }, { id: "fixed-id-1" });
  assert.deepEqual([again.duplicate, again.partition, again.seq], [true, first.partition, first.seq]);

  // `partition` pins a publish, whatever its key says, over that partition's socket; one
  // the topic lacks is refused.
  const pinnedKey = keys.find((k) => fnv1a32(k) % 4 !== 3);
  const pubsOn = (p) =>
    rec
      .open()
      .filter((s) => s.partition === p)
      .flatMap((s) => s.sent.filter((f) => f.op === "pub").flatMap((f) => f.events ?? [f.event]));
  const before3 = pubsOn("3").length;
  const pinned = await bus.publish(topic, { pinned: true }, { partition: 3, orderingKey: pinnedKey });
  assert.equal(pinned.partition, 3);
  assert.equal(pubsOn("3").length, before3 + 1, "over partition 3's socket");
  assert.equal(pubsOn("3").at(-1).orderingkey, pinnedKey, "its key kept for ordering within the partition");
  assert.equal(rec.sockets.length, 5, "no new socket");
  await assert.rejects(bus.publish(topic, 1, { partition: 4 }), (e) => e.code === "invalid_request" && /partition must be 0\.\.3 on this topic/.test(e.message));
  await assert.rejects(bus.publish(topic, 1, { partition: -1 }), (e) => e.code === "invalid_request");
  await assert.rejects(bus.publish(topic, 1, { partition: 1.5 }), (e) => e.code === "invalid_request");

  // What a channel gets of each partition (admin.pull({ partition })) is in per-key order.
  const delivered = new Map(keys.map((k) => [k, []]));
  for (let p = 0; p < 4; p++) {
    for (;;) {
      const msgs = await bus.admin.pull(topic, "audit", { partition: p, max: 100 });
      if (msgs.length === 0) break;
      for (const m of msgs) {
        assert.equal(m.partition, p);
        if (m.event.data.k) delivered.get(m.event.data.k).push(m.event.data.i);
      }
      await bus.admin.settle(topic, "audit", msgs.map((m) => ({ op: "fin", id: m.id })));
    }
  }
  for (const [k, is] of delivered) assert.deepEqual(is, Array.from({ length: perKey }, (_, i) => i), k);
  await bus.close();
  await board.until(() => rec.open().length === 0, "publisher sockets closed");
});

test("pinned publishes from a fresh connection: over the partition's socket, kept when the count is learnt; one the topic lacks is refused", async () => {
  const board = new Board();
  const rec = recorder(board);
  const bus = connect(w.url, { WebSocket: rec.WebSocket, publishing: { via: "socket" } });
  const parted = uniqueName("cpin");
  const plain = uniqueName("cpin1");
  await bus.admin.createTopic(parted, { partitions: 3 });
  // Before the client knows the count: the pinned socket's welcome says 3 partitions.
  const a = await Promise.all([0, 1, 2].map((i) => bus.publish(parted, { i }, { partition: 2 })));
  assert.deepEqual(a.map((r) => r.partition), [2, 2, 2]);
  assert.deepEqual(a.map((r) => r.seq), [1, 2, 3], "in order on partition 2");
  assert.deepEqual(rec.sockets.map((s) => s.partition), ["2"], "one socket, partition 2's, kept when the count was learnt");
  const routed = await bus.publish(parted, { k: 1 }, { orderingKey: "k-2" });
  assert.equal(routed.partition, fnv1a32("k-2") % 3);
  await assert.rejects(bus.publish(parted, 1, { partition: 3 }), (e) => e.code === "invalid_request" && /0\.\.2 on this topic/.test(e.message));

  await bus.close();
  await board.until(() => rec.open().length === 0, "publisher sockets closed");

  // A topic of one partition, from a connection that knows nothing of it: partition 1's
  // socket is refused before its upgrade, the probe says 1 partition, and the publish fails;
  // `?partition=0` is taken.
  const fresh = connect(w.url, { WebSocket: rec.WebSocket, publishing: { via: "socket" } });
  const before = rec.sockets.length;
  await assert.rejects(fresh.publish(plain, 1, { partition: 1 }), (e) => e.code === "invalid_request" && /0\.\.0 on this topic/.test(e.message));
  assert.deepEqual(rec.sockets.slice(before).map((s) => [s.partition, !!s.opened]), [["1", false]], "partition 1's socket was refused");
  await assert.rejects(fresh.publish(plain, 1, { partition: 1 }), (e) => e.code === "invalid_request", "again, at once now that the count is known");
  assert.equal(rec.sockets.length, before + 1, "without trying a socket");
  const zero = await fresh.publish(plain, { z: 1 }, { partition: 0 });
  assert.deepEqual([zero.partition, zero.seq], [0, 1]);
  assert.deepEqual(rec.sockets.slice(before + 1).map((s) => [s.partition, !!s.opened]), [["0", true]]);
  await fresh.close();
  await board.until(() => rec.open().length === 0, "publisher sockets closed");
});

test("refusals on a partitioned topic: bad credentials reject start() and socket publishes, a publisher-only client is forbidden, a batch refused in part says which", async () => {
  const admin = connect(w.url);
  const topic = uniqueName("crefused");
  await admin.admin.createTopic(topic, { partitions: 2 });
  const wrong = new Connection({ url: w.url, credentials: { token: "not-a-token" } });
  const stopped = [];
  const sub = wrong.subscribe({ topic, channel: "c" }, () => {});
  sub.whenStopped((e) => stopped.push(e));
  await assert.rejects(sub.start(), UnauthorizedError);
  assert.equal(sub.state, "stopped");
  assert.ok(stopped[0] instanceof UnauthorizedError);
  const wrongPub = new Connection({ url: w.url, credentials: { token: "not-a-token" }, publishing: { via: "socket" } });
  await assert.rejects(wrongPub.publish(topic, 1, { orderingKey: "k" }), UnauthorizedError, "at once, not at the publish timeout");
  await wrongPub.close();
  const login = uniqueName("pubonly");
  const creds = await admin.admin.createClient(login, { publish: ["*"], subscribe: [] });
  const limited = new Connection({ url: w.url, credentials: creds });
  const forbidden = limited.subscribe({ topic, channel: "c" }, () => {});
  await assert.rejects(forbidden.start(), ForbiddenError);
  assert.equal(forbidden.partitions, 2, "it got as far as the partitions' sockets");
  // A batch is atomic per partition: one bad event refuses its partition's part only.
  const keys = keysOver(2, 2);
  const items = keys.map((k, i) => ({ data: i, orderingKey: k, ...(i === 0 ? { delayMs: 8 * 86_400_000 } : {}) }));
  const refused = await admin.publishBatch(topic, items).then(
    () => assert.fail("accepted"),
    (e) => e,
  );
  assert.ok(refused instanceof InvalidRequestError, String(refused));
  const bad = fnv1a32(keys[0]) % 2;
  assert.deepEqual(
    refused.results.map((r) => ("error" in r ? `error:${r.error.code}` : `p${r.partition}`)),
    keys.map((k) => (fnv1a32(k) % 2 === bad ? "error:invalid_request" : `p${fnv1a32(k) % 2}`)),
  );
  assert.ok(refused.results.filter((r) => !("error" in r)).every((r) => r.topic === topic && r.seq >= 1));
  await Promise.all([wrong.close(), limited.close(), admin.close()]);
});
