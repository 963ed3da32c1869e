// bus.admin: every management endpoint the bus has, typed, over HTTP against the Worker
// and over memory:// (topic operations; client, token and metrics calls reject there).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Connection, InvalidRequestError, NotFoundError } from "../../js/dist/memory-node.js";
import { ADMIN_TOKEN, startWorker, uniqueName } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
});
after(async () => {
  await w?.destroy();
});

/** The topic operations, the same on both transports. */
async function topicOperations(bus, { server }) {
  const a = bus.admin;
  const topic = uniqueName("adm");
  const made = await a.createChannel(topic, "all");
  assert.equal(made.created, true);
  assert.equal(made.channel, "all");
  assert.equal((await a.createChannel(topic, "all")).created, false);
  await a.createChannel(topic, "orders-only", { filter: { prefix: { type: "order." } } });
  await assert.rejects(a.createChannel(topic, "orders-only", { filter: { exact: { type: "x" } } }), (e) => e.code === "conflict");
  await assert.rejects(a.createChannel(topic, "bad", { filter: { sql: "(((" } }), InvalidRequestError);
  for (const type of ["order.created", "user.created", "order.paid"]) {
    await bus.publishEvent(topic, { specversion: "1.0", id: uniqueName("e"), source: "/t", type, data: { type } });
  }
  // The filter is applied as the channel reaches each event.
  const orders = await a.pull(topic, "orders-only", { max: 5 });
  assert.deepEqual(orders.map((m) => m.event.type), ["order.created", "order.paid"]);
  await a.settle(topic, "orders-only", orders.map((m) => ({ op: "fin", id: m.id })));
  const stats = await a.stats(topic);
  assert.equal(stats.topic, topic);
  assert.equal(stats.seq, 3);
  const only = stats.channels.find((c) => c.channel === "orders-only");
  assert.equal(only.filtered_total, 1);
  assert.equal(only.finished_total, 2);

  assert.equal((await a.pause(topic, "all")).paused, true);
  assert.equal((await a.unpause(topic, "all")).paused, false);

  // pull + settle: fin one, req one with max_attempts 1 (dead), touch the third.
  const pulled = await a.pull(topic, "all", { max: 3, visibilityMs: 30_000, maxAttempts: 1 });
  assert.equal(pulled.length, 3);
  assert.equal(pulled[0].partition, 0);
  const results = await a.settle(topic, "all", [
    { op: "fin", id: pulled[0].id },
    { op: "req", id: pulled[1].id },
    // A checkpoint near its 64 KiB limit fits in a settle body.
    { op: "touch", id: pulled[2].id, state: { step: 1, pad: "x".repeat(60 * 1024) } },
    { op: "fin", id: "ffffffffffffffff" },
  ]);
  assert.equal(results[0].ok, true);
  assert.equal(results[1].ok, true);
  assert.ok(results[2].deadline > Date.now());
  assert.equal(results[3].error.code, "not_found");
  const none = await a.pull(topic, "all", { max: 1, waitMs: 0 });
  assert.deepEqual(none, [], "the touched one is in flight, the failed one dead");
  await a.settle(topic, "all", [{ op: "fin", id: pulled[2].id }]);

  const page = await a.deadLetters(topic, "all", { limit: 10 });
  assert.equal(page.messages.length, 1);
  assert.equal(page.messages[0].id, pulled[1].id);
  const every = [];
  for await (const d of a.eachDeadLetter(topic, "all", { pageSize: 1 })) every.push(d.id);
  assert.deepEqual(every, [pulled[1].id]);
  assert.deepEqual(await a.redrive(topic, "all"), { redriven: 1 });
  assert.equal((await a.stats(topic)).channels.find((c) => c.channel === "all").ready, 1);

  const rewound = await a.seek(topic, "all", { seq: 1 });
  assert.equal(typeof rewound.ready, "number");
  if (server) assert.equal((await a.seek(topic, "all", { time: new Date(Date.now() - 60_000) })).ready, 3);
  const listed = await a.topics();
  assert.ok(listed.some((t) => t.topic === topic && t.channels.includes("all")), JSON.stringify(listed));
  await a.deleteChannel(topic, "orders-only");
  assert.equal((await a.stats(topic)).channels.length, 1);

  // A subscriber is listed in its channel's `attached`: who, its credit, what it finished.
  let handled = 0;
  let done;
  const both = new Promise((r) => (done = r));
  const sub = bus.subscribe({ topic, channel: "live", maxInFlight: 2 }, () => {
    if (++handled === 2) done();
  });
  await sub.start();
  for (const n of [1, 2]) await bus.publish(topic, { n });
  await both;
  let live;
  for (let i = 0; i < 200 && !(live?.attached[0]?.finished === 2); i++) {
    if (i) await new Promise((r) => setTimeout(r, 10)); // the fins are sent after the handler returns
    live = (await a.stats(topic)).channels.find((c) => c.channel === "live");
  }
  assert.equal(live.attached.length, 1);
  const [me] = live.attached;
  assert.deepEqual([me.max_in_flight, me.in_flight, me.delivered, me.finished, me.requeued], [2, 0, 2, 2, 0]);
  assert.equal(me.source, server ? "/admin" : "/memory");
  if (server) assert.equal(me.address, "127.0.0.1", "workerd says where a socket came from");
  assert.ok(Date.parse(me.connected_at) <= Date.now());
  await sub.stop();
  let left = live.attached;
  for (let i = 0; i < 200 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 10)); // the bus sees the close after stop() resolves
    left = (await a.stats(topic)).channels.find((c) => c.channel === "live").attached;
  }
  assert.deepEqual(left, [], "a closed socket leaves the list");
  await a.deleteChannel(topic, "live");
  return topic;
}

test("admin over HTTP: topics, stats, channels with filters, pause, pull and settle, dead letters, redrive, seek", async () => {
  const bus = new Connection({ url: w.url, credentials: { token: ADMIN_TOKEN } });
  const topic = await topicOperations(bus, { server: true });
  const withStats = await bus.admin.topics({ stats: true });
  assert.ok(withStats.find((t) => t.topic === topic).channel_stats.length >= 1);
  await bus.admin.deleteTopic(topic);
  await assert.rejects(bus.admin.stats(topic), NotFoundError);
  assert.equal((await bus.admin.health()).ok, true);
  assert.match(await bus.admin.metrics(), /ismld_topics/);
  await bus.close();
});

test("admin over HTTP: clients, secrets, tokens", async () => {
  const bus = new Connection({ url: w.url, credentials: { token: ADMIN_TOKEN } });
  const login = uniqueName("cli");
  const made = await bus.admin.createClient(login, { publish: ["x.*"], subscribe: ["x.*"] });
  assert.equal(made.login, login);
  assert.ok(made.secret.length >= 40);
  const listed = (await bus.admin.clients()).find((c) => c.login === login);
  assert.deepEqual(listed.publish, ["x.*"]);
  assert.equal("secret" in listed, false);
  const rotated = await bus.admin.rotateSecret(login);
  assert.notEqual(rotated.secret, made.secret);
  const as = new Connection({ url: w.url, credentials: { login, secret: rotated.secret } });
  const token = await as.admin.createToken({ ttlS: 60 });
  assert.ok(token.expires_at > Date.now());
  const viaToken = new Connection({ url: w.url, credentials: { token: token.token } });
  assert.equal((await viaToken.publish("x.y", 1)).seq, 1);
  await bus.admin.deleteClient(login);
  assert.equal((await bus.admin.clients()).some((c) => c.login === login), false);
  await Promise.all([bus.close(), as.close(), viaToken.close()]);
});

test("partitioned topics: createTopic, stats with each partition's channel stats, seek by seq and partition, pull from one partition", async () => {
  const bus = new Connection({ url: w.url, credentials: { token: ADMIN_TOKEN } });
  const a = bus.admin;
  const topic = uniqueName("parts");
  assert.deepEqual(await a.createTopic(topic, { partitions: 4 }), { created: true, partitions: 4 });
  assert.deepEqual(await a.createTopic(topic, { partitions: 4 }), { created: false, partitions: 4 });
  await assert.rejects(a.createTopic(topic, { partitions: 2 }), (e) => e instanceof InvalidRequestError && e.code === "conflict" && e.status === 409);
  await assert.rejects(a.createTopic(uniqueName("bad"), { partitions: 65 }), (e) => e instanceof InvalidRequestError && e.status === 400);
  const made = await a.createChannel(topic, "c");
  assert.equal(made.partitions.length, 4);
  const results = await bus.publishBatch(topic, Array.from({ length: 8 }, (_, i) => ({ data: i, orderingKey: `k${i}` })));
  const stats = await a.stats(topic);
  assert.equal(stats.partitions, 4);
  assert.equal(stats.seq, 8);
  const c = stats.channels.find((x) => x.channel === "c");
  assert.equal(c.depth, 8);
  assert.deepEqual(c.partitions.map((p) => p.partition), [0, 1, 2, 3]);
  assert.equal(c.partitions.reduce((n, p) => n + p.depth, 0), 8);
  const summary = (await a.topics()).find((t) => t.topic === topic);
  assert.equal(summary.partitions, 4);

  const p = results[0].partition;
  const pulled = await a.pull(topic, "c", { partition: p, max: 100 });
  assert.ok(pulled.length > 0 && pulled.every((m) => m.partition === p), JSON.stringify(pulled.map((m) => m.partition)));
  const settled = await a.settle(topic, "c", pulled.map((m) => ({ op: "fin", id: m.id })));
  assert.ok(settled.every((r) => r.ok));
  await assert.rejects(a.seek(topic, "c", { seq: 1 }), (e) => e instanceof InvalidRequestError && /partition/.test(e.message));
  assert.deepEqual(await a.seek(topic, "c", { seq: 1, partition: p }), { ready: pulled.length });
  assert.equal((await a.stats(topic)).channels[0].depth, 8);
  await a.deleteTopic(topic);
  await bus.close();
});

test("admin over memory://: the same topic operations; server-only calls say so", async () => {
  const bus = new Connection({ url: `memory://admin-${process.pid}` });
  await topicOperations(bus, { server: false });
  const one = uniqueName("one");
  assert.deepEqual(await bus.admin.createTopic(one, { partitions: 1 }), { created: true, partitions: 1 });
  assert.equal((await bus.admin.stats(one)).partitions, 1);
  await assert.rejects(bus.admin.createTopic(uniqueName("many"), { partitions: 2 }), (e) => e instanceof InvalidRequestError && /one partition/.test(e.message));
  for (const call of [() => bus.admin.clients(), () => bus.admin.createToken(), () => bus.admin.metrics()]) {
    await assert.rejects(call(), (e) => e instanceof InvalidRequestError && /memory:\/\/ has no clients, tokens or metrics/.test(e.message));
  }
  assert.equal((await bus.admin.health()).ok, true);
  await bus.close();
});
