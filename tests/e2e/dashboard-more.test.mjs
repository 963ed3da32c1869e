// The operator dashboard in headless Chromium against the Worker, part 2: dead letters
// with their events and checkpoints (paged, redriven one by one and all), peek, push
// channels (the secret shown once, a real signed receiver), clients (add, rotate, remove,
// each secret shown once), and a partitioned topic with its consumer rows. Screenshots go
// to tests/out/ (not committed).
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { ADMIN_TOKEN, call, topicStats, uniqueName, Socket } from "./harness.mjs";
import { ADMIN, OUT, confirm, deadLetters, enc, env, notice, open, polls, pub, put, stat, useDashboard } from "./dashboard-lib.mjs";

useDashboard();

test("dead letters: listed with their event and checkpoint, paged by cursor, redriven one by one and all", async () => {
  const topic = uniqueName("dead");
  await deadLetters(topic, "jobs", 3);
  const page = await open(`#/topics/${topic}/channels/jobs`);
  const rows = page.locator("#dead-letters tbody tr");
  await rows.nth(2).waitFor();
  await page.locator("#dead-count", { hasText: "3 in all" }).waitFor();
  for (let i = 0; i < 3; i++) {
    const r = rows.nth(i);
    assert.equal(await r.locator("td").nth(1).textContent(), String(i + 1));
    assert.equal(await r.locator(".event-id").textContent(), `d${i}`);
    assert.deepEqual(JSON.parse(await r.locator("pre.event").textContent()).data, { n: i });
    assert.deepEqual(JSON.parse(await r.locator("pre.checkpoint").textContent()), { step: i });
  }
  await page.screenshot({ path: join(OUT, "dashboard-channel.png"), fullPage: true });

  // Two per page: the cursor leads to the third.
  await page.fill("#dead-limit", "2");
  await page.press("#dead-limit", "Enter");
  await page.locator("#dead-letters tbody tr").nth(2).waitFor({ state: "detached" });
  assert.equal(await rows.count(), 2);
  await page.click("#dead-next");
  await page.locator("#dead-page", { hasText: "page 2" }).waitFor();
  await page.locator('#dead-letters tr[data-id="0000000000000003"]').waitFor();
  assert.equal(await rows.count(), 1);
  assert.equal(await page.isDisabled("#dead-next"), true);
  await page.click("#dead-first");
  await page.locator('#dead-letters tr[data-id="0000000000000001"]').waitFor();

  // Redrive one: it leaves the list and is ready again.
  await page.locator('#dead-letters tr[data-id="0000000000000002"] button[data-action="redrive"]').click();
  await notice(page, "redrove 1 dead letter");
  await page.locator('#dead-letters tr[data-id="0000000000000002"]').waitFor({ state: "detached" });
  let s = await topicStats(env.w.url, topic, "jobs", ADMIN);
  assert.equal(s.dead, 2);
  assert.equal(s.ready, 1);
  await page.locator("#dead-count", { hasText: "2 in all" }).waitFor();

  // Redrive all (confirmed): none left.
  await page.click("#redrive-all");
  await confirm(page);
  await notice(page, "redrove 2 dead letters");
  await page.locator("#dead-empty").waitFor();
  s = await topicStats(env.w.url, topic, "jobs", ADMIN);
  assert.equal(s.dead, 0);
  assert.equal(s.ready, 3);
  await page.waitForFunction(() => document.getElementById("redrive-all").disabled);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("peek shows the next ready messages without delivering them", async () => {
  const topic = uniqueName("peek");
  await put(`/v1/topics/${topic}/channels/look`);
  for (let i = 0; i < 5; i++) await pub(topic, i);
  const page = await open(`#/topics/${topic}/channels/look`);
  const rows = page.locator("#peek-messages tbody tr");
  await rows.nth(4).waitFor();
  for (let i = 0; i < 5; i++) {
    assert.equal(await rows.nth(i).locator("td").nth(1).textContent(), String(i + 1));
    assert.equal(await rows.nth(i).locator(".event-id").textContent(), `d${i}`);
    assert.equal(await rows.nth(i).locator("td").nth(3).textContent(), "0");
  }
  await page.fill("#peek-limit", "2");
  await page.click("#peek-button");
  await rows.nth(2).waitFor({ state: "detached" });
  assert.equal(await rows.count(), 2);
  await page.locator("#peek-info", { hasText: "2 messages" }).waitFor();
  const s = await topicStats(env.w.url, topic, "look", ADMIN);
  assert.equal(s.ready, 5);
  assert.equal(s.delivered_total, 0);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a push channel made from the page shows its secret once, then its settings and push outcomes", async () => {
  const topic = uniqueName("push");
  const got = [];
  let wake;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200).end();
      wake?.();
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}/hook`;
  await put(`/v1/topics/${topic}/channels/other`);
  const page = await open(`#/topics/${topic}`);
  await page.locator('#channels tr[data-channel="other"]').waitFor();
  await page.fill("#new-channel", "hook");
  await page.check("#new-push");
  await page.fill("#push-url", url);
  await page.fill("#push-headers", "X-Receiver-Key: sesame");
  await page.fill("#push-max-attempts", "3");
  await page.fill("#push-retry-ms", "500");
  await page.click("#create-channel button[type=submit]");
  const secret = await page.locator("#push-secret").textContent();
  assert.match(secret, /^whsec_/);
  assert.doesNotMatch(await page.textContent("#created"), /null|undefined/);
  await notice(page, `created push channel hook@${topic}`);
  await page.screenshot({ path: join(OUT, "dashboard-push-created.png"), fullPage: true });
  const stats = await topicStats(env.w.url, topic, "hook", ADMIN);
  assert.equal(stats.push.url, url);
  assert.equal(stats.push.secret, undefined);

  // A delivery is signed with that secret.
  assert.equal((await pub(topic, 1, { data: { n: 1 } })).status, 201);
  while (!got.length) await new Promise((r) => (wake = r));
  new Webhook(secret).verify(got[0].body, got[0].headers);
  assert.equal(got[0].headers["x-receiver-key"], "sesame");

  // The channel page: push settings (header values hidden) and the outcomes; no secret.
  await page.click('#channels tr[data-channel="hook"] a');
  await page.locator("#push").waitFor();
  await stat(page, "push-settings", "push_ok_total").filter({ hasText: "1" }).waitFor();
  assert.equal(await stat(page, "push-settings", "url").textContent(), url);
  assert.equal(await stat(page, "push-settings", "headers").textContent(), "X-Receiver-Key: (hidden)");
  assert.equal(await stat(page, "push-settings", "max_attempts").textContent(), "3");
  assert.equal(await stat(page, "push-settings", "retry_ms").textContent(), "500");
  assert.equal(await stat(page, "push-settings", "push_failed_total").textContent(), "0");
  assert.equal(await stat(page, "push-settings", "push_error").textContent(), "none");
  await page.screenshot({ path: join(OUT, "dashboard-push.png"), fullPage: true });
  await page.locator(".badge.push").first().waitFor();
  assert.ok(!(await page.content()).includes(secret), "the secret is gone once the page is left");
  await page.goBack();
  await page.locator('#channels tr[data-channel="hook"]').waitFor();
  assert.equal(await page.locator("#push-secret").count(), 0);
  assert.deepEqual(page.errors, []);
  await page.close();
  await new Promise((r) => server.close(r));
});

test("clients: add (secret shown once), rotate, remove", async () => {
  const login = uniqueName("cli");
  const page = await open("#/clients");
  await page.locator("#add-client").waitFor();
  await page.fill("#client-login", login);
  await page.fill("#client-publish", "orders.*, audit");
  await page.click("#add-client button[type=submit]");
  const secret = await page.locator(`#secret-value[data-login="${login}"]`).textContent();
  const token = (s) => call(env.w.url, "POST", "/v1/tokens", { headers: { authorization: `Basic ${Buffer.from(`${login}:${s}`).toString("base64")}` } });
  assert.equal((await token(secret)).status, 201);
  const row = page.locator(`#clients tr[data-login="${login}"]`);
  await row.waitFor();
  assert.equal(await row.locator("td").nth(1).textContent(), "orders.*, audit");
  assert.equal(await row.locator("td").nth(2).textContent(), "*");
  const listed = (await call(env.w.url, "GET", "/v1/clients", { headers: ADMIN })).body.clients.find((c) => c.login === login);
  assert.deepEqual(listed.publish, ["orders.*", "audit"]);
  await page.screenshot({ path: join(OUT, "dashboard-clients.png"), fullPage: true });
  await page.click("#secret-dismiss");
  assert.equal(await page.locator("#secret-value").count(), 0);

  await row.locator('button[data-action="rotate"]').click();
  await confirm(page);
  await notice(page, `rotated the secret of ${login}`);
  const rotated = await page.locator(`#secret-value[data-login="${login}"]`).textContent();
  assert.notEqual(rotated, secret);
  assert.equal((await token(rotated)).status, 201);
  assert.equal((await token(secret)).status, 401, "the old secret stops working");

  await row.locator('button[data-action="remove"]').click();
  await confirm(page);
  await notice(page, `removed client ${login}`);
  await row.waitFor({ state: "detached" });
  const after = (await call(env.w.url, "GET", "/v1/clients", { headers: ADMIN })).body.clients;
  assert.equal(after.find((c) => c.login === login), undefined);
  // Adding it twice is refused by the API, and the page says so.
  await page.fill("#client-login", "dup-" + login);
  await page.click("#add-client button[type=submit]");
  await page.locator("#secret-value").waitFor();
  await page.fill("#client-login", "dup-" + login);
  await page.click("#add-client button[type=submit]");
  await page.locator("#status.error", { hasText: "conflict" }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a partitioned topic: its count, each channel's partitions (depth, in flight, consumers), and a seek by seq that names a partition", async () => {
  const topic = uniqueName("dparts");
  assert.equal((await put(`/v1/topics/${topic}`, { partitions: 3 })).status, 201);
  assert.equal((await put(`/v1/topics/${topic}/channels/work`)).status, 201);
  for (let i = 0; i < 9; i++) assert.equal((await pub(topic, i, { orderingkey: `key-${i}` })).status, 201);
  // A consumer of partition 1 holds one message: in flight 1, one consumer there.
  const c = new Socket(env.w.url, `/v1/topics/${enc(topic)}/channels/work/ws?partition=1`);
  await c.opened;
  c.send({ op: "hello", max_in_flight: 1, token: ADMIN_TOKEN });
  const welcome = await c.next((f) => f.op === "welcome");
  await c.msg();

  const page = await open(`#/topics?q=${topic}`);
  const row = page.locator(`#topics tr[data-topic="${topic}"]`);
  await row.locator("td.partitions", { hasText: "3" }).waitFor();
  await row.click();
  await page.locator("#topic-partitions", { hasText: "3 partitions" }).waitFor();
  const work = page.locator('#channels tr[data-channel="work"]');
  await work.locator('button[data-action="partitions"]').click();
  const parts = page.locator('#channels tr.partition[data-partition-of="work"]');
  await parts.nth(2).waitFor();
  assert.equal(await parts.count(), 3);
  // Each row shows what the API says of its partition (the page keeps polling: wait for it).
  const api = (await topicStats(env.w.url, topic, "work", ADMIN)).partitions;
  assert.equal(api[1].in_flight, 1);
  assert.equal(api[1].consumers, 1);
  const cells = (p) => ["partition " + p.partition, ...["depth", "ready", "in_flight", "deferred", "dead", "consumers"].map((k) => String(p[k]))];
  for (const p of api) {
    await page.waitForFunction(
      ({ p, want }) => {
        const r = document.querySelector(`#channels tr.partition[data-partition="${p}"]`);
        return r && want.every((v, i) => r.cells[i].textContent === v);
      },
      { p: p.partition, want: cells(p) },
    );
  }
  await polls(page);
  assert.equal(await parts.count(), 3, "the rows stay open across refreshes");
  await page.screenshot({ path: join(OUT, "dashboard-partitions.png"), fullPage: true });
  await work.locator('button[data-action="partitions"]').click();
  await parts.first().waitFor({ state: "detached" });

  // The channel page: consumers per partition, and a seek by seq names its partition.
  await work.locator("a").first().click();
  await page.locator("#consumer-summary", { hasText: "1 socket consumer attached over 3 partitions" }).waitFor();
  await page.locator('#partition-stats tr[data-partition="1"] td:nth-child(2)', { hasText: "1" }).waitFor();
  // Its row: session, who, address, partition, credit, in flight, delivered, finished, requeued.
  const consumer = page.locator(`#attached tr[data-session="${welcome.session}"]`);
  await consumer.waitFor();
  const shown = await consumer.locator("td").allTextContents();
  assert.deepEqual(shown.slice(0, 9).filter((_, i) => i !== 2), [welcome.session, "/admin", "1", "1", "1", "1", "0", "0"]);
  assert.ok(shown[9].length > 0, "connected since");
  await page.selectOption("#seek-partition", "2");
  await page.fill("#seek-seq", "1");
  await page.click("#seek-seq-form button[type=submit]");
  await confirm(page);
  await notice(page, `sought work@${topic} to seq 1 of partition 2: ${api[2].depth} ready`);
  c.close();
  assert.deepEqual(page.errors, []);
  await page.close();
});
