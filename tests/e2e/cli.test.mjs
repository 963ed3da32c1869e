// The ismld CLI (js/bin/ismld.mjs) against the real Worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker, call, cloudEvent, ADMIN_TOKEN, uniqueName } from "./harness.mjs";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "js", "bin", "ismld.mjs");
let w;
before(async () => {
  w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
});
after(async () => {
  await w?.destroy();
});

async function ismld(...args) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args, "--url", w.url], {
      env: { ...process.env, ISMLD_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test("clients add / list / rotate / remove, and token", async () => {
  const login = uniqueName("cli");
  const add = await ismld("clients", "add", login, "--publish", "orders.*,audit", "--subscribe", "audit");
  assert.equal(add.code, 0, add.stderr);
  const secret = add.stdout.match(/secret: (\S+)/)[1];
  assert.match(secret, /^[A-Za-z0-9_-]{43,}$/);
  const dup = await ismld("clients", "add", login);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /409 conflict/);
  const list = await ismld("clients", "list", "--json");
  const entry = JSON.parse(list.stdout).clients.find((c) => c.login === login);
  assert.deepEqual(entry.publish, ["orders.*", "audit"]);
  const token = await ismld("token", "--login", login, "--secret", secret, "--ttl", "60");
  assert.equal(token.code, 0, token.stderr);
  const t = token.stdout.trim();
  const pub = await call(w.url, "POST", "/v1/topics/orders.x/events", {
    raw: JSON.stringify(cloudEvent("c1", 1)),
    headers: { "content-type": "application/cloudevents+json", authorization: `Bearer ${t}` },
  });
  assert.equal(pub.status, 201);
  const rotate = await ismld("clients", "rotate", login);
  assert.equal(rotate.code, 0);
  assert.notEqual(rotate.stdout.match(/: (\S+)\n/)[1], secret);
  const remove = await ismld("clients", "remove", login);
  assert.equal(remove.code, 0);
  assert.match(remove.stdout, /removed/);
  const again = await ismld("clients", "remove", login);
  assert.equal(again.code, 1);
  const noAdmin = await promisify(execFile)(process.execPath, [CLI, "clients", "list", "--url", w.url], {
    env: { ...process.env, ISMLD_ADMIN_TOKEN: "" },
  }).catch((e) => e);
  assert.equal(noAdmin.code, 2);
  assert.match(noAdmin.stderr, /admin-token/);
});
