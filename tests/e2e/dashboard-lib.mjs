// What the dashboard's browser tests share (dashboard.test.mjs, dashboard-more.test.mjs):
// a Worker with anonymous off and headless Chromium per test file, a logged-in page, and
// small helpers to publish, confirm dialogs and wait for polls.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { ADMIN_TOKEN, CHROMIUM_ARGS, Socket, call, cloudEvent, startWorker } from "./harness.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const OUT = join(ROOT, "tests/out");
export const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
export const enc = encodeURIComponent;

/** The Worker and the browser of the test file that calls {@link useDashboard}. */
export const env = { w: undefined, browser: undefined };

/** Starts a Worker (anonymous off) and Chromium before the file's tests, stops them after. */
export function useDashboard() {
  before(async () => {
    env.w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
    env.browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
    mkdirSync(OUT, { recursive: true });
  });
  after(async () => {
    await env.browser?.close();
    await env.w?.destroy();
  });
}

/** Publishes as the admin (anonymous access is off). */
export const pub = (topic, i, extra = {}) =>
  call(env.w.url, "POST", `/v1/topics/${enc(topic)}/events`, {
    raw: JSON.stringify(cloudEvent(`d${i}`, { n: i }, extra)),
    headers: { ...ADMIN, "content-type": "application/cloudevents+json" },
  });
export const put = (path, body) => call(env.w.url, "PUT", path, { headers: ADMIN, body });
export const dash = (hash = "") => `${env.w.url}/dashboard/?interval_ms=300${hash}`;

/** A page that fails the test on any uncaught page error; `login` logs in at `hash`. */
export async function open(hash = "", { viewport = { width: 1200, height: 900 } } = {}) {
  const page = await env.browser.newPage({ viewport });
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  await page.goto(dash(hash));
  await page.fill("#token", ADMIN_TOKEN);
  await page.click("#login button[type=submit]");
  await page.locator("#app").waitFor();
  return page;
}

/** Waits until the page has polled `n` more times. */
export async function polls(page, n = 2) {
  const at = Number(await page.getAttribute("body", "data-refreshes"));
  await page.waitForFunction((want) => Number(document.body.dataset.refreshes) >= want, at + n);
}

/** Accepts the confirmation dialog (typing the name when it asks for one). */
export async function confirm(page, typed) {
  await page.locator("#confirm[open]").waitFor();
  if (typed) await page.fill("#confirm-typed", typed);
  await page.click("#confirm-ok");
  await page.locator("#confirm[open]").waitFor({ state: "detached" });
}

export const notice = (page, text) => page.locator("#status", { hasText: text }).waitFor();
export const stat = (page, id, key) => page.locator(`#${id} dd[data-stat="${key}"]`);

/** Makes `n` dead letters on topic/channel, each with checkpoint {step: i}. */
export async function deadLetters(topic, channel, n) {
  await put(`/v1/topics/${enc(topic)}/channels/${channel}`);
  for (let i = 0; i < n; i++) assert.equal((await pub(topic, i)).status, 201);
  const c = await Socket.consumer(env.w.url, topic, channel, { max_in_flight: 1, max_attempts: 1, token: ADMIN_TOKEN });
  for (let i = 0; i < n; i++) {
    const m = await c.msg();
    assert.equal((await c.request({ op: "req", id: m.id, state: { step: i } })).op, "ok");
  }
  c.close();
}
