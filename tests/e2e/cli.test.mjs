// The ismld CLI (js/bin/ismld.mjs) against the real Worker (anonymous access off), part 1:
// help and usage errors, clients and tokens, pub, sub, tail, stats and topics, with their
// human and --json output and exit codes (0 ok, 1 the bus refused, 2 usage, 3
// unreachable). Part 2 is cli-more.test.mjs. Long-running commands are waited on by their
// output, never by time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { call, ADMIN_TOKEN, uniqueName, topicStats } from "./harness.mjs";
import { ADMIN, env, ismld, jsonLines, lines, start, topicWithChannel, useWorker } from "./cli-lib.mjs";

useWorker();

test("--help lists every command; each command has its --help; usage errors exit 2", async () => {
  const help = await ismld(["--help"]);
  assert.equal(help.code, 0);
  const commands = ["pub", "sub", "tail", "stats", "topics", "seek", "dead", "pull", "bench", "daemon", "clients", "token"];
  for (const c of commands) assert.match(help.stdout, new RegExp(`^  ${c} `, "m"));
  assert.match(help.stdout, /Exit codes: 0 ok, 1 the bus refused/);
  for (const c of commands) {
    const h = await ismld([c, "--help"]);
    assert.equal(h.code, 0, c);
    assert.match(h.stdout, new RegExp(`^Usage:\\n  ismld ${c}`), c);
  }
  const none = await ismld([]);
  assert.equal(none.code, 2);
  for (const bad of [["frob"], ["pub"], ["sub", "t"], ["pub", "t", "x", "--bogus"], ["pub", "t", "x", "--count", "many"], ["seek", "t", "c"], ["pull", "t", "c", "--ack", "maybe"], ["bench", "fly", "t"]]) {
    const r = await ismld(bad);
    assert.equal(r.code, 2, `${bad.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^ismld: .+\nRun 'ismld [a-z ]*--help' for usage\.\n$/, bad.join(" "));
  }
  const jsonUsage = await ismld(["seek", "t", "c", "--json"]);
  assert.equal(jsonUsage.code, 2);
  assert.equal(JSON.parse(jsonUsage.stderr).error.code, "usage");
});

test("clients add prints the founding document's words; list, rotate, remove; token; aliases", async () => {
  const login = uniqueName("cli");
  const add = await ismld(["clients", "add", login, "--publish", "orders.*,audit", "--subscribe", "audit"]);
  assert.equal(add.code, 0, add.stderr);
  const m = add.stdout.match(/^ismld: New client with login='([^']+)' created\. Keep generated client secret:\n\n(\S+)\n$/);
  assert.ok(m, JSON.stringify(add.stdout));
  assert.equal(m[1], login);
  const secret = m[2];
  assert.match(secret, /^[A-Za-z0-9_-]{43,}$/);

  const dup = await ismld(["clients", "add", login]);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /^ismld: conflict: .+ \(HTTP 409\)\n$/);
  const dupJson = await ismld(["clients", "add", login, "--json"]);
  assert.deepEqual(Object.keys(JSON.parse(dupJson.stderr).error), ["code", "message", "status"]);

  const list = await ismld(["clients", "list", "--json"]);
  const entry = JSON.parse(list.stdout).clients.find((c) => c.login === login);
  assert.deepEqual(entry.publish, ["orders.*", "audit"]);
  const table = await ismld(["clients", "list"]);
  assert.match(table.stdout, /^LOGIN +PUBLISH +SUBSCRIBE +CREATED\n/);
  assert.match(table.stdout, new RegExp(`^${login} +orders\\.\\*,audit +audit +\\d{4}-`, "m"));

  // token: an empty secret is refused as an empty secret (not as a missing --login).
  const empty = await ismld(["token", "--login", login, "--secret", ""]);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /the secret is empty/);
  assert.doesNotMatch(empty.stderr, /needs --login/);
  const wrong = await ismld(["token", "--login", login, "--secret", "not-it"]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^ismld: unauthorized: /);
  const token = await ismld(["token", "--login", login, "--secret", secret, "--ttl", "60"]);
  assert.equal(token.code, 0, token.stderr);
  const t = token.stdout.trim();
  assert.match(t, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const fromEnv = await ismld(["token", "--json"], { env: { ISMLD_LOGIN: login, ISMLD_SECRET: secret } });
  assert.ok(JSON.parse(fromEnv.stdout).expires_at > Date.now());
  // The token and the client's credentials work for the data plane; permissions hold.
  const pub = await ismld(["pub", "orders.x", '{"n":1}', "--token", t]);
  assert.equal(pub.code, 0, pub.stderr);
  const basic = await ismld(["pub", "orders.y", "hi", "--login", login, "--json"], { env: { ISMLD_SECRET: secret, ISMLD_TOKEN: "" } });
  assert.equal(basic.code, 0, basic.stderr);
  assert.equal(JSON.parse(basic.stdout).seq, 1);
  const forbidden = await ismld(["pub", "payroll", "x", "--login", login, "--secret", secret]);
  assert.equal(forbidden.code, 1);
  assert.match(forbidden.stderr, /^ismld: forbidden: /);
  // May publish to orders.x but not subscribe: the refused socket is reported, not retried.
  for (const cmd of [["sub", "orders.x", "c"], ["tail", "orders.x"]]) {
    const r = await ismld([...cmd, "--login", login, "--secret", secret]);
    assert.equal(r.code, 1, cmd[0]);
    assert.match(r.stderr, /^ismld: forbidden: no permission to subscribe/, cmd[0]);
  }

  const rotate = await ismld(["clients", "rotate", login]);
  assert.equal(rotate.code, 0);
  const rotated = rotate.stdout.match(/Keep generated client secret:\n\n(\S+)\n$/)[1];
  assert.notEqual(rotated, secret);
  // --admin-token and ISMLD_ADMIN_TOKEN are aliases of --token and ISMLD_TOKEN.
  const alias = await ismld(["clients", "list", "--admin-token", ADMIN_TOKEN], { env: { ISMLD_TOKEN: "" } });
  assert.equal(alias.code, 0, alias.stderr);
  const aliasEnv = await ismld(["clients", "remove", login], { env: { ISMLD_TOKEN: "", ISMLD_ADMIN_TOKEN: ADMIN_TOKEN } });
  assert.equal(aliasEnv.code, 0, aliasEnv.stderr);
  assert.equal(aliasEnv.stdout, `ismld: Client login='${login}' removed; its secret and tokens stop working within 60 s.\n`);
  const again = await ismld(["clients", "remove", login]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^ismld: not_found: /);
  const noAdmin = await ismld(["clients", "list"], { env: { ISMLD_TOKEN: "" } });
  assert.equal(noAdmin.code, 2);
  assert.match(noAdmin.stderr, /--token \(alias --admin-token\)/);
  const notAdmin = await ismld(["clients", "list", "--token", t]);
  assert.equal(notAdmin.code, 1);
});

test("pub: argument, stdin lines in order, structured attributes, key, delay, ttl, count, partition", async () => {
  const topic = await topicWithChannel("pub");
  const one = await ismld(["pub", topic, '{"total":12}']);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /^id=\S+ seq=1 partition=0\n$/);
  const many = await ismld(["pub", topic, "-", "--json"], { input: "alpha\n\nbeta\n{\"n\":3}\n" });
  assert.equal(many.code, 0, many.stderr);
  assert.deepEqual(jsonLines(many.stdout).map((r) => [r.topic, r.seq, r.partition, r.duplicate]), [
    [topic, 2, 0, false],
    [topic, 3, 0, false],
    [topic, 4, 0, false],
  ]);
  const structured = ["pub", topic, "hello", "--type", "greeting", "--source", "/cli-test", "--id", "g-1", "--key", "k", "--json"];
  const first = JSON.parse((await ismld(structured)).stdout);
  const dup = JSON.parse((await ismld(structured)).stdout);
  assert.equal(dup.seq, first.seq);
  assert.equal(dup.duplicate, true);
  const count = await ismld(["pub", topic, "again", "--count", "3"]);
  assert.deepEqual(lines(count.stdout).map((l) => l.match(/seq=(\d+)/)[1]), ["6", "7", "8"]);
  assert.equal((await ismld(["pub", topic, "later", "--delay", "1h"])).code, 0);
  assert.equal((await ismld(["pub", topic, "gone", "--ttl", "1ms"])).code, 0);

  // What the channel got: JSON stays JSON, text stays text, attributes as given.
  const pulled = JSON.parse((await ismld(["pull", topic, "c", "--max", "20", "--json"])).stdout).messages;
  assert.deepEqual(pulled.slice(0, 4).map((m) => m.event.data), [{ total: 12 }, "alpha", "beta", { n: 3 }]);
  const g = pulled.find((m) => m.event.id === "g-1").event;
  assert.deepEqual([g.type, g.source, g.orderingkey ?? "k", g.data], ["greeting", "/cli-test", "k", "hello"]);
  assert.ok(!pulled.some((m) => m.event.data === "later"), "--delay defers");
  assert.ok(!pulled.some((m) => m.event.data === "gone"), "--ttl expires");
  const s = await topicStats(env.w.url, topic, "c", ADMIN);
  assert.deepEqual([s.deferred, s.expired_total], [1, 1]);

  // Partitioned topics: --partition pins, --key routes as the bus does, stdin spreads.
  const parts = uniqueName("pubparts");
  assert.equal((await call(env.w.url, "PUT", `/v1/topics/${parts}`, { headers: ADMIN, body: { partitions: 4 } })).status, 201);
  const pinned = await ismld(["pub", parts, "-", "--partition", "2", "--json"], { input: "x\ny\n" });
  assert.deepEqual(jsonLines(pinned.stdout).map((r) => [r.partition, r.seq]), [[2, 1], [2, 2]]);
  const keyed = await ismld(["pub", parts, "-", "--key", "user-7", "--json"], { input: "a\nb\nc\n" });
  const kp = jsonLines(keyed.stdout).map((r) => r.partition);
  assert.equal(new Set(kp).size, 1, "one key, one partition");
  const spread = await ismld(["pub", parts, "-", "--json"], { input: "1\n2\n3\n4\n5\n6\n7\n8\n" });
  assert.equal(spread.code, 0, spread.stderr);
  assert.ok(new Set(jsonLines(spread.stdout).map((r) => r.partition)).size > 1);
  const badPartition = await ismld(["pub", parts, "x", "--partition", "9"]);
  assert.equal(badPartition.code, 1);
  assert.match(badPartition.stderr, /^ismld: invalid_request: partition must be/);
  const badName = await ismld(["pub", "no spaces", "x"]);
  assert.equal(badName.code, 1);
  assert.match(badName.stderr, /^ismld: invalid_name: /);
});

test("sub: prints each message and finishes it; --json, --count, --filter, --no-ack, partitions", async () => {
  const topic = await topicWithChannel("sub", "work");
  await ismld(["pub", topic, "-", "--type", "order.created"], { input: '{"n":1}\n{"n":2}\n' });
  await ismld(["pub", topic, "plain", "--type", "order.cancelled"]);
  const sub = await ismld(["sub", topic, "work", "--count", "3", "--json", "--max-in-flight", "10"]);
  assert.equal(sub.code, 0, sub.stderr);
  const got = jsonLines(sub.stdout);
  assert.deepEqual(got.map((m) => [m.seq, m.partition, m.event.type]), [
    [1, 0, "order.created"],
    [2, 0, "order.created"],
    [3, 0, "order.cancelled"],
  ]);
  assert.deepEqual(got.map((m) => m.event.data), [{ n: 1 }, { n: 2 }, "plain"]);
  assert.match(sub.stderr, /Subscribed to channel='work'/);
  assert.match(sub.stderr, /Stopped after 3 messages\./);
  const s = await topicStats(env.w.url, topic, "work", ADMIN);
  assert.deepEqual([s.finished_total, s.depth], [3, 0]);

  // Human lines; --no-ack requeues (a failure) instead of finishing.
  await ismld(["pub", topic, "redo"]);
  const noAck = await ismld(["sub", topic, "work", "--count", "1", "--no-ack"]);
  assert.match(noAck.stdout, /^seq=4 partition=0 id=\S+ type=\S+ redo\n$/);
  const after = await topicStats(env.w.url, topic, "work", ADMIN);
  assert.deepEqual([after.finished_total, after.requeued_total, after.ready], [3, 1, 1]);
  const redelivered = await ismld(["sub", topic, "work", "--count", "1"]);
  assert.match(redelivered.stdout, /^seq=4 partition=0 id=\S+ attempt=2 type=\S+ redo\n$/);

  // --filter makes the channel with the filter first.
  const filter = JSON.stringify({ exact: { type: "order.created" } });
  const filtered = start(["sub", topic, "created", "--filter", filter, "--count", "1", "--json"]);
  await filtered.until((p) => /Subscribed/.test(p.stderr), "the subscription");
  await ismld(["pub", topic, "skip me", "--type", "order.cancelled"]);
  await ismld(["pub", topic, '{"want":true}', "--type", "order.created"]);
  const f = await filtered.done;
  assert.equal(f.code, 0, f.stderr);
  assert.deepEqual(JSON.parse(f.stdout).event.data, { want: true });
  const conflict = await ismld(["sub", topic, "created", "--filter", JSON.stringify({ exact: { type: "other" } })]);
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /^ismld: conflict: /);

  // A final close (the channel deleted) ends sub with the bus's code.
  const deleted = start(["sub", topic, "doomed"]);
  await deleted.until((p) => /Subscribed/.test(p.stderr), "the subscription");
  assert.equal((await call(env.w.url, "DELETE", `/v1/topics/${topic}/channels/doomed`, { headers: ADMIN })).status, 204);
  const d = await deleted.done;
  assert.equal(d.code, 1);
  assert.match(d.stderr, /^ismld: not_found: channel deleted/m);

  // A partitioned topic: one socket per partition, every partition's messages.
  const parts = uniqueName("subparts");
  assert.equal((await call(env.w.url, "PUT", `/v1/topics/${parts}`, { headers: ADMIN, body: { partitions: 3 } })).status, 201);
  assert.equal((await call(env.w.url, "PUT", `/v1/topics/${parts}/channels/all`, { headers: ADMIN })).status, 201);
  for (const p of [0, 1, 2]) await ismld(["pub", parts, `p${p}`, "--partition", String(p)]);
  const ps = await ismld(["sub", parts, "all", "--count", "3", "--max-in-flight", "3", "--json"]);
  assert.equal(ps.code, 0, ps.stderr);
  assert.deepEqual(jsonLines(ps.stdout).map((m) => m.partition).sort(), [0, 1, 2]);
  assert.match(ps.stderr, /\(3 partitions\)/);
});

test("tail prints events as they are published, on an ephemeral channel; --count and Ctrl-C end it", async () => {
  const topic = uniqueName("tail");
  await ismld(["pub", topic, "before the tail"]);
  const tail = start(["tail", topic, "--count", "2"]);
  await tail.until((p) => /Tailing topic='.+' on channel='tail-[0-9a-f]+#ephemeral'/.test(p.stderr), "the tail to start");
  const channel = tail.stderr.match(/channel='([^']+)'/)[1];
  await ismld(["pub", topic, "first"]);
  await tail.until((p) => /first\n/.test(p.stdout), "the first event");
  await ismld(["pub", topic, '{"second":2}']);
  const r = await tail.done;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout).map((l) => l.replace(/ id=\S+/, "")), [`seq=2 partition=0 type=${topic} first`, `seq=3 partition=0 type=${topic} {"second":2}`]);
  // The ephemeral channel went with the tail (its close reaches the topic on its own path: poll).
  let left = true;
  for (let i = 0; i < 200 && left; i++) {
    if (i) await new Promise((r) => setTimeout(r, 25));
    left = (await topicStats(env.w.url, topic, channel, ADMIN)) !== undefined;
  }
  assert.equal(left, false, "the ephemeral channel is gone");

  const json = start(["tail", topic, "--json"]);
  await json.until((p) => /Tailing/.test(p.stderr), "the tail to start");
  await ismld(["pub", topic, "third"]);
  await json.until((p) => p.stdout.endsWith("\n"), "the event");
  json.child.kill("SIGINT");
  const j = await json.done;
  assert.equal(j.code, 0, j.stderr);
  assert.equal(JSON.parse(j.stdout).event.data, "third");
  assert.match(j.stderr, /Stopped after 1 message\./);
});

test("stats and topics: tables and --json; stats of every topic needs the admin token", async () => {
  const topic = await topicWithChannel("stats", "audit");
  await ismld(["pub", topic, "-"], { input: "a\nb\n" });
  const human = await ismld(["stats", topic]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`^topic=${topic} seq=2 retained=2 partitions=1 channels=1\\nCHANNEL +DEPTH +READY +IN_FLIGHT`));
  assert.match(human.stdout, /^audit +2 +2 +0 +0 +0 +0 +2 +0 +0 +0 +active$/m);
  assert.doesNotMatch(human.stdout, /SESSION/, "no consumer table without consumers");
  const json = JSON.parse((await ismld(["stats", topic, "--json"])).stdout);
  assert.equal(json.channels[0].depth, 2);
  const all = JSON.parse((await ismld(["stats", "--json"])).stdout);
  assert.ok(all.topics.some((t) => t.topic === topic && t.channel_stats[0].depth === 2));
  assert.match((await ismld(["stats"])).stdout, new RegExp(`^${topic} +2 +1 +2 +1 +2 +0 +0 +0$`, "m"));
  const topics = await ismld(["topics"]);
  assert.match(topics.stdout, /^TOPIC +SEQ +PARTITIONS +CHANNELS\n/);
  assert.match(topics.stdout, new RegExp(`^${topic} +2 +1 +audit$`, "m"));
  assert.ok(JSON.parse((await ismld(["topics", "--json"])).stdout).topics.some((t) => t.topic === topic));
  const anonymous = await ismld(["stats", topic], { env: { ISMLD_TOKEN: "" } });
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, /^ismld: unauthorized: /);
  assert.equal((await ismld(["topics"], { env: { ISMLD_TOKEN: "" } })).code, 2);

  // An attached consumer gets a row: session, who, address, partition, credit, in flight.
  const sub = start(["sub", topic, "audit", "--max-in-flight", "3", "--no-ack"]);
  await sub.until((p) => /seq=2/.test(p.stdout), "the subscriber's messages");
  const withConsumer = await ismld(["stats", topic]);
  assert.match(withConsumer.stdout, /\n\nCHANNEL +SESSION +SOURCE +ADDRESS +PARTITION +RDY +IN_FLIGHT +FINISHED +REQUEUED +CONNECTED\naudit +[0-9a-f]+ +\/admin +127\.0\.0\.1 +0 +3 +\d +\d +\d+ +\S+Z$/m);
  sub.child.kill("SIGINT");
  await sub.done;
});
