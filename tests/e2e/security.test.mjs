// Secure by default: credentials, clients, tokens, permissions, revocation. The Worker
// runs with ALLOW_ANONYMOUS = "false", as a deployment does.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { startWorker, call, cloudEvent, uniqueName, Socket, ADMIN_TOKEN } from "./harness.mjs";

let w;
before(async () => {
  w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false", AUTH_CACHE_TTL_MS: "500" } });
});
after(async () => {
  await w?.destroy();
});

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const basic = (login, secret) => ({ authorization: `Basic ${Buffer.from(`${login}:${secret}`).toString("base64")}` });
const bearer = (token) => ({ authorization: `Bearer ${token}` });
const ce = (id) => ({ raw: JSON.stringify(cloudEvent(id, 1)), headers: { "content-type": "application/cloudevents+json" } });
const pub = (topic, id, headers) =>
  call(w.url, "POST", `/v1/topics/${topic}/events`, { ...ce(id), headers: { ...ce(id).headers, ...headers } });

async function newClient(body) {
  const r = await call(w.url, "POST", "/v1/clients", { body, headers: admin });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function seq(topic) {
  const r = await call(w.url, "GET", `/v1/topics/${topic}`, { headers: admin });
  return r.status === 404 ? 0 : r.body.seq;
}

/** Opens a socket and says hello; resolves with the welcome or the close. */
async function hello(path, frame) {
  const s = new Socket(w.url, path);
  await s.opened;
  s.send({ op: "hello", ...frame });
  try {
    s.welcome = await s.next((f) => f.op === "welcome");
  } catch {
    /* closed */
  }
  return s;
}

test("every endpoint refuses missing or wrong credentials with 401 and changes nothing", async () => {
  const topic = uniqueName();
  assert.equal((await pub(topic, "seed", admin)).status, 201);
  const endpoints = [
    ["POST", `/v1/topics/${topic}/events`, ce("x")],
    ["GET", `/v1/topics/${topic}`, {}],
    ["DELETE", `/v1/topics/${topic}`, {}],
    ["PUT", `/v1/topics/${topic}/channels/c`, {}],
    ["DELETE", `/v1/topics/${topic}/channels/c`, {}],
    ["POST", `/v1/topics/${topic}/channels/c/pause`, {}],
    ["POST", `/v1/topics/${topic}/channels/c/seek`, { body: { seq: 1 } }],
    ["GET", `/v1/topics/${topic}/channels/c/dead`, {}],
    ["POST", `/v1/topics/${topic}/channels/c/dead/redrive`, { body: {} }],
    ["POST", "/v1/clients", { body: { login: "mallory" } }],
    ["GET", "/v1/clients", {}],
    ["POST", "/v1/clients/someone/secret", {}],
    ["DELETE", "/v1/clients/someone", {}],
    ["POST", "/v1/tokens", { body: {} }],
    ["GET", "/v1/topics", {}],
  ];
    // A revoked client's secret, an expired token and a tampered token are as good as none.
  const revokedLogin = uniqueName("gone");
  const revoked = await newClient({ login: revokedLogin });
  const tokenOf = async (ttl_s) =>
    (await call(w.url, "POST", "/v1/tokens", { body: { ttl_s }, headers: basic(revokedLogin, revoked.secret) })).body;
  const expiring = await tokenOf(1);
  const valid = await tokenOf(600);
  const [h, p, sig] = valid.token.split(".");
  const claims = JSON.parse(Buffer.from(p, "base64url"));
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: "admin" })).toString("base64url")}.${sig}`;
  assert.equal((await call(w.url, "DELETE", `/v1/clients/${revokedLogin}`, { headers: admin })).status, 204);
  while (Date.now() <= expiring.expires_at) await new Promise((r) => setTimeout(r, expiring.expires_at - Date.now() + 5));
  const wrong = [
    {},
    basic("nobody", "x"),
    basic(revokedLogin, revoked.secret),
    bearer(expiring.token),
    bearer(tampered),
    bearer(valid.token),
    bearer("not-a-token"),
    bearer(`${ADMIN_TOKEN}x`),
    { authorization: "Digest abc" },
  ];
  for (const [method, path, init] of endpoints) {
    for (const headers of wrong) {
      const r = await call(w.url, method, path, { ...init, headers: { ...(init.headers ?? {}), ...headers } });
      assert.equal(r.status, 401, `${method} ${path} ${JSON.stringify(headers)}: ${r.text}`);
      assert.equal(r.body.error.code, "unauthorized");
    }
  }
  assert.equal(await seq(topic), 1, "nothing was appended");
  const list = await call(w.url, "GET", "/v1/clients", { headers: admin });
  assert.ok(!list.body.clients.some((c) => c.login === "mallory"));
});

test("a client without permission gets 403 on every topic endpoint and on admin ones, changing nothing", async () => {
  const topic = uniqueName();
  assert.equal((await pub(topic, "seed", admin)).status, 201);
  assert.equal((await call(w.url, "PUT", `/v1/topics/${topic}/channels/c`, { headers: admin })).status, 201);
  const login = uniqueName("none");
  const { secret } = await newClient({ login, publish: ["other.*"], subscribe: ["other.*"] });
  const me = basic(login, secret);
  const token = (await call(w.url, "POST", "/v1/tokens", { body: {}, headers: me })).body.token;
  for (const headers of [me, bearer(token)]) {
    for (const [method, path, init, status] of [
      ["POST", `/v1/topics/${topic}/events`, ce("x"), 403],
      ["GET", `/v1/topics/${topic}`, {}, 403],
      ["PUT", `/v1/topics/${topic}/channels/d`, {}, 403],
      ["DELETE", `/v1/topics/${topic}/channels/c`, {}, 403],
      ["POST", `/v1/topics/${topic}/channels/c/pause`, {}, 403],
      ["POST", `/v1/topics/${topic}/channels/c/unpause`, {}, 403],
      ["POST", `/v1/topics/${topic}/channels/c/seek`, { body: { seq: 1 } }, 403],
      ["GET", `/v1/topics/${topic}/channels/c/dead`, {}, 403],
      ["POST", `/v1/topics/${topic}/channels/c/dead/redrive`, { body: {} }, 403],
      ["DELETE", `/v1/topics/${topic}`, {}, 403],
      ["GET", "/v1/clients", {}, 403],
      ["POST", "/v1/clients", { body: { login: "x" } }, 403],
      ["POST", `/v1/clients/${login}/secret`, {}, 403],
      ["DELETE", `/v1/clients/${login}`, {}, 403],
    ]) {
      const r = await call(w.url, method, path, { ...init, headers: { ...(init.headers ?? {}), ...headers } });
      assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
      assert.equal(r.body.error.code, status === 403 ? "forbidden" : "unauthorized");
    }
  }
  const stats = await call(w.url, "GET", `/v1/topics/${topic}`, { headers: admin });
  assert.equal(stats.body.seq, 1);
  assert.deepEqual(stats.body.channels.map((c) => [c.channel, c.paused]), [["c", false]]);
});

test("clients: created with a generated secret shown once, listed without it, 409 on a second create", async () => {
  const login = uniqueName("c");
  const created = await newClient({ login, publish: ["orders.*"], subscribe: ["audit"] });
  assert.equal(created.login, login);
  assert.match(created.secret, /^[A-Za-z0-9_-]{43,}$/, "at least 256 bits, URL-safe");
  const again = await call(w.url, "POST", "/v1/clients", { body: { login }, headers: admin });
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, "conflict");
  const list = await call(w.url, "GET", "/v1/clients", { headers: admin });
  const entry = list.body.clients.find((c) => c.login === login);
  assert.deepEqual(entry.publish, ["orders.*"]);
  assert.deepEqual(entry.subscribe, ["audit"]);
  assert.ok(!Number.isNaN(Date.parse(entry.created)));
  assert.ok(!list.text.includes(created.secret), "never a secret in a listing");
  const dflt = await newClient({ login: uniqueName("d") });
  const listed = (await call(w.url, "GET", "/v1/clients", { headers: admin })).body.clients.find((c) => c.login === dflt.login);
  assert.deepEqual([listed.publish, listed.subscribe], [["*"], ["*"]]);
  for (const bad of [{ login: "a@b" }, { login: "x", publish: ["a b"] }, { login: "x", publish: "orders" }, {}, { login: "y", extra: 1 }]) {
    const r = await call(w.url, "POST", "/v1/clients", { body: bad, headers: admin });
    assert.equal(r.status, 400, JSON.stringify(bad));
  }
});

test("secrets are stored only as hashes: never in the persisted files", async () => {
  const created = await newClient({ login: uniqueName("h") });
  const files = [];
  const walk = (d) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(w.dir);
  assert.ok(files.length > 0);
  for (const f of files) assert.ok(!readFileSync(f).includes(created.secret), `secret found in ${f}`);
});

test("permissions: publish and subscribe patterns are checked on every endpoint and frame", async () => {
  const login = uniqueName("p");
  const { secret } = await newClient({ login, publish: ["orders.*"], subscribe: ["audit"] });
  const me = basic(login, secret);
  const ok = await pub("orders.created", "o1", me);
  assert.equal(ok.status, 201);
  const denied = await pub("payments", "p1", me);
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error.code, "forbidden");
  assert.equal(await seq("payments"), 0, "a forbidden publish appends nothing");
  assert.equal((await call(w.url, "GET", "/v1/topics/orders.created", { headers: me })).status, 200);
  assert.equal((await call(w.url, "GET", "/v1/topics/payments", { headers: me })).status, 403);
  assert.equal((await call(w.url, "PUT", "/v1/topics/orders.created/channels/x", { headers: me })).status, 403);
  assert.equal((await call(w.url, "PUT", "/v1/topics/audit/channels/x", { headers: me })).status, 201);
  assert.equal((await call(w.url, "DELETE", "/v1/topics/audit", { headers: me })).status, 403, "admin only");
  assert.equal((await call(w.url, "GET", "/v1/clients", { headers: me })).status, 403, "admin only");

  // Sockets: the hello carries the credentials.
  const sub = await hello("/v1/topics/audit/channels/c/ws", { login, secret });
  assert.ok(sub.welcome, "subscribe allowed on audit");
  const p = await sub.request({ op: "pub", data: { x: 1 } });
  assert.equal(p.code, "forbidden", "no publish permission on audit");
  sub.close();
  const noSub = await hello("/v1/topics/orders.created/channels/c/ws", { login, secret });
  assert.equal((await noSub.waitClosed()).code, 4003);
  const publisher = await hello("/v1/topics/orders.created/ws", { login, secret });
  assert.ok(publisher.welcome);
  const r = await publisher.request({ op: "pub", data: { n: 1 } });
  assert.equal(r.op, "ok");
  assert.equal(r.seq, 2);
  publisher.close();
  const noPub = await hello("/v1/topics/payments/ws", { login, secret });
  assert.equal((await noPub.waitClosed()).code, 4003);

  // Events the bus makes carry the client's source.
  const c = await hello("/v1/topics/orders.created/channels/all/ws", { token: ADMIN_TOKEN, max_in_flight: 10 });
  await pub("orders.created", "o3", admin);
  await call(w.url, "POST", "/v1/topics/orders.created/events", { body: { plain: true }, headers: me });
  const m = await c.next((f) => f.op === "msg" && f.event.data?.plain === true);
  assert.equal(m.event.source, `/clients/${login}`);
  c.close();
});

test("sockets: a wrong secret, no credentials, or no hello within 10 s close with 4001", async () => {
  const login = uniqueName("s");
  const { secret } = await newClient({ login });
  for (const frame of [{ login, secret: `${secret}x` }, {}, { login }, { token: "nope" }, { login: "ghost", secret }]) {
    const s = await hello("/v1/topics/t/channels/c/ws", frame);
    assert.equal((await s.waitClosed()).code, 4001, JSON.stringify(frame));
  }
    const silent = new Socket(w.url, "/v1/topics/t/channels/c/ws");
  await silent.opened;
  const t0 = Date.now();
  const why = await silent.next((f) => f.op === "error", 20_000);
  assert.equal(why.code, "unauthorized");
  assert.ok(Date.now() - t0 >= 9_000, "refused at the hello deadline, not before");
  // workerd completes the close handshake of a server-closed socket some seconds later.
  assert.equal((await silent.waitClosed(40_000)).code, 4001);
});

test("tokens: signed and expiring, usable as Bearer and in hello; tampered or expired ones are refused", async () => {
  const login = uniqueName("t");
  const { secret } = await newClient({ login });
  const r = await call(w.url, "POST", "/v1/tokens", { body: { ttl_s: 600 }, headers: basic(login, secret) });
  assert.equal(r.status, 201);
  const { token, expires_at } = r.body;
  assert.ok(expires_at > Date.now() + 590_000 && expires_at <= Date.now() + 601_000);
  assert.equal((await pub("tok", "t1", bearer(token))).status, 201);
  const s = await hello("/v1/topics/tok/channels/c/ws", { token });
  assert.ok(s.welcome);
  s.close();
  const [h, p, sig] = token.split(".");
  const claims = JSON.parse(Buffer.from(p, "base64url"));
  const forged = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 1e6 })).toString("base64url");
  for (const bad of [`${h}.${forged}.${sig}`, `${token}x`, token.slice(0, -2), "a.b.c"]) {
    assert.equal((await pub("tok", "t2", bearer(bad))).status, 401);
  }
  const dflt = await call(w.url, "POST", "/v1/tokens", { headers: basic(login, secret) });
  assert.ok(dflt.body.expires_at - Date.now() > 3_590_000, "default 1 h");
  for (const ttl of [0, 86_401, -1, "x"]) {
    const bad = await call(w.url, "POST", "/v1/tokens", { body: { ttl_s: ttl }, headers: basic(login, secret) });
    assert.equal(bad.status, 400, String(ttl));
  }
  assert.equal((await call(w.url, "POST", "/v1/tokens", { body: {}, headers: bearer(token) })).status, 401, "tokens come from Basic");
  assert.equal((await call(w.url, "POST", "/v1/tokens", { body: {}, headers: admin })).status, 401);
  const short = await call(w.url, "POST", "/v1/tokens", { body: { ttl_s: 1 }, headers: basic(login, secret) });
  const expiry = short.body.expires_at;
  // Wait for the expiry time to pass, then the token must be refused.
  while (Date.now() <= expiry) await new Promise((res) => setTimeout(res, expiry - Date.now() + 5));
  const expired = await pub("tok", "t3", bearer(short.body.token));
  assert.equal(expired.status, 401);
  assert.match(expired.body.error.message, /expired/);
});

test("rotate and delete: old secrets and tokens stop working, open sockets are closed at their next frame", async () => {
  const login = uniqueName("r");
  const { secret } = await newClient({ login });
  const { token } = (await call(w.url, "POST", "/v1/tokens", { body: {}, headers: basic(login, secret) })).body;
  const rotated = await call(w.url, "POST", `/v1/clients/${login}/secret`, { headers: admin });
  assert.equal(rotated.status, 200);
  assert.equal(rotated.body.login, login);
  assert.notEqual(rotated.body.secret, secret);
  assert.equal((await pub("rot", "a", basic(login, secret))).status, 401, "old secret");
  assert.equal((await pub("rot", "b", bearer(token))).status, 401, "token from before the rotation");
  const fresh = basic(login, rotated.body.secret);
  assert.equal((await pub("rot", "c", fresh)).status, 201);
  const s = await hello("/v1/topics/rot/channels/c/ws", { login, secret: rotated.body.secret });
  assert.ok(s.welcome);
  assert.equal((await call(w.url, "DELETE", `/v1/clients/${login}`, { headers: admin })).status, 204);
  assert.equal((await call(w.url, "DELETE", `/v1/clients/${login}`, { headers: admin })).status, 404);
  assert.equal((await pub("rot", "d", fresh)).status, 401, "deleted client");
  // The open socket is closed with 4001 at its first frame after the lookup cache
  // (AUTH_CACHE_TTL_MS = 500 here; 30 s by default) has expired. (A `ping` would not
  // do: the runtime answers it without waking the object.)
  const deadline = Date.now() + 10_000;
  while (!s.closed && Date.now() < deadline) {
    s.send({ op: "rdy", count: 1 });
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(s.closed?.code, 4001);
  assert.equal((await call(w.url, "POST", `/v1/clients/nobody-here/secret`, { headers: admin })).status, 404);
});

test("without ADMIN_TOKEN configured, admin endpoints answer 401", async () => {
  const w2 = await startWorker({ vars: { ADMIN_TOKEN: "", ALLOW_ANONYMOUS: "true" } });
  try {
    for (const [m, p] of [["GET", "/v1/clients"], ["POST", "/v1/clients"], ["DELETE", "/v1/topics/x"]]) {
            const body = m === "POST" ? { login: "x" } : undefined;
      const r = await call(w2.url, m, p, { body, headers: { authorization: "Bearer " } });
      assert.equal(r.status, 401, `${m} ${p}`);
      const anon = await call(w2.url, m, p, { body });
      assert.equal(anon.status, 401, `${m} ${p} anonymous`);
    }
  } finally {
    await w2.destroy();
  }
});
