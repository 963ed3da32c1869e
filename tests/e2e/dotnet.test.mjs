// The C# client (dotnet/) against the Worker in workerd: builds it with Mono
// (scripts/build-dotnet.sh), runs its test runner (mono dotnet/bin/Ismld.Tests.exe) with the
// bus's URL and admin token, and answers what the runner asks on its stdout
// ("ISMLD-ASK restart": restart the runtime on the same storage and port; "ISMLD-ASK
// js-responder" / "ISMLD-ASK js-request ...": the JS client on the other side of a request).
// Then the examples in examples/dotnet/ run against the Worker, and the README's .NET example
// is checked to be examples/dotnet/Seed.cs's seed block, verbatim.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { readFileSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Connection } from "../../js/dist/node.js";
import { ADMIN_TOKEN, call, startWorker, tempDir } from "./harness.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = join(ROOT, "dotnet", "bin");
let w, dir, port;

before(async () => {
  execFileSync("bash", [join(ROOT, "scripts", "build-dotnet.sh")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  dir = tempDir();
  w = await startWorker({ persist: dir });
  port = Number(new URL(w.url).port);
});
after(async () => {
  await w?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs a Mono program to its end, answering its "ISMLD-ASK ..." lines with `ask(what)`;
 * resolves to its stdout (rejects with its whole output on a non-zero exit).
 */
function mono(exe, { args = [], env = {}, ask = async () => "", onLine = () => {}, timeoutMs = 150_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn("mono", [join(BIN, exe), ...args], {
      cwd: ROOT,
      env: { ...process.env, ISMLD_URL: w.url, ISMLD_ADMIN_TOKEN: ADMIN_TOKEN, ISMLD_TOKEN: ADMIN_TOKEN, ...env },
    });
    let out = "";
    let err = "";
    const lines = createInterface({ input: child.stdout });
    lines.on("line", async (line) => {
      out += line + "\n";
      onLine(line);
      if (!line.startsWith("ISMLD-ASK ")) return;
      let answer;
      try {
        answer = await ask(line.slice("ISMLD-ASK ".length));
      } catch (e) {
        answer = `error ${e.message}`;
      }
      child.stdin.write(answer + "\n");
    });
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`mono ${exe} exited ${code}\n${out}\n${err}`));
    });
  });
}

test("the C# client's tests pass against the Worker (unit, end-to-end, restart, JS interop)", async () => {
  const js = new Connection({ url: w.url, credentials: { token: ADMIN_TOKEN } });
  let responder;
  const ask = async (what) => {
    const [verb, topic, json] = what.split(" ");
    if (verb === "restart") {
      // A runtime restart: the same storage directory, the same port.
      await w.stop();
      w = await startWorker({ persist: dir, port });
      return "restarted";
    }
    if (verb === "js-responder") {
      responder ??= js.subscribe({ topic: "rpc.js.add", channel: "js-adders" }, (msg) => msg.respond({ sum: msg.data.a + msg.data.b }));
      if (responder.state === "idle") await responder.start();
      return "ready rpc.js.add";
    }
    if (verb === "js-request") {
      const reply = await js.request(topic, JSON.parse(json), { timeoutMs: 10_000 });
      return `reply ${JSON.stringify(reply.data)}`;
    }
    return `unknown ${what}`;
  };
  const started = Date.now();
  let out;
  try {
    out = await mono("Ismld.Tests.exe", { env: { ISMLD_ASK: "1" }, ask });
  } finally {
    await js.close();
  }
  const summary = out.match(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/m);
  assert.ok(summary, `no closing line:\n${out}`);
  assert.equal(Number(summary[2]), 0, out);
  assert.ok(Number(summary[1]) >= 40, `too few tests ran:\n${out}`);
  for (const name of ["ReconnectAfterARuntimeRestartWithNoLoss", "RequestToAJsResponder", "RespondToAJsRequester", "CheckpointIsRestoredAfterAConsumerIsKilledMidHandler"]) {
    assert.match(out, new RegExp(`^PASS \\w+\\.${name} `, "m"), `${name} did not pass:\n${out}`);
  }
  console.log(`C# runner: ${summary[0]} in ${Date.now() - started} ms`);
});

test("the C# examples run against the Worker: publisher, checkpointing subscriber, request-response", async () => {
  let subscribed;
  const ready = new Promise((r) => (subscribed = r));
  const sub = mono("examples/Subscriber.exe", {
    env: { ISMLD_EXIT_AFTER: "2" },
    onLine: (line) => line.startsWith("subscribed as") && subscribed(line),
  });
  const line = await Promise.race([ready, sub]);
  assert.match(line, /^subscribed as \S+ \[DEV\]OnPingReceivedHandler@\[DEV\]OnPingSent$/);
  const pub = await mono("examples/Publisher.exe");
  assert.match(pub, /published \S+ seq \d+ partition 0/);
  assert.match(pub, /published synchronously seq \d+/);
  assert.match(pub, /idempotent (\d+) \1 duplicate: true/);
  assert.match(pub, /batch seqs \d+, \d+/);
  const out = await sub;
  assert.match(out, /handled seq \d+ \(attempt 1\): (Hello World|Hello again|once)/);
  const rr = await mono("examples/RequestResponse.exe");
  assert.match(rr, /1 \+ 2 = 3/);
  assert.match(rr, /2 \+ 2 = 4 \(rpc\.add\.response from \/admin\)/);
});

/** Whether a TCP port on 127.0.0.1 is free. */
function portFree(p) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(p, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

test("the seed's example compiles as written and runs against a Worker on 127.0.0.1:8787", async (t) => {
  // Compiled by scripts/build-dotnet.sh (before()): the README's block is Seed.cs's, verbatim.
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const seed = readFileSync(join(ROOT, "examples/dotnet/Seed.cs"), "utf8");
  const block = seed.split("// ---- the seed's example, verbatim ----\n")[1].split("            // ---- end")[0];
  const dedented = block.split("\n").map((l) => l.replace(/^ {12}/, "")).join("\n").trim();
  assert.ok(readme.includes("```csharp\n" + dedented + "\n```"), "README's .NET example differs from examples/dotnet/Seed.cs");
  // The seed hard-codes Host = "127.0.0.1:8787": run it there if that port is free.
  if (!(await portFree(8787))) return t.skip("127.0.0.1:8787 is in use (a dev server?): compiled, not run");
  const seedDir = tempDir();
  const bus = await startWorker({ persist: seedDir, port: 8787 });
  try {
    const made = await call(bus.url, "POST", "/v1/clients", { body: { login: "foo" }, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(made.status, 201);
    // The seed publishes before it subscribes: make its channel first, so the event reaches it.
    const put = await call(bus.url, "PUT", `/v1/topics/${encodeURIComponent("[DEV]OnPingSent")}/channels/${encodeURIComponent("[DEV]OnPingReceivedHandler")}`, {
      body: {},
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.ok(put.status === 201 || put.status === 200, put.text);
    const out = await mono("examples/Seed.exe", { env: { ISMLD_SECRET: made.body.secret } });
    assert.match(out, /^\S+\n/); // metadata.MsgId
    assert.match(out, /^\S+ \[DEV\]OnPingReceivedHandler@\[DEV\]OnPingSent$/m);
    assert.match(out, /^1 \+ 2 = 3$/m);
    assert.match(out, /^handled \S+$/m);
  } finally {
    await bus.stop();
    rmSync(seedDir, { recursive: true, force: true });
  }
});
