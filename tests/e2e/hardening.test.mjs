// Hostile input, tried as an attacker would with anonymous access off (contract section
// 6): each attempt gets its contract status and code, and changes nothing (topic list,
// stats, seq).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import WebSocket from "ws";
import { startWorker, call, cloudEvent, uniqueName, Socket, ADMIN_TOKEN } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false", AUTH_CACHE_TTL_MS: "500", MAX_CHANNELS: "3" } });
});
after(async () => {
  await w?.destroy();
});

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const basic = (login, secret) => ({ authorization: `Basic ${Buffer.from(`${login}:${secret}`).toString("base64")}` });
const structured = (e) => ({ raw: JSON.stringify(e), headers: { "content-type": "application/cloudevents+json" } });

async function client(login, extra = {}) {
  const r = await call(w.url, "POST", "/v1/clients", { body: { login, ...extra }, headers: admin });
  assert.equal(r.status, 201, r.text);
  return { login, secret: r.body.secret, auth: basic(login, r.body.secret) };
}

const topics = async () => (await call(w.url, "GET", "/v1/topics", { headers: admin })).body.topics.map((t) => t.topic);
const stats = (t) => call(w.url, "GET", `/v1/topics/${encodeURIComponent(t)}`, { headers: admin });

/** An upgrade attempt: resolves with the refusal's status and body, or the open socket. */
function upgrade(path, headers = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(w.url.replace(/^http/, "ws") + path, { headers });
    ws.once("open", () => resolve({ ws }));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body: body ? JSON.parse(body) : undefined }));
    });
    ws.once("error", () => {});
  });
}

test("upgrades that never say hello store nothing, and a topic holds at most 1,000 of them", async (t) => {
  const before = await topics();
  const names = Array.from({ length: 20 }, () => uniqueName("ghost"));
  const ghosts = await Promise.all(names.map((n) => upgrade(`/v1/topics/${n}/channels/c/ws`)));
  assert.ok(ghosts.every((g) => g.ws));
  assert.deepEqual(await topics(), before, "no topic and no registry entry for sockets without credentials");
  for (const n of names.slice(0, 3)) assert.equal((await stats(n)).status, 404);
  const one = uniqueName("crowd");
  const crowd = [];
  const t0 = Date.now();
  for (let i = 0; i < 1000; i++) crowd.push(upgrade(`/v1/topics/${one}/ws`));
  const opened = await Promise.all(crowd);
  assert.ok(opened.every((o) => o.ws), "1,000 pending sockets are accepted");
  const refused = await upgrade(`/v1/topics/${one}/ws`);
  // The first ones are closed at their 10 s hello deadline: only a crowd gathered in
  // time is a full one.
  if (Date.now() - t0 < 9_000) {
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error.code, "unavailable");
  } else t.diagnostic(`the crowd took ${Date.now() - t0} ms to gather: the 1,001st was not checked`);
  for (const o of [...opened, ...ghosts]) o.ws.close();
  assert.equal((await stats(one)).status, 404, "still nothing stored");
});

test("credentials on the upgrade: wrong ones are refused before it; right ones need no credentials in hello", async () => {
  const t = uniqueName("up");
  const c = await client(uniqueName("up"), { subscribe: ["other.*"], publish: ["*"] });
  const wrong = await upgrade(`/v1/topics/${t}/channels/c/ws`, basic(c.login, "nope"));
  assert.deepEqual([wrong.status, wrong.body.error.code], [401, "unauthorized"]);
  const badToken = await upgrade(`/v1/topics/${t}/channels/c/ws?access_token=forged.token.here`);
  assert.equal(badToken.status, 401);
  const forbidden = await upgrade(`/v1/topics/${t}/channels/c/ws`, c.auth);
  assert.deepEqual([forbidden.status, forbidden.body.error.code], [403, "forbidden"]);
  assert.equal((await stats(t)).status, 404, "refused upgrades created nothing");
  const p = await client(uniqueName("up"));
  const { token } = (await call(w.url, "POST", "/v1/tokens", { body: {}, headers: p.auth })).body;
  const s = new Socket(w.url, `/v1/topics/${t}/channels/c/ws?access_token=${encodeURIComponent(token)}`);
  await s.opened;
  s.send({ op: "hello" });
  assert.equal((await s.next((f) => f.op === "welcome" || f.op === "error")).op, "welcome", "a browser's token on the upgrade");
  s.close();
});

test("reserved sources: /clients/{another login} is refused; ids the bus makes cannot be pre-empted", async () => {
  const t = uniqueName("src");
  const bob = await client(uniqueName("bob"));
  const mallory = await client(uniqueName("mal"));
  const forged = await call(w.url, "POST", `/v1/topics/${t}/events`, {
    ...structured(cloudEvent("0000000000000001", 1, { source: `/clients/${bob.login}` })),
    headers: { ...structured({}).headers, ...mallory.auth },
  });
  assert.deepEqual([forged.status, forged.body.error.code], [403, "forbidden"]);
  assert.equal((await stats(t)).status, 404, "nothing stored");
  const own = await call(w.url, "POST", `/v1/topics/${t}/events`, {
    ...structured(cloudEvent("mine", 1, { source: `/clients/${mallory.login}` })),
    headers: { ...structured({}).headers, ...mallory.auth },
  });
  assert.equal(own.status, 201, "its own /clients/ source is allowed");
  // Bob's plain publishes get random ids, so guessing them in advance is useless.
  const a = await call(w.url, "POST", `/v1/topics/${t}/events`, { body: { n: 1 }, headers: bob.auth });
  const b = await call(w.url, "POST", `/v1/topics/${t}/events`, { body: { n: 2 }, headers: bob.auth });
  assert.deepEqual([a.body.duplicate, b.body.duplicate], [false, false]);
  const dead = await call(w.url, "PUT", `/v1/topics/${t}/channels/peek`, { body: { from_seq: 1 }, headers: admin });
  assert.equal(dead.status, 201);
  const s = await Socket.consumer(w.url, t, "peek", { token: ADMIN_TOKEN, max_in_flight: 10 });
  const ids = (await s.barrier()).map((m) => m.event.id);
  assert.ok(ids.slice(1).every((id) => /^[0-9a-f]{24}$/.test(id)), `random ids: ${ids}`);
  s.close();
});

test("bodies are capped while read, chunked ones too: 413 and nothing changes", async () => {
  const t = uniqueName("big");
  assert.equal((await call(w.url, "POST", `/v1/topics/${t}/events`, { body: { seed: 1 }, headers: admin })).status, 201);
  const chunked = (path, bytes, contentType) =>
    new Promise((resolve, reject) => {
      const u = new URL(w.url + path);
      const headers = { ...admin, "content-type": contentType, "transfer-encoding": "chunked" };
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode, body: JSON.parse(text || "{}") }));
      });
      req.on("error", reject);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      for (let sent = 0; sent < bytes; sent += chunk.length) req.write(chunk);
      req.end();
    });
  const r = await chunked(`/v1/topics/${t}/events`, 6 * 1024 * 1024, "text/plain");
  assert.deepEqual([r.status, r.body.error?.code], [413, "payload_too_large"]);
  const seek = await chunked(`/v1/topics/${t}/channels/c/seek`, 128 * 1024, "application/json");
  assert.equal(seek.status, 413, "seek bodies are capped at 64 KiB");
  const redrive = await chunked(`/v1/topics/${t}/channels/c/dead/redrive`, 128 * 1024, "application/json");
  assert.equal(redrive.status, 413);
  assert.equal((await stats(t)).body.seq, 1, "nothing appended");
});

test("dead-letter listings are paged by bytes as well as by count, with a cursor", async () => {
  const t = uniqueName("dl");
  const c = await Socket.consumer(w.url, t, "c", { token: ADMIN_TOKEN, max_in_flight: 20, max_attempts: 1 });
  const pad = "x".repeat(700 * 1024);
  for (let i = 0; i < 12; i++) {
    const r = await call(w.url, "POST", `/v1/topics/${t}/events`, { body: { i, pad }, headers: admin });
    assert.equal(r.status, 201);
  }
  for (const m of await c.barrier()) await c.request({ op: "req", id: m.id });
  let cursor;
  let pages = 0;
  let seen = 0;
  do {
    const q = cursor ? `&cursor=${cursor}` : "";
    const r = await call(w.url, "GET", `/v1/topics/${t}/channels/c/dead?limit=1000${q}`, { headers: admin });
    assert.equal(r.status, 200);
    assert.ok(r.text.length < 6 * 1024 * 1024, `a page is bounded: ${r.text.length} bytes`);
    seen += r.body.messages.length;
    cursor = r.body.cursor;
    pages += 1;
  } while (cursor && pages < 10);
  assert.equal(seen, 12);
  assert.ok(pages >= 2, `${pages} pages`);
  c.close();
});

test("a client's token is signed with a generated key: another deployment with the same admin token refuses it", async () => {
  const c = await client(uniqueName("tok"));
  const { token } = (await call(w.url, "POST", "/v1/tokens", { body: {}, headers: c.auth })).body;
  assert.equal((await call(w.url, "GET", "/v1/topics/x", { headers: { authorization: `Bearer ${token}` } })).status, 404, "accepted here");
  const other = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
  try {
    const r = await call(other.url, "GET", "/v1/topics/x", { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 401, "not derivable from ADMIN_TOKEN");
  } finally {
    await other.destroy();
  }
});

test("a plain JSON body is delivered byte for byte", async () => {
  const t = uniqueName("bytes");
  const s = await Socket.consumer(w.url, t, "c", { token: ADMIN_TOKEN });
  const raw = '{"z": 1, "a": 12345678901234567890, "pi": 3.14159265358979323846264338327950288, "s": "\\u00e9"}';
  // Listening first: the delivery can come before the publish's answer.
  const delivered = new Promise((resolve) => s.ws.once("message", (d) => resolve(d.toString())));
  assert.equal((await call(w.url, "POST", `/v1/topics/${t}/events`, { raw, headers: { ...admin, "content-type": "application/json" } })).status, 201);
  const text = await delivered;
  assert.ok(text.includes(raw), `data unchanged: ${text}`);
  s.close();
});

test("channels per topic are capped (MAX_CHANNELS = 3 here): 409, nothing made", async () => {
  const t = uniqueName("chans");
  for (const c of ["a", "b", "c"]) assert.equal((await call(w.url, "PUT", `/v1/topics/${t}/channels/${c}`, { headers: admin })).status, 201);
  const r = await call(w.url, "PUT", `/v1/topics/${t}/channels/d`, { headers: admin });
  assert.deepEqual([r.status, r.body.error.code], [409, "conflict"]);
  assert.equal((await stats(t)).body.channels.length, 3);
});

test("a deleted client's silent socket stops receiving: closed 4001 once deliveries reach it", async () => {
  const t = uniqueName("silent");
  const c = await client(uniqueName("quiet"));
  const s = await Socket.consumer(w.url, t, "c", { login: c.login, secret: c.secret, max_in_flight: 100 });
  assert.equal((await call(w.url, "DELETE", `/v1/clients/${c.login}`, { headers: admin })).status, 204);
  const deadline = Date.now() + 20_000;
  while (!s.closed && Date.now() < deadline) {
    await call(w.url, "POST", `/v1/topics/${t}/events`, { body: { n: 1 }, headers: admin });
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.equal(s.closed?.code, 4001, "the socket never sent a frame, and still learned of the revocation");
});

test("a deleted client's socket signed in on the upgrade is closed 4001 too (the hello carried no credentials)", async () => {
  const t = uniqueName("upgraded");
  const c = await client(uniqueName("upg"));
  const { ws } = await upgrade(`/v1/topics/${t}/channels/c/ws`, c.auth);
  assert.ok(ws, "the upgrade with Basic credentials is accepted");
  const frames = [];
  const welcome = new Promise((resolve) =>
    ws.on("message", (d) => {
      frames.push(JSON.parse(d.toString()));
      if (frames.at(-1).op === "welcome") resolve();
    }),
  );
  const closed = new Promise((resolve) => ws.once("close", (code) => resolve(code)));
  ws.send(JSON.stringify({ op: "hello", max_in_flight: 100 }));
  await welcome;
  const deadline = Date.now() + 20_000;
  assert.equal((await call(w.url, "DELETE", `/v1/clients/${c.login}`, { headers: admin })).status, 204);
  let code;
  closed.then((c) => (code = c));
  while (code === undefined && Date.now() < deadline) {
    await call(w.url, "POST", `/v1/topics/${t}/events`, { body: { n: 1 }, headers: admin });
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.equal(code, 4001, `closed once the revocation reached it (${frames.length} frames)`);
});

test("frames pipelined behind a hello that signs in wait for it and keep their order", async () => {
  const t = uniqueName("pipelined");
  const c = await client(uniqueName("pipe"));
  // Past the credentials cache's lifetime (AUTH_CACHE_TTL_MS = 500 here), the hello's
  // check waits on a lookup in the client's object, as a first one does in production.
  await new Promise((r) => setTimeout(r, 600));
  const { ws } = await upgrade(`/v1/topics/${t}/ws`);
  const frames = [];
  const answered = new Promise((resolve, reject) => {
    ws.on("message", (d) => {
      frames.push(JSON.parse(d.toString()));
      if (frames.filter((f) => f.op === "ok").length === 3) resolve();
    });
    ws.once("close", (code) => reject(new Error(`closed ${code}: ${JSON.stringify(frames)}`)));
  });
  ws.send(JSON.stringify({ op: "hello", login: c.login, secret: c.secret }));
  for (let i = 0; i < 3; i++) ws.send(JSON.stringify({ op: "pub", data: { i }, ref: i }));
  await answered;
  assert.equal(frames[0].op, "welcome", JSON.stringify(frames));
  assert.deepEqual(frames.slice(1).map((f) => [f.op, f.ref, f.seq]), [["ok", 0, 1], ["ok", 1, 2], ["ok", 2, 3]]);
  ws.close();
});

test("a duplicate request waits on the same response as the first", async () => {
  const t = uniqueName("dup");
  const r = await Socket.consumer(w.url, t, "responders", { token: ADMIN_TOKEN });
  const req = () =>
    call(w.url, "POST", `/v1/topics/${t}/requests?timeout_ms=10000`, { ...structured(cloudEvent("same-request", { a: 1 })), headers: { ...structured({}).headers, ...admin } });
  const first = req();
  const second = req();
  const m = await r.msg();
  // A request sent after both, on the same path, has been served: so have they.
  await stats(t);
  await r.request({ op: "respond", id: m.id, data: { ok: true } });
  const [a, b] = await Promise.all([first, second]);
  assert.deepEqual([a.status, b.status], [200, 200]);
  assert.deepEqual(a.body.data, b.body.data);
  r.close();
});

test("errors say what is wrong: a mistyped admin token, a client on an admin endpoint, the limit that applies", async () => {
  const typo = await call(w.url, "GET", "/v1/topics", { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } });
  assert.equal(typo.status, 401);
  assert.match(typo.body.error.message, /wrong admin token/);
  const c = await client(`errs-${Date.now()}`);
  const listed = await call(w.url, "GET", "/v1/topics", { headers: c.auth });
  assert.equal(listed.status, 403, "a known caller without the right: forbidden, not unauthorized");
  assert.match(listed.body.error.message, /admin token/);
  const t = `limits-${Date.now()}`;
  const big = "x".repeat((1 << 20) + 10);
  const one = await call(w.url, "POST", `/v1/topics/${t}/events`, { raw: big, headers: { ...admin, "content-type": "text/plain" } });
  assert.equal(one.status, 413);
  assert.match(one.body.error.message, /MAX_EVENT_BYTES/);
  const many = await call(w.url, "POST", `/v1/topics/${t}/events`, {
    raw: `[${JSON.stringify("y".repeat(5 << 20))}]`,
    headers: { ...admin, "content-type": "application/cloudevents-batch+json" },
  });
  assert.equal(many.status, 413);
  assert.match(many.body.error.message, /MAX_BATCH_BYTES/);
});
