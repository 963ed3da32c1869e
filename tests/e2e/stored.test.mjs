// Nothing is stored before credentials are accepted (contract section 6), checked in
// storage itself: after upgrades without credentials, refused hellos and refused
// requests, the topic objects they reached hold no table (read by a second runtime on
// the stopped Worker's persist directory), while a topic with an accepted publish does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { withStorage, startWorker, tempDir, uniqueName, call, cloudEvent, Socket, ADMIN_TOKEN } from "./harness.mjs";

/** The tables each named topic object holds in `dir`. */
function storedTables(dir, names) {
  return withStorage(dir, async (url) => {
    const out = {};
    for (const n of names) out[n] = await (await fetch(`${url}?name=${encodeURIComponent(n)}`)).json();
    return out;
  });
}

test("upgrades without credentials, refused hellos and refused requests leave no table in the topic objects", async () => {
  const dir = tempDir();
  const w = await startWorker({ persist: dir, vars: { ALLOW_ANONYMOUS: "false" } });
  const kept = uniqueName("kept");
  const silent = uniqueName("silent");
  const refusedHello = uniqueName("refused");
  const publisher = uniqueName("pub");
  const refusedCall = uniqueName("call");
  try {
    const accepted = await call(w.url, "POST", `/v1/topics/${kept}/events`, {
      raw: JSON.stringify(cloudEvent("k-1", 1)),
      headers: { "content-type": "application/cloudevents+json", authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(accepted.status, 201);
    const quiet = new Socket(w.url, `/v1/topics/${silent}/channels/c/ws`);
    await quiet.opened;
    const bad = new Socket(w.url, `/v1/topics/${refusedHello}/channels/c/ws`);
    await bad.opened;
    bad.send({ op: "hello", login: "nobody", secret: "wrong-secret-0123456789" });
    await bad.next((f) => f.op === "error");
    const pub = new Socket(w.url, `/v1/topics/${publisher}/ws`);
    await pub.opened;
    pub.send({ op: "hello", token: "not-a-token" });
    await pub.next((f) => f.op === "error");
    const refused = await call(w.url, "POST", `/v1/topics/${refusedCall}/events`, {
      raw: JSON.stringify(cloudEvent("r-1", 1)),
      headers: { "content-type": "application/cloudevents+json" },
    });
    assert.equal(refused.status, 401);
    assert.equal((await call(w.url, "GET", `/v1/topics/${silent}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status, 404);
    for (const s of [quiet, bad, pub]) s.close();
  } finally {
    await w.stop();
  }
  try {
    const tables = await storedTables(dir, [kept, silent, refusedHello, publisher, refusedCall]);
    assert.ok(tables[kept].tables.includes("events"), `the accepted publish stored its topic: ${JSON.stringify(tables[kept])}`);
    for (const n of [silent, refusedHello, publisher, refusedCall]) {
      assert.deepEqual(tables[n], { tables: [], meta_rows: 0 }, n);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
