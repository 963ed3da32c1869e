// The operator dashboard (/dashboard/, Workers static assets) in real headless Chromium
// (Debian's, driven by playwright-core) against the Worker in workerd, part 1:
// admin-token login, the topic list (search, sort, paging, links), a page per topic and
// per channel reached by URL with back/forward, topic and channel actions (create with a
// filter, delete, pause, seek by seq and by time), the rate charts' window, and input that
// survives the periodic refresh. Part 2 is dashboard-more.test.mjs. Screenshots go to
// tests/out/ (not committed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ADMIN_TOKEN, topicStats, uniqueName, Socket } from "./harness.mjs";
import { ADMIN, OUT, confirm, dash, env, notice, open, polls, pub, put, stat, useDashboard } from "./dashboard-lib.mjs";

useDashboard();

test("a wrong admin token is refused", async () => {
  const page = await env.browser.newPage();
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
  const c = await Socket.consumer(env.w.url, topic, "work", { max_in_flight: 10, token: ADMIN_TOKEN });
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
  assert.ok(x.n >= 1, `samples: ${x.n}`);
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
  assert.equal((await topicStats(env.w.url, topic, undefined, ADMIN)).status, 200);
  await page.click("#delete-topic");
  await confirm(page, topic);
  await notice(page, `deleted topic ${topic}`);
  await page.locator("#topics").waitFor();
  assert.equal(new URL(page.url()).hash, "#/topics");
  assert.equal((await topicStats(env.w.url, topic, undefined, ADMIN)).status, 404);
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
  assert.equal((await topicStats(env.w.url, topic, "work", ADMIN)).paused, true);
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
  assert.equal((await topicStats(env.w.url, topic, "replay", ADMIN)).ready, 4);
  await page.click('#created a');
  await page.locator("#channel-name", { hasText: "replay" }).waitFor();
  await page.locator("#filter-json", { hasText: '"exact"' }).waitFor();

  // Seek by seq past everything, then by time: from long ago, and from the future.
  await page.fill("#seek-seq", "5");
  await page.click("#seek-seq-form button[type=submit]");
  await confirm(page);
  await notice(page, `sought replay@${topic} to seq 5: 0 ready`);
  assert.equal((await topicStats(env.w.url, topic, "replay", ADMIN)).ready, 0);
  await page.fill("#seek-time", "2000-01-01T00:00:00Z");
  await page.click("#seek-time-form button[type=submit]");
  await confirm(page);
  await notice(page, "2000-01-01T00:00:00Z: 4 ready");
  assert.equal((await topicStats(env.w.url, topic, "replay", ADMIN)).ready, 4);
  await stat(page, "channel-stats", "ready").filter({ hasText: "4" }).waitFor();
  await page.fill("#seek-time", new Date(Date.now() + 3_600_000).toISOString());
  await page.click("#seek-time-form button[type=submit]");
  await confirm(page);
  await notice(page, ": 0 ready");
  assert.equal((await topicStats(env.w.url, topic, "replay", ADMIN)).ready, 0);
  await page.fill("#seek-time", "yesterday-ish");
  await page.click("#seek-time-form button[type=submit]");
  await page.locator("#status.error", { hasText: "is not a time" }).waitFor();

  // Delete the channel: back to its topic, gone there and in the API.
  await page.click("#delete-channel");
  await confirm(page);
  await notice(page, `deleted replay@${topic}`);
  await page.locator('#channels tr[data-channel="work"]').waitFor();
  assert.equal(await page.locator('#channels tr[data-channel="replay"]').count(), 0);
  assert.equal(await topicStats(env.w.url, topic, "replay", ADMIN), undefined);
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
