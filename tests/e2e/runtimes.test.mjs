// The package in every runtime it supports, against the Worker in workerd: a fixture
// Worker that imports it (bundled by wrangler with the `workerd` condition, run in workerd
// through Miniflare), Deno and Bun (from their npm packages), and the system Node 20, each
// running tests/e2e/runtimes/smoke.mjs. Also: the `cloudevents` SDK's objects type-check
// and go through publishEvent / toCloudEvent.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { CloudEvent } from "cloudevents";
import { Connection } from "../../js/dist/node.js";
import { ADMIN_TOKEN, startWorker, uniqueName } from "./harness.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = join(ROOT, "node_modules/.bin");
let w;
before(async () => {
  w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
});
after(async () => {
  await w?.destroy();
});

/** Runs a program to its end; resolves to its stdout. */
function run(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(" ")} exited ${code}\n${out}\n${err}`));
    });
  });
}

function check(result, runtime) {
  assert.match(result.runtime, runtime);
  assert.deepEqual(result.seqs, [1, 2], "HTTP, then the publisher socket");
  assert.deepEqual(result.first, { via: "http" });
  assert.equal(result.sum, 3);
  assert.ok(result.seq >= 2);
  assert.equal(result.memory, "in-process");
}

async function smokeIn(cmd, args, runtime) {
  const topic = uniqueName("rt");
  const out = await run(cmd, [...args, "tests/e2e/runtimes/smoke.mjs"], { ISMLD_URL: w.url, ISMLD_TOKEN: ADMIN_TOKEN, ISMLD_TOPIC: topic });
  check(JSON.parse(out.trim().split("\n").pop()), runtime);
}

test("a Worker that imports the package (wrangler bundle, workerd condition) publishes and subscribes", async () => {
  const out = mkdtempSync(join(tmpdir(), "ismld-fixture-"));
  try {
    execFileSync(join(BIN, "wrangler"), ["deploy", "--dry-run", "--outdir", out], { cwd: join(ROOT, "tests/e2e/runtimes/workerd"), stdio: "pipe" });
    const mf = new Miniflare(
      convertV4MiniflareOptions({
        modules: [
          { type: "ESModule", path: join(out, "worker.js") },
          ...readdirSync(out)
            .filter((f) => f.endsWith(".wasm"))
            .map((f) => ({ type: "CompiledWasm", path: join(out, f) })),
        ],
        modulesRoot: out,
        compatibilityDate: "2025-11-01",
      }),
    );
    try {
      const q = new URLSearchParams({ url: w.url, token: ADMIN_TOKEN, topic: uniqueName("workerd") });
      const res = await mf.dispatchFetch(`http://fixture/?${q}`);
      const body = await res.json();
      assert.equal(res.status, 200, body.error);
      check(body, /^workerd$/);
    } finally {
      await mf.dispose();
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("Deno runs it (the deno npm package)", async () => {
  await smokeIn(join(BIN, "deno"), ["run", "-A", "--node-modules-dir=manual"], /^deno 2\./);
});

test("Bun runs it (the bun npm package)", async () => {
  await smokeIn(join(BIN, "bun"), ["run"], /^bun 1\./);
});

test("the system Node 20 runs it (no global WebSocket: the ws package)", async (t) => {
  if (!existsSync("/usr/bin/node")) return t.skip("no system node");
  const version = execFileSync("/usr/bin/node", ["--version"]).toString();
  if (!version.startsWith("v20.")) return t.skip(`system node is ${version}`);
  await smokeIn("/usr/bin/node", [], /^node v20\./);
});

test("cloudevents SDK objects: publishEvent takes them (and type-checks), toCloudEvent makes them", async () => {
  const bus = new Connection({ url: w.url, credentials: { token: ADMIN_TOKEN } });
  const topic = uniqueName("sdk");
  let got;
  const one = new Promise((r) => (got = r));
  await bus.subscribe({ topic, channel: "c" }, (msg) => got(msg.toCloudEvent(CloudEvent))).start();
  const sent = new CloudEvent({ id: "sdk-1", source: "/sdk", type: "sdk.test", data: { hello: "sdk" }, orderingkey: "k" });
  const meta = await bus.publishEvent(topic, sent);
  assert.equal(meta.seq, 1);
  const back = await one;
  assert.ok(back instanceof CloudEvent);
  assert.equal(back.id, "sdk-1");
  assert.deepEqual(back.data, { hello: "sdk" });
  assert.equal(back.orderingkey, "k");
  await bus.close();
  // The TS2345: a user's TypeScript passing an SDK object compiles.
  const dir = mkdtempSync(join(ROOT, "tests/out/tsc-"));
  try {
    writeFileSync(
      join(dir, "sdk.ts"),
      `import { CloudEvent } from "cloudevents";\nimport { Connection, type Message } from "ismld";\n` +
        `export async function f(bus: Connection, msg: Message<{ a: number }>) {\n` +
        `  await bus.publishEvent("t", new CloudEvent({ source: "/s", type: "t", data: { a: 1 } }));\n` +
        `  const e: CloudEvent<{ a: number }> = msg.toCloudEvent(CloudEvent);\n  return e.data?.a;\n}\n`,
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2022", "DOM", "esnext.disposable"], types: [], skipLibCheck: true }, files: ["sdk.ts"] }),
    );
    execFileSync(join(BIN, "tsc"), ["-p", dir], { cwd: ROOT, stdio: "pipe" });
  } catch (e) {
    assert.fail(`tsc: ${e.stdout ?? ""}${e.stderr ?? ""}${e.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
