// What the CLI's tests share (cli.test.mjs, cli-more.test.mjs): a Worker with anonymous
// off per test file, and running js/bin/ismld.mjs against it, waited on by its output.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker, call, ADMIN_TOKEN, uniqueName } from "./harness.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = join(ROOT, "js", "bin", "ismld.mjs");
export const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** The Worker of the test file that calls {@link useWorker}. */
export const env = { w: undefined };

/** Starts a Worker (anonymous off) before the file's tests, stops it after. */
export function useWorker() {
  before(async () => {
    env.w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
  });
  after(async () => {
    await env.w?.destroy();
  });
}

/** The environment of a CLI run: none of the caller's ISMLD_* variables, then `env`. */
function cliEnv(vars) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ISMLD_")));
  return { ...base, ISMLD_URL: env.w.url, ISMLD_TOKEN: ADMIN_TOKEN, ...vars };
}

/**
 * Starts the CLI; `until(pred, what)` waits for its output to satisfy `pred`, `done` for
 * its exit: `{ code, signal, stdout, stderr }`.
 */
export function start(args, { env: vars = {}, input, cli = CLI } = {}) {
  const child = spawn(process.execPath, [cli, ...args], { env: cliEnv(vars), stdio: ["pipe", "pipe", "pipe"] });
  const p = { child, stdout: "", stderr: "", exit: undefined, waiters: new Set() };
  const wake = () => [...p.waiters].forEach((f) => f());
  child.stdout.on("data", (d) => ((p.stdout += d), wake()));
  child.stderr.on("data", (d) => ((p.stderr += d), wake()));
  p.done = new Promise((resolve) =>
    child.on("close", (code, signal) => {
      p.exit = { code, signal, stdout: p.stdout, stderr: p.stderr };
      wake();
      resolve(p.exit);
    }),
  );
  if (input !== undefined) child.stdin.end(input);
  else child.stdin.end();
  p.until = (pred, what, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (pred(p)) finish(resolve);
        else if (p.exit) finish(() => reject(new Error(`exited (${p.exit.code}) before ${what}:\n${p.stdout}\n${p.stderr}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms:\n${p.stdout}\n${p.stderr}`))), timeoutMs);
      const finish = (f) => {
        clearTimeout(timer);
        p.waiters.delete(check);
        f();
      };
      p.waiters.add(check);
      check();
    });
  return p;
}

/** Runs the CLI to its end. */
export const ismld = (args, options) => start(args, options).done;
export const lines = (text) => text.split("\n").filter(Boolean);
export const jsonLines = (text) => lines(text).map((l) => JSON.parse(l));

/** A port nothing listens on. */
export async function closedPort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** A topic with a channel made before any publish. */
export async function topicWithChannel(prefix, channel = "c") {
  const topic = uniqueName(prefix);
  assert.equal((await call(env.w.url, "PUT", `/v1/topics/${topic}/channels/${channel}`, { headers: ADMIN })).status, 201);
  return topic;
}
