// The ismld CLI against the real Worker, part 2: seek, pull, dead letters, bench, exit
// code 3 for an unreachable bus, and daemon up (from an installed copy and from this
// checkout). Long-running commands are waited on by their output, never by time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { call, uniqueName, topicStats } from "./harness.mjs";
import { ADMIN, CLI, ROOT, closedPort, env, ismld, lines, start, topicWithChannel, useWorker } from "./cli-lib.mjs";

useWorker();

test("seek by seq and by time; pull with --ack fin, none and req, and --wait long-polls", async () => {
  const topic = await topicWithChannel("seek", "replay");
  const before = new Date(Date.now() - 60_000).toISOString();
  await ismld(["pub", topic, "-"], { input: "1\n2\n3\n" });
  const fin = await ismld(["pull", topic, "replay", "--max", "10"]);
  assert.equal(fin.code, 0, fin.stderr);
  assert.equal(lines(fin.stdout).length, 3);
  assert.match(fin.stderr, /Finished 3 of 3 messages\./);
  const empty = await ismld(["pull", topic, "replay"]);
  assert.deepEqual([empty.code, empty.stdout], [0, ""]);
  assert.match(empty.stderr, /No messages ready/);

  const bySeq = await ismld(["seek", topic, "replay", "--seq", "2", "--json"]);
  assert.deepEqual(JSON.parse(bySeq.stdout), { topic, channel: "replay", ready: 2 });
  const held = JSON.parse((await ismld(["pull", topic, "replay", "--max", "1", "--ack", "none", "--json"])).stdout);
  assert.deepEqual([held.messages[0].seq, held.results], [2, []]);
  const rest = JSON.parse((await ismld(["pull", topic, "replay", "--max", "5", "--json"])).stdout);
  assert.deepEqual(rest.messages.map((m) => m.seq), [3], "the held one stays in flight");
  const byTime = await ismld(["seek", topic, "replay", "--time", before]);
  assert.match(byTime.stdout, /^ismld: Channel='replay' of topic='.+' now starts at .+: 3 ready\.\n$/);
  assert.equal((await ismld(["seek", topic, "replay", "--time", "yesterday"])).code, 2);
  assert.equal((await ismld(["seek", topic, "nope", "--seq", "1"])).code, 1);

  const req = JSON.parse((await ismld(["pull", topic, "replay", "--max", "1", "--ack", "req", "--json"])).stdout);
  assert.equal(req.results[0].ok, true);
  assert.equal((await topicStats(env.w.url, topic, "replay", ADMIN)).requeued_total, 1);

  // --wait: the answer comes when a message is published.
  const topic2 = await topicWithChannel("wait", "c");
  const waiting = start(["pull", topic2, "c", "--wait", "20s", "--json"]);
  await ismld(["pub", topic2, "woken"]);
  const woke = await waiting.done;
  assert.equal(woke.code, 0, woke.stderr);
  assert.equal(JSON.parse(woke.stdout).messages[0].event.data, "woken");
});

test("dead ls (pages, --all) and dead redrive (given ids, all)", async () => {
  const topic = await topicWithChannel("dead", "jobs");
  await ismld(["pub", topic, "-"], { input: "a\nb\nc\n" });
  const failed = await ismld(["pull", topic, "jobs", "--max", "3", "--ack", "req", "--max-attempts", "1"]);
  assert.equal(failed.code, 0, failed.stderr);
  const ls = await ismld(["dead", "ls", topic, "jobs"]);
  assert.deepEqual(lines(ls.stdout).map((l) => l.match(/^seq=(\d) partition=0 id=\S+ failures=1 type=\S+ [abc]$/)?.[1]), ["1", "2", "3"]);
  const page = await ismld(["dead", "ls", topic, "jobs", "--limit", "2"]);
  assert.equal(lines(page.stdout).length, 2);
  const cursor = page.stderr.match(/--cursor (\S+)/)[1];
  const next = JSON.parse((await ismld(["dead", "ls", topic, "jobs", "--limit", "2", "--cursor", cursor, "--json"])).stdout);
  assert.deepEqual([next.messages.map((m) => m.seq), next.cursor], [[3], undefined]);
  const all = JSON.parse((await ismld(["dead", "ls", topic, "jobs", "--limit", "1", "--all", "--json"])).stdout);
  assert.deepEqual(all.messages.map((m) => m.seq), [1, 2, 3]);

  const one = await ismld(["dead", "redrive", topic, "jobs", all.messages[0].id]);
  assert.match(one.stdout, /^ismld: Redrove 1 of 1 given dead letters of channel='jobs'/);
  const rest = JSON.parse((await ismld(["dead", "redrive", topic, "jobs", "--json"])).stdout);
  assert.equal(rest.redriven, 2);
  const none = await ismld(["dead", "ls", topic, "jobs"]);
  assert.deepEqual([none.code, none.stdout], [0, ""]);
  assert.match(none.stderr, /No dead letters/);
  assert.equal((await topicStats(env.w.url, topic, "jobs", ADMIN)).ready, 3);
  assert.equal((await ismld(["dead", "purge", topic, "jobs"])).code, 2);
});

test("bench pubsub, pub and sub print rates and latency percentiles", async () => {
  const topic = uniqueName("bench");
  const r = await ismld(["bench", "pubsub", topic, "--msgs", "300", "--size", "64"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Pub stats: [\d,]+ msgs\/s ~ \d+\.\d\d MB\/s \(300 msgs in \d+\.\d\d s\)$/m);
  assert.match(r.stdout, /^Sub stats: [\d,]+ msgs\/s ~ \d+\.\d\d MB\/s \(300 msgs in \d+\.\d\d s\)$/m);
  assert.match(r.stdout, /^Latency \(publish -> handler\): p50 [\d.]+ ms, p90 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms$/m);
  const j = JSON.parse((await ismld(["bench", "pubsub", topic, "--msgs", "200", "--clients", "2", "--json", "--quiet"])).stdout);
  assert.equal(j.pub.msgs, 200);
  assert.equal(j.sub.msgs, 200);
  assert.ok(j.pub.msgs_per_s > 0 && j.sub.mb_per_s >= 0);
  assert.ok(j.latency_ms.p50 <= j.latency_ms.p90 && j.latency_ms.p90 <= j.latency_ms.p99 && j.latency_ms.p99 <= j.latency_ms.max);
  // The pubsub channels are gone; bench sub consumes what bench pub publishes.
  assert.deepEqual((await topicStats(env.w.url, topic, undefined, ADMIN)).body.channels, []);
  const sub = start(["bench", "sub", topic, "--msgs", "150", "--json"]);
  await sub.until((p) => /waiting for 150 messages/.test(p.stderr), "the subscribers");
  const pub = JSON.parse((await ismld(["bench", "pub", topic, "--msgs", "150", "--via", "http", "--batch", "50", "--json"])).stdout);
  assert.deepEqual([pub.pub.msgs, pub.via, pub.batch], [150, "http", 50]);
  const got = await sub.done;
  assert.equal(got.code, 0, got.stderr);
  const s = JSON.parse(got.stdout);
  assert.deepEqual([s.sub.msgs, s.channel], [150, "bench"]);
  assert.ok(s.latency_ms.max > 0);
});

test("exit code 3 when the bus cannot be reached, for every kind of command", async () => {
  const url = `http://127.0.0.1:${await closedPort()}`;
  for (const args of [["pub", "t", "x"], ["sub", "t", "c"], ["tail", "t"], ["stats", "t"], ["topics"], ["clients", "list"], ["pull", "t", "c"], ["bench", "pub", "t", "--msgs", "5"]]) {
    const r = await ismld([...args, "--url", url]);
    assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^ismld: cannot reach the bus at ${url}: .*ECONNREFUSED`), args.join(" "));
  }
  const j = await ismld(["pub", "t", "x", "--url", url, "--json"]);
  assert.equal(JSON.parse(j.stderr).error.code, "unreachable");
});

test("daemon up: argument checks; an installed package (no checkout) says how to run the bus", async () => {
  assert.equal((await ismld(["daemon", "up", "--bind", "nowhere"])).code, 2);
  assert.equal((await ismld(["daemon", "up", "--bind", "127.0.0.1:99999"])).code, 2);
  assert.equal((await ismld(["daemon", "down"])).code, 2);
  assert.equal((await ismld(["daemon", "up", "--checkout", tmpdir()])).code, 2);
  // The package as npm installs it: bin/, dist/, wasm/, package.json, outside any checkout.
  const scratch = mkdtempSync(join(tmpdir(), "ismld-cli-"));
  try {
    const pkg = join(scratch, "node_modules", "ismld");
    mkdirSync(pkg, { recursive: true });
    for (const part of ["bin", "dist", "wasm", "package.json"]) cpSync(join(ROOT, "js", part), join(pkg, part), { recursive: true });
    const cli = join(pkg, "bin", "ismld.mjs");
    const r = await ismld(["daemon", "up"], { cli });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ismld: No checkout of ismld here\.\n/);
    assert.match(r.stdout, /npm run dev/);
    assert.match(r.stdout, /npx wrangler deploy/);
    const j = JSON.parse((await ismld(["daemon", "up", "--json"], { cli })).stdout);
    assert.equal(j.checkout, null);
    // The installed CLI works against the bus.
    const pub = await ismld(["pub", uniqueName("installed"), "x", "--json"], { cli });
    assert.equal(pub.code, 0, pub.stderr);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test("daemon up from this checkout runs scripts/dev.sh on --bind and prints the URL once the bus answers", { timeout: 240_000 }, async (t) => {
  if (process.env.ISMLD_TEST_SKIP_DAEMON) return t.skip("ISMLD_TEST_SKIP_DAEMON is set");
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  const daemon = start(["daemon", "up", "--bind", `127.0.0.1:${port}`]);
  try {
    // scripts/dev.sh checks the toolchain, rebuilds what changed and starts wrangler dev.
    await daemon.until((p) => p.stdout.includes("The bus is up"), "the bus to come up", 220_000);
    assert.equal(daemon.stdout, `ismld: The bus is up at ${url} (admin token in ${join(ROOT, ".dev.vars")}); Ctrl-C stops it.\n`);
    assert.equal((await call(url, "GET", "/v1/health")).body.ok, true);
    // npm run dev allows anonymous access: the CLI publishes without credentials.
    const pub = await ismld(["pub", uniqueName("daemon"), "hello", "--url", url], { env: { ISMLD_TOKEN: "" } });
    assert.equal(pub.code, 0, pub.stderr);
  } finally {
    daemon.child.kill("SIGINT");
  }
  const r = await daemon.done;
  assert.equal(r.code, 0, r.stderr);
  await assert.rejects(fetch(`${url}/v1/health`));
});
