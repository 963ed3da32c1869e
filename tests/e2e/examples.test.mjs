// The examples and the packed package, as a user gets them: `npm pack` of js/, installed
// into a scratch directory, runs the README's quickstart (examples/quickstart.mjs)
// unchanged in Node and in a browser page; the Node examples run against the Worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../examples/browser/serve.mjs";
import { ADMIN_TOKEN, CHROMIUM_ARGS, startWorker } from "./harness.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
let w, scratch;
before(async () => {
  w = await startWorker();
  scratch = mkdtempSync(join(tmpdir(), "ismld-pack-"));
  execFileSync("npm", ["pack", join(ROOT, "js"), "--pack-destination", scratch, "--silent"], { cwd: scratch });
  const tarball = readdirSync(scratch).find((f) => f.endsWith(".tgz"));
  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  execFileSync("npm", ["install", `./${tarball}`, "--no-audit", "--no-fund", "--loglevel=error"], { cwd: scratch });
  copyFileSync(join(ROOT, "examples/quickstart.mjs"), join(scratch, "quickstart.mjs"));
});
after(async () => {
  await w?.destroy();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/**
 * Runs a Node program to its end; resolves to its stdout, rejects on a non-zero exit.
 * `onOutput(stdoutSoFar)` sees the output as it comes.
 */
function run(node, args, { cwd = ROOT, env = {}, timeoutMs = 60_000, onOutput = () => {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(node, args, { cwd, env: { ...process.env, ISMLD_URL: w.url, ISMLD_TOKEN: ADMIN_TOKEN, ...env } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
      onOutput(out);
    });
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${args.join(" ")} exited ${code}\n${out}\n${err}`));
    });
  });
}

test("the README's quickstart is examples/quickstart.mjs, verbatim", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  assert.ok(readme.includes(readFileSync(join(ROOT, "examples/quickstart.mjs"), "utf8").trim()));
});

test("the packed package runs the quickstart unchanged in Node", async () => {
  const out = await run(process.execPath, ["quickstart.mjs"], { cwd: scratch });
  assert.match(out, /subscribed quickstart@\[DEV\]OnPingSent|subscribed \[DEV\]quickstart@\[DEV\]OnPingSent/);
  assert.match(out, /handled \{"message":"Hello World"\}/);
  assert.match(out, /1 \+ 2 = 3/);
});

/** The system Node (20 here), or none. */
function systemNode() {
  try {
    return { path: "/usr/bin/node", version: execFileSync("/usr/bin/node", ["--version"]).toString().trim() };
  } catch {
    return undefined;
  }
}

test("the packed package runs the quickstart unchanged in the system Node (20: ws, its optional dependency)", async (t) => {
  const node = systemNode();
  if (!node) return t.skip("no system node");
  const out = await run(node.path, ["quickstart.mjs"], { cwd: scratch });
  assert.match(out, /handled \{"message":"Hello World"\}/);
  assert.match(out, /1 \+ 2 = 3/);
});

test("the packed package loads in the system Node (20) and runs memory:// (ismld/memory)", async (t) => {
  let version = "";
  try {
    version = execFileSync("/usr/bin/node", ["--version"]).toString().trim();
  } catch {
    return t.skip("no system node");
  }
  const program = `import { Connection } from "ismld/memory";
const bus = new Connection({ url: "memory://" });
let got; const one = new Promise((r) => (got = r));
await bus.subscribe({ topic: "t", channel: "c" }, (m) => got(m.data)).start();
await bus.publish("t", { ok: ${JSON.stringify(version)} });
console.log(JSON.stringify(await one)); await bus.close();`;
  writeFileSync(join(scratch, "memory.mjs"), program);
  const out = await run("/usr/bin/node", ["memory.mjs"], { cwd: scratch });
  assert.equal(JSON.parse(out).ok, version);
});

test("the packed package runs the quickstart unchanged in a browser page", async () => {
  writeFileSync(
    join(scratch, "index.html"),
    `<!doctype html><script type="importmap">{"imports":{"ismld":"/ismld/dist/browser.js"}}</script>` +
      `<script type="module" src="/quickstart.mjs"></script>`,
  );
  const site = await serve(0, join(scratch, "node_modules/ismld"), scratch);
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const lines = [];
    let finished;
    const done = new Promise((resolve, reject) => {
      finished = resolve;
      page.on("pageerror", (e) => reject(e));
    });
    page.on("console", (m) => {
      lines.push(m.text());
      if (m.text().startsWith("1 + 2 =")) finished();
    });
    await page.goto(`${site.url}/?ISMLD_URL=${encodeURIComponent(w.url)}&ISMLD_TOKEN=${ADMIN_TOKEN}`);
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`the page did not finish: ${lines.join("\n")}`)), 30_000),
    );
    await Promise.race([done, timeout]);
    assert.ok(lines.some((l) => l.includes('handled {"message":"Hello World"}')), lines.join("\n"));
    assert.ok(lines.includes("1 + 2 = 3"));
  } finally {
    await browser.close();
    site.close();
  }
});

test("the Node examples run as written on the system Node 20: publisher, subscriber with checkpoints, request-response", async () => {
  const node = systemNode()?.path ?? process.execPath;
  let subscribed;
  const ready = new Promise((r) => (subscribed = r));
  const sub = run(node, ["examples/node/subscriber.mjs"], {
    env: { ISMLD_EXIT_AFTER: "2" },
    onOutput: (out) => out.includes("subscribed as") && subscribed(),
  });
  await Promise.race([ready, sub]);
  const pub = await run(node, ["examples/node/publisher.mjs"]);
  assert.match(pub, /published 0000000000000\w+ seq \d+/);
  assert.match(pub, /idempotent (\d+) \1 duplicate: true/);
  const out = await sub;
  assert.match(out, /handled seq \d+ \(attempt 1\)/);
  const rr = await run(node, ["examples/node/request-response.mjs"]);
  assert.match(rr, /1 \+ 2 = 3 \(rpc\.add\.response from \/admin\)/);
});

test("the browser example subscribes on load, shows what arrives, and shows a refused publish on the page", async () => {
  const site = await serve(0);
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const failed = [];
    page.on("response", (r) => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`));
    const topic = `browser-example-${process.pid}`;
    await page.goto(`${site.url}/?url=${encodeURIComponent(w.url)}&token=${ADMIN_TOKEN}&topic=${topic}`);
    await page.waitForFunction(() => document.getElementById("status").textContent === "connected", null, { timeout: 20_000 });
    await page.fill("#message", '{"n":1}');
    await page.click("#publish button");
    await page.waitForFunction(() => document.querySelectorAll("#messages li").length === 1, null, { timeout: 20_000 });
    // The delivery can come before the publish's answer: wait for both.
    await page.waitForFunction(() => document.getElementById("published").textContent !== "", null, { timeout: 20_000 });
    assert.match(await page.textContent("#messages li"), /#1 \{"n":1\}/);
    assert.match(await page.textContent("#published"), /published seq 1/);
    // A name the bus refuses: the error is on the page, not an uncaught rejection.
    await page.fill("#topic", "bad name!");
    await page.click("#publish button");
    await page.waitForFunction(() => document.getElementById("published").textContent.startsWith("refused"), null, { timeout: 20_000 });
    assert.match(await page.textContent("#published"), /invalid_name/);
    assert.deepEqual(failed.filter((f) => !f.includes("bad%20name")), [], "no failed request on load (no favicon 404)");
  } finally {
    await browser.close();
    site.close();
  }
});
