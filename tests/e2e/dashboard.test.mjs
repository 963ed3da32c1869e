// The operator dashboard (/dashboard/, Workers static assets) in real headless Chromium
// (Debian's, driven by playwright-core) against the Worker in workerd: admin-token login,
// the topic list (search, sort, paging, links), a page per topic and per channel reached by
// URL with back/forward, topic and channel actions (create with filter and push settings,
// delete, pause, seek by seq and by time), dead letters with their events and checkpoints
// (paged, redriven one by one and all), peek, clients (add, rotate, remove, each secret
// shown once), the rate charts' window, and input that survives the periodic refresh.
// Screenshots go to tests/out/ (not committed).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { ADMIN_TOKEN, CHROMIUM_ARGS, call, cloudEvent, startWorker, topicStats, uniqueName, Socket } from "./harness.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const OUT = join(ROOT, "tests/out");
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const enc = encodeURIComponent;

let w, browser;
before(async () => {
  w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  mkdirSync(OUT, { recursive: true });
});
after(async () => {
  await browser?.close();
  await w?.destroy();
});

/** Publishes as the admin (anonymous access is off). */
const pub = (topic, i, extra = {}) =>
  call(w.url, "POST", `/v1/topics/${enc(topic)}/events`, {
    raw: JSON.stringify(cloudEvent(`d${i}`, { n: i }, extra)),
    headers: { ...ADMIN, "content-type": "application/cloudevents+json" },
  });
const put = (path, body) => call(w.url, "PUT", path, { headers: ADMIN, body });
const dash = (hash = "") => `${w.url}/dashboard/?interval_ms=300${hash}`;

/** A page that fails the test on any uncaught page error; `login` logs in at `hash`. */
async function open(hash = "", { viewport = { width: 1200, height: 900 } } = {}) {
  const page = await browser.newPage({ viewport });
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  await page.goto(dash(hash));
  await page.fill("#token", ADMIN_TOKEN);
  await page.click("#login button[type=submit]");
  await page.locator("#app").waitFor();
  return page;
}

/** Waits until the page has polled `n` more times. */
async function polls(page, n = 2) {
  const at = Number(await page.getAttribute("body", "data-refreshes"));
  await page.waitForFunction((want) => Number(document.body.dataset.refreshes) >= want, at + n);
}

/** Accepts the confirmation dialog (typing the name when it asks for one). */
async function confirm(page, typed) {
  await page.locator("#confirm[open]").waitFor();
  if (typed) await page.fill("#confirm-typed", typed);
  await page.click("#confirm-ok");
  await page.locator("#confirm[open]").waitFor({ state: "detached" });
}

const notice = (page, text) => page.locator("#status", { hasText: text }).waitFor();
const stat = (page, id, key) => page.locator(`#${id} dd[data-stat="${key}"]`);

/** Makes `n` dead letters on topic/channel, each with checkpoint {step: i}. */
async function deadLetters(topic, channel, n) {
  await put(`/v1/topics/${enc(topic)}/channels/${channel}`);
  for (let i = 0; i < n; i++) assert.equal((await pub(topic, i)).status, 201);
  const c = await Socket.consumer(w.url, topic, channel, { max_in_flight: 1, max_attempts: 1, token: ADMIN_TOKEN });
  for (let i = 0; i < n; i++) {
    const m = await c.msg();
    assert.equal((await c.request({ op: "req", id: m.id, state: { step: i } })).op, "ok");
  }
  c.close();
}

test("a wrong admin token is refused", async () => {
  const page = await browser.newPage();
  await page.goto(dash());
  await page.fill("#token", "not-the-token");
  await page.click("#login button[type=submit]");
  await page.locator("#login-error", { hasText: "Wrong admin token" }).waitFor();
  assert.equal(await page.isHidden("#app"), true);
  await page.close();
});

test("the topic list shows a new topic and charts the bus's rates", async () => {
  const topic = uniqueName("dash");
  const page = await open();
  await put(`/v1/topics/${topic}/channels/work`);
  assert.equal((await pub(topic, 0)).status, 201);
  const row = page.locator(`#topics tr[data-topic="${topic}"]`);
  await row.waitFor();
  // Publish and finish while the page polls, until the chart has drawn a nonzero rate.
  const c = await Socket.consumer(w.url, topic, "work", { max_in_flight: 10, token: ADMIN_TOKEN });
  let i = 1;
  const sawTraffic = () =>
    page.evaluate(() => {
      const d = document.getElementById("overview-chart").dataset;
      return Number(d.maxPublished) > 0 && Number(d.maxFinished) > 0;
    });
  while (!(await sawTraffic())) {
    await pub(topic, i++);
    const m = await c.msg();
    await c.request({ op: "fin", id: m.id });
  }
  c.close();
  await page.locator("#overview-chart canvas").waitFor();
  await page.screenshot({ path: join(OUT, "dashboard.png") });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("search and paging of the topic list, kept in the URL, with back and forward", async () => {
  const prefix = uniqueName("many");
  const names = Array.from({ length: 23 }, (_, i) => `${prefix}.${String(i).padStart(2, "0")}`);
  for (const t of names) assert.equal((await put(`/v1/topics/${t}`, { partitions: 1 })).status, 201);
  const page = await open();
  await page.locator("#topics tbody tr").first().waitFor();
  await page.fill("#topic-search", prefix);
  await page.locator("#topic-count", { hasText: `23 of` }).waitFor();
  await page.selectOption("#page-size", "10");
  await page.locator("#page-info", { hasText: "page 1 of 3" }).waitFor();
  const shown = () => page.$$eval("#topics tbody tr", (rows) => rows.map((r) => r.dataset.topic));
  assert.deepEqual(await shown(), names.slice(0, 10));
  await page.click("#next-page");
  await page.locator("#page-info", { hasText: "page 2 of 3" }).waitFor();
  assert.deepEqual(await shown(), names.slice(10, 20));
  await page.click("#next-page");
  await page.locator("#page-info", { hasText: "page 3 of 3" }).waitFor();
  assert.deepEqual(await shown(), names.slice(20));
  assert.equal(await page.isDisabled("#next-page"), true);
  // Sorting by name the other way round.
  await page.click('#topics th button[data-sort="name"]');
  await page.locator("#page-info", { hasText: "page 1 of 3" }).waitFor();
  assert.deepEqual(await shown(), names.slice(13).reverse());
  await page.click('#topics th button[data-sort="name"]');
  // The URL holds the search and page: a new tab opens at the same place.
  await page.click("#next-page");
  await page.locator("#page-info", { hasText: "page 2 of 3" }).waitFor();
  const hash = new URL(page.url()).hash;
  assert.match(hash, new RegExp(`q=${prefix}`));
  assert.match(hash, /page=2/);
  const other = await open(hash);
  await other.locator("#page-info", { hasText: "page 2 of 3" }).waitFor();
  assert.equal(await other.inputValue("#topic-search"), prefix);
  assert.deepEqual(await other.$$eval("#topics tbody tr", (rows) => rows.map((r) => r.dataset.topic)), names.slice(10, 20));
  await other.close();
  // A search that matches nothing says so.
  await page.fill("#topic-search", `${prefix}-nothing`);
  await page.locator("#no-topics", { hasText: "No topic matches" }).waitFor();
  await page.fill("#topic-search", prefix);
  await page.locator("#page-info", { hasText: "page 1 of 3" }).waitFor();
  // A topic's link opens its page; back returns to the list as it was, forward again.
  await page.click(`#topics tr[data-topic="${names[3]}"] a`);
  await page.locator("#topic-name", { hasText: names[3] }).waitFor();
  assert.equal(new URL(page.url()).hash, `#/topics/${names[3]}`);
  await page.goBack();
  await page.locator(`#topics tr[data-topic="${names[3]}"]`).waitFor();
  assert.equal(await page.inputValue("#topic-search"), prefix);
  await page.goForward();
  await page.locator("#topic-name", { hasText: names[3] }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a topic page by URL: partitions, seq, retained, channels, a one-sample chart with a 5-minute axis, and delete topic", async () => {
  const topic = uniqueName("page");
  assert.equal((await put(`/v1/topics/${topic}`, { partitions: 2 })).status, 201);
  await put(`/v1/topics/${topic}/channels/audit`);
  for (let i = 0; i < 3; i++) await pub(topic, i);
  const page = await open(`#/topics/${topic}`);
  await page.locator("#topic-name", { hasText: topic }).waitFor();
  await page.locator("#topic-partitions", { hasText: "2 partitions" }).waitFor();
  await stat(page, "topic-summary", "seq").filter({ hasText: "3" }).waitFor();
  assert.equal(await stat(page, "topic-summary", "retained").textContent(), "3");
  assert.equal(await stat(page, "topic-summary", "partitions").textContent(), "2");
  await page.locator('#channels tr[data-channel="audit"]').waitFor();

  // The chart's first sample: a fixed window of the last 5 minutes ending now, clock-time labels.
  await page.waitForFunction(() => Number(document.getElementById("topic-chart").dataset.samples) >= 1);
  const x = await page.evaluate(() => {
    const u = window.ismld.charts["topic-chart"];
    return { min: u.scales.x.min, max: u.scales.x.max, n: u.data[0].length, labels: document.getElementById("topic-chart").dataset.xLabels, now: Date.now() / 1000 };
  });
  assert.ok(x.n >= 1 && x.n <= 3, `few samples: ${x.n}`);
  assert.ok(Math.abs(x.max - x.min - 300) < 1, `a 300 s window, not ${x.max - x.min} s`);
  assert.ok(Math.abs(x.now - x.max) < 30, "the window ends now");
  const labels = x.labels.split("|");
  assert.ok(labels.length >= 3, x.labels);
  for (const l of labels) assert.match(l, /^\d{1,2}:\d\d:\d\d(\s?[AP]M)?$/, `a clock time, no date: ${l}`);
  await page.screenshot({ path: join(OUT, "dashboard-topic.png"), fullPage: true });

  // Delete: the dialog wants the name typed; cancel changes nothing.
  await page.click("#delete-topic");
  await page.locator("#confirm[open]").waitFor();
  assert.equal(await page.isDisabled("#confirm-ok"), true);
  await page.click("#confirm-cancel");
  assert.equal((await topicStats(w.url, topic, undefined, ADMIN)).status, 200);
  await page.click("#delete-topic");
  await confirm(page, topic);
  await notice(page, `deleted topic ${topic}`);
  await page.locator("#topics").waitFor();
  assert.equal(new URL(page.url()).hash, "#/topics");
  assert.equal((await topicStats(w.url, topic, undefined, ADMIN)).status, 404);
  await polls(page);
  assert.equal(await page.locator(`#topics tr[data-topic="${topic}"]`).count(), 0);
  // Its URL now says there is no such topic.
  await page.goto(dash(`#/topics/${topic}`));
  await page.locator("#topic-missing").waitFor();
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("channel actions: create from seq, pause and unpause, seek by seq and by time, delete; API errors on the page", async () => {
  const topic = uniqueName("acts");
  await put(`/v1/topics/${topic}/channels/work`);
  for (let i = 0; i < 4; i++) await pub(topic, i);
  const page = await open(`#/topics/${topic}`);
  const work = page.locator('#channels tr[data-channel="work"]');
  await work.waitFor();
  await work.locator('button[data-action="pause"]').click();
  await work.locator("td.paused", { hasText: "paused" }).waitFor();
  assert.equal((await topicStats(w.url, topic, "work", ADMIN)).paused, true);
  await work.locator('button[data-action="unpause"]').click();
  await work.locator("td", { hasText: "active" }).waitFor();

  // A refused request shows the API's code and message on the page.
  await page.fill("#new-channel", "bad");
  await page.fill("#new-filter", '{"bogus": {}}');
  await page.click("#create-channel button[type=submit]");
  await page.locator("#status.error", { hasText: "invalid_request" }).waitFor();
  assert.match(await page.textContent("#status"), /HTTP 400/);
  await page.fill("#new-filter", "{not json");
  await page.click("#create-channel button[type=submit]");
  await page.locator("#status.error", { hasText: "not JSON" }).waitFor();

  // A channel from seq 1 gets the backlog; one from now gets nothing; a filter is shown.
  await page.fill("#new-channel", "replay");
  await page.fill("#from-seq", "1");
  await page.fill("#new-filter", '{"exact": {"type": "test.event"}}');
  await page.click("#create-channel button[type=submit]");
  await page.locator('#channels tr[data-channel="replay"]').waitFor();
  await page.locator("#created", { hasText: "test.event" }).waitFor();
  assert.equal((await topicStats(w.url, topic, "replay", ADMIN)).ready, 4);
  await page.click('#created a');
  await page.locator("#channel-name", { hasText: "replay" }).waitFor();
  await page.locator("#filter-json", { hasText: '"exact"' }).waitFor();

  // Seek by seq past everything, then by time: from long ago, and from the future.
  await page.fill("#seek-seq", "5");
  await page.click("#seek-seq-form button[type=submit]");
  await confirm(page);
  await notice(page, `sought replay@${topic} to seq 5: 0 ready`);
  assert.equal((await topicStats(w.url, topic, "replay", ADMIN)).ready, 0);
  await page.fill("#seek-time", "2000-01-01T00:00:00Z");
  await page.click("#seek-time-form button[type=submit]");
  await confirm(page);
  await notice(page, "2000-01-01T00:00:00Z: 4 ready");
  assert.equal((await topicStats(w.url, topic, "replay", ADMIN)).ready, 4);
  await stat(page, "channel-stats", "ready").filter({ hasText: "4" }).waitFor();
  await page.fill("#seek-time", new Date(Date.now() + 3_600_000).toISOString());
  await page.click("#seek-time-form button[type=submit]");
  await confirm(page);
  await notice(page, ": 0 ready");
  assert.equal((await topicStats(w.url, topic, "replay", ADMIN)).ready, 0);
  await page.fill("#seek-time", "yesterday-ish");
  await page.click("#seek-time-form button[type=submit]");
  await page.locator("#status.error", { hasText: "is not a time" }).waitFor();

  // Delete the channel: back to its topic, gone there and in the API.
  await page.click("#delete-channel");
  await confirm(page);
  await notice(page, `deleted replay@${topic}`);
  await page.locator('#channels tr[data-channel="work"]').waitFor();
  assert.equal(await page.locator('#channels tr[data-channel="replay"]').count(), 0);
  assert.equal(await topicStats(w.url, topic, "replay", ADMIN), undefined);
  assert.deepEqual(page.errors, []);
  await page.close();
});

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
  let s = await topicStats(w.url, topic, "jobs", ADMIN);
  assert.equal(s.dead, 2);
  assert.equal(s.ready, 1);
  await page.locator("#dead-count", { hasText: "2 in all" }).waitFor();

  // Redrive all (confirmed): none left.
  await page.click("#redrive-all");
  await confirm(page);
  await notice(page, "redrove 2 dead letters");
  await page.locator("#dead-empty").waitFor();
  s = await topicStats(w.url, topic, "jobs", ADMIN);
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
  const s = await topicStats(w.url, topic, "look", ADMIN);
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
  const stats = await topicStats(w.url, topic, "hook", ADMIN);
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
  const token = (s) => call(w.url, "POST", "/v1/tokens", { headers: { authorization: `Basic ${Buffer.from(`${login}:${s}`).toString("base64")}` } });
  assert.equal((await token(secret)).status, 201);
  const row = page.locator(`#clients tr[data-login="${login}"]`);
  await row.waitFor();
  assert.equal(await row.locator("td").nth(1).textContent(), "orders.*, audit");
  assert.equal(await row.locator("td").nth(2).textContent(), "*");
  const listed = (await call(w.url, "GET", "/v1/clients", { headers: ADMIN })).body.clients.find((c) => c.login === login);
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
  const after = (await call(w.url, "GET", "/v1/clients", { headers: ADMIN })).body.clients;
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

test("what the user is typing survives the periodic refresh", async () => {
  const topic = uniqueName("typing");
  await put(`/v1/topics/${topic}/channels/c`);
  await pub(topic, 0);
  const page = await open(`#/topics/${topic}`);
  await page.locator('#channels tr[data-channel="c"]').waitFor();
  await page.fill("#new-channel", "half-typed");
  await page.fill("#new-filter", '{"prefix": {"type": "te');
  await page.focus("#new-channel");
  await page.keyboard.type("-more");
  await polls(page, 3);
  assert.equal(await page.inputValue("#new-channel"), "half-typed-more");
  assert.equal(await page.inputValue("#new-filter"), '{"prefix": {"type": "te');
  assert.equal(await page.evaluate(() => document.activeElement.id), "new-channel");

  await page.click('#channels tr[data-channel="c"] a');
  await page.locator("#seek-seq").waitFor();
  await page.fill("#seek-seq", "12");
  await page.fill("#seek-time", "2025-06-01T12:");
  await page.fill("#peek-limit", "7");
  await page.focus("#seek-time");
  await page.keyboard.type("00");
  await pub(topic, 1); // the stats change while the user types
  await stat(page, "channel-stats", "ready").filter({ hasText: "2" }).waitFor();
  await polls(page, 3);
  assert.equal(await page.inputValue("#seek-seq"), "12");
  assert.equal(await page.inputValue("#seek-time"), "2025-06-01T12:00");
  assert.equal(await page.inputValue("#peek-limit"), "7");
  assert.equal(await page.evaluate(() => document.activeElement.id), "seek-time");

  await page.click('#nav a[data-nav="topics"]');
  await page.fill("#topic-search", topic.slice(0, -1));
  await polls(page, 3);
  assert.equal(await page.inputValue("#topic-search"), topic.slice(0, -1));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a partitioned topic: its count, each channel's partitions (depth, in flight, consumers), and a seek by seq that names a partition", async () => {
  const topic = uniqueName("dparts");
  assert.equal((await put(`/v1/topics/${topic}`, { partitions: 3 })).status, 201);
  assert.equal((await put(`/v1/topics/${topic}/channels/work`)).status, 201);
  for (let i = 0; i < 9; i++) assert.equal((await pub(topic, i, { orderingkey: `key-${i}` })).status, 201);
  // A consumer of partition 1 holds one message: in flight 1, one consumer there.
  const c = new Socket(w.url, `/v1/topics/${enc(topic)}/channels/work/ws?partition=1`);
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
  const api = (await topicStats(w.url, topic, "work", ADMIN)).partitions;
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
