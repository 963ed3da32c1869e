// The operator dashboard (/dashboard/, Workers static assets) in real headless Chromium
// (Debian's, driven by playwright-core) against the Worker in workerd: admin-token login,
// a topic appears after a publish, the rate chart updates, and the channel actions work;
// a partitioned topic shows its count and each channel's partitions.
// A screenshot goes to tests/out/ (not committed).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { ADMIN_TOKEN, CHROMIUM_ARGS, call, cloudEvent, publish, startWorker, topicStats, uniqueName, Socket } from "./harness.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

let w, browser;
before(async () => {
  w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
  await w?.destroy();
});

/** Publishes as the admin (anonymous access is off). */
const pub = (topic, i) =>
  call(w.url, "POST", `/v1/topics/${topic}/events`, {
    raw: JSON.stringify(cloudEvent(`d${i}`, i)),
    headers: { ...ADMIN, "content-type": "application/cloudevents+json" },
  });

async function login(page) {
  await page.goto(`${w.url}/dashboard/?interval_ms=300`);
  await page.fill("#token", ADMIN_TOKEN);
  await page.click("#login button[type=submit]");
  await page.locator("#app").waitFor();
}

test("a wrong admin token is refused", async () => {
  const page = await browser.newPage();
  await page.goto(`${w.url}/dashboard/`);
  await page.fill("#token", "not-the-token");
  await page.click("#login button[type=submit]");
  await page.locator("#login-error", { hasText: "Wrong admin token" }).waitFor();
  assert.equal(await page.isHidden("#app"), true);
  await page.close();
});

test("it shows a topic after a publish, charts its rate, and runs channel actions", async () => {
  const topic = uniqueName("dash");
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("dialog", (d) => d.accept());
  await login(page);

  await call(w.url, "PUT", `/v1/topics/${topic}/channels/work`, { headers: ADMIN });
  assert.equal((await pub(topic, 0)).status, 201);
  const row = page.locator(`#topics tr[data-topic="${topic}"]`);
  await row.waitFor();

  // Publish and finish while the page polls, until the chart has drawn a nonzero rate.
  const c = await Socket.consumer(w.url, topic, "work", { max_in_flight: 10, token: ADMIN_TOKEN });
  let i = 1;
  const chartSawTraffic = () =>
    page.evaluate(() => {
      const d = document.getElementById("overview-chart").dataset;
      return Number(d.maxPublished) > 0 && Number(d.maxFinished) > 0;
    });
  while (!(await chartSawTraffic())) {
    await pub(topic, i++);
    const m = await c.msg();
    await c.request({ op: "fin", id: m.id });
  }
  assert.ok(Number(await page.getAttribute("#overview-chart", "data-samples")) >= 1);
  c.close();

  await row.click();
  const work = page.locator('#channels tr[data-channel="work"]');
  await work.waitFor();
  await page.locator("#topic-chart canvas").waitFor();

  // Pause: the API says paused, and the row shows it.
  await work.locator('button[data-action="pause"]').click();
  await work.locator("td.paused", { hasText: "paused" }).waitFor();
  assert.equal((await topicStats(w.url, topic, "work", ADMIN)).paused, true);
  await work.locator('button[data-action="unpause"]').click();
  await work.locator("td", { hasText: "active" }).waitFor();

  // Create a channel from seq 1: it gets the whole backlog.
  await page.fill("#new-channel", "replay");
  await page.fill("#from-seq", "1");
  await page.click("#create-channel button[type=submit]");
  const replay = page.locator('#channels tr[data-channel="replay"]');
  await replay.waitFor();
  assert.equal((await topicStats(w.url, topic, "replay", ADMIN)).ready, i);

  // Seek the replay channel past everything: nothing left ready.
  await replay.locator('input[data-field="seek-seq"]').fill(String(i + 1));
  await replay.locator('button[data-action="seek"]').click();
  await page.locator("#status", { hasText: "sought replay@" }).waitFor();
  assert.equal((await topicStats(w.url, topic, "replay", ADMIN)).ready, 0);

  // Delete it.
  await replay.locator('button[data-action="delete"]').click();
  await replay.waitFor({ state: "detached" });
  assert.equal(await topicStats(w.url, topic, "replay", ADMIN), undefined);

  mkdirSync(join(ROOT, "tests/out"), { recursive: true });
  await page.screenshot({ path: join(ROOT, "tests/out/dashboard.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("redrive from the dashboard brings dead letters back", async () => {
  const topic = uniqueName("dead");
  await call(w.url, "PUT", `/v1/topics/${topic}/channels/jobs`, { headers: ADMIN });
  await pub(topic, 0);
  const c = await Socket.consumer(w.url, topic, "jobs", { max_in_flight: 1, max_attempts: 1, token: ADMIN_TOKEN });
  const m = await c.msg();
  await c.request({ op: "req", id: m.id });
  c.close();
  const page = await browser.newPage();
  page.on("dialog", (d) => d.accept());
  await login(page);
  await page.locator(`#topics tr[data-topic="${topic}"]`).click();
  const jobs = page.locator('#channels tr[data-channel="jobs"]');
  const redrive = jobs.locator('button[data-action="redrive"]', { hasText: "Redrive 1" });
  await redrive.waitFor();
  await redrive.click();
  await page.locator("#status", { hasText: '"redriven":1' }).waitFor();
  const s = await topicStats(w.url, topic, "jobs", ADMIN);
  assert.equal(s.dead, 0);
  assert.equal(s.ready, 1);
  await page.close();
});

test("a partitioned topic shows its partition count; a channel expands into each partition's depth, in flight and consumers; seek names a partition", async () => {
  const topic = uniqueName("dparts");
  const enc = encodeURIComponent;
  assert.equal((await call(w.url, "PUT", `/v1/topics/${topic}`, { body: { partitions: 3 }, headers: ADMIN })).status, 201);
  assert.equal((await call(w.url, "PUT", `/v1/topics/${topic}/channels/work`, { headers: ADMIN })).status, 201);
  for (let i = 0; i < 9; i++) {
    const r = await call(w.url, "POST", `/v1/topics/${topic}/events`, {
      raw: JSON.stringify(cloudEvent(`p${i}`, i, { orderingkey: `key-${i}` })),
      headers: { ...ADMIN, "content-type": "application/cloudevents+json" },
    });
    assert.equal(r.status, 201, r.text);
  }
  // A consumer of partition 1 holds one message: in flight 1, one consumer there.
  const c = new Socket(w.url, `/v1/topics/${enc(topic)}/channels/work/ws?partition=1`);
  await c.opened;
  c.send({ op: "hello", max_in_flight: 1, token: ADMIN_TOKEN });
  await c.next((f) => f.op === "welcome");
  await c.msg();

  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await login(page);
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
  const api = (await topicStats(w.url, topic, "work", ADMIN)).partitions;
  assert.equal(api[1].in_flight, 1);
  assert.equal(api[1].consumers, 1);
  for (const p of api) {
    const want = ["partition " + p.partition, ...["depth", "ready", "in_flight", "deferred", "dead", "consumers"].map((k) => String(p[k]))];
    await page.waitForFunction(
      ({ p, want }) => {
        const r = document.querySelector(`#channels tr.partition[data-partition="${p}"]`);
        return r && want.every((v, i) => r.cells[i].textContent === v);
      },
      { p: p.partition, want },
    );
  }
  // The rows stay open across refreshes, and a seek by seq names its partition.
  await work.locator('select[data-field="seek-partition"]').selectOption("2");
  await work.locator('input[data-field="seek-seq"]').fill("1");
  await work.locator('button[data-action="seek"]').click();
  await page.locator("#status", { hasText: `sought work@${topic} to 1 of partition 2` }).waitFor();
  assert.equal(await parts.count(), 3);
  mkdirSync(join(ROOT, "tests/out"), { recursive: true });
  await page.screenshot({ path: join(ROOT, "tests/out/dashboard-partitions.png"), fullPage: true });
  await work.locator('button[data-action="partitions"]').click();
  await parts.first().waitFor({ state: "detached" });
  c.close();
  assert.deepEqual(errors, []);
  await page.close();
});
