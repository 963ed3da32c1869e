// The browser example (examples/browser/) in real headless Chromium (Debian's, driven by
// playwright-core) against the Worker in workerd: subscribe, publish from the page's form
// and from Node, and see both messages appear. A screenshot goes to tests/out/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../examples/browser/serve.mjs";
import { ADMIN_TOKEN, CHROMIUM_ARGS, call, startWorker, uniqueName } from "./harness.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

let w, site, browser;
before(async () => {
  w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
  site = await serve(0, join(ROOT, "js"));
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
  site?.close();
  await w?.destroy();
});

test("the example page subscribes, publishes from its form and shows live messages", async () => {
  const topic = uniqueName("browser");
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${site.url}/?url=${encodeURIComponent(w.url)}&token=${ADMIN_TOKEN}&topic=${topic}`);
  await page.click("#connect");
  await page.waitForFunction(() => document.getElementById("status").textContent === "connected");

  await page.fill("#message", '{"hello":"from the form"}');
  await page.click("#publish button");
  await page.locator("#messages li", { hasText: "from the form" }).waitFor();
  // The delivery may arrive before the publish's answer: wait for both.
  await page.locator("#published", { hasText: "published seq 1" }).waitFor();

  const r = await call(w.url, "POST", `/v1/topics/${topic}/events`, {
    body: { from: "node" },
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(r.status, 201);
  await page.locator("#messages li", { hasText: '"from":"node"' }).waitFor();
  assert.equal(await page.locator("#messages li").count(), 2);
  mkdirSync(join(ROOT, "tests/out"), { recursive: true });
  await page.screenshot({ path: join(ROOT, "tests/out/browser-example.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a page answers requests: its msg.respond completes a Node client's POST /requests", async () => {
  const topic = uniqueName("responder");
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  assert.equal((await call(w.url, "PUT", `/v1/topics/${topic}/channels/responders`, { headers: admin })).status, 201);
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${site.url}/`);
  // The page's own copy of the package (import map "ismld"), responding to every request.
  await page.evaluate(
    async ({ url, token, topic }) => {
      const { Connection } = await import("ismld");
      const bus = new Connection({ url, credentials: { token } });
      const sub = bus.subscribe({ topic, channel: "responders" }, (msg) =>
        msg.reply ? msg.respond({ echo: msg.data, by: navigator.userAgent.includes("Chrome") ? "chromium" : "?" }) : undefined,
      );
      await sub.start();
      window.responder = bus;
    },
    { url: w.url, token: ADMIN_TOKEN, topic },
  );
  const r = await call(w.url, "POST", `/v1/topics/${topic}/requests?timeout_ms=20000`, { body: { q: 42 }, headers: admin });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.data, { echo: { q: 42 }, by: "chromium" });
  assert.equal(r.body.type, `${topic}.response`);
  await page.evaluate(() => window.responder.close());
  assert.deepEqual(errors, []);
  await page.close();
});

test("a page on a partitioned topic: its subscriber opens a socket per partition (a browser sees the refused upgrade as 1006), its publisher socket routes by key", async () => {
  const topic = uniqueName("bparts");
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const made = await call(w.url, "PUT", `/v1/topics/${topic}`, { body: { partitions: 3 }, headers: admin });
  assert.equal(made.status, 201, made.text);
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${site.url}/`);
  const keys = ["a", "b", "c", "d", "e", "f"];
  const result = await page.evaluate(
    async ({ url, token, topic, keys }) => {
      const { Connection } = await import("ismld");
      const bus = new Connection({ url, credentials: { token }, publishing: { via: "socket" }, reconnect: { min: 50, max: 500 } });
      const got = [];
      let all;
      const done = new Promise((r) => (all = r));
      const sub = bus.subscribe({ topic, channel: "page", maxInFlight: 5 }, (msg) => {
        got.push([msg.data.k, msg.data.i, msg.partition]);
        if (got.length === keys.length * 3) all();
      });
      await sub.start();
      const partitions = sub.partitions;
      const published = [];
      for (let i = 0; i < 3; i++) published.push(...(await Promise.all(keys.map((k) => bus.publish(topic, { k, i }, { orderingKey: k })))));
      await done;
      await bus.close();
      return { partitions, got, published: published.map((r) => r.partition) };
    },
    { url: w.url, token: ADMIN_TOKEN, topic, keys },
  );
  assert.equal(result.partitions, 3);
  const fnv = (t) => [...Buffer.from(t)].reduce((h, b) => Math.imul(h ^ b, 16777619) >>> 0, 2166136261);
  assert.deepEqual(result.published, [0, 1, 2].flatMap(() => keys.map((k) => fnv(k) % 3)));
  for (const k of keys) {
    const mine = result.got.filter(([key]) => key === k);
    assert.deepEqual(mine.map(([, i]) => i), [0, 1, 2], `${k} in order`);
    assert.ok(mine.every(([, , p]) => p === fnv(k) % 3));
  }
  assert.deepEqual(errors, []);
  await page.close();
});
