// The package without a bus: its error and close code tables agree with the Rust ones
// (exported by the wasm), memory:// needs its own entry, ids without randomUUID, and the
// packed files (source maps ship with their sources).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CLIENT_CODES, CloseCode, Connection, InvalidRequestError, STATUS, uuid } from "../../js/dist/node.js";
import { closeCodes, errorCodes, partitionOf, spreadCredit } from "../../js/wasm/ismld.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

test("the TypeScript error codes and close codes are the Rust ones", () => {
  const wire = Object.keys(STATUS).filter((c) => !CLIENT_CODES.includes(c));
  assert.deepEqual(wire.sort(), JSON.parse(errorCodes()).sort(), "ErrorCode::ALL");
  assert.deepEqual(
    Object.entries(CloseCode).map(([name, code]) => [code, name]),
    JSON.parse(closeCodes()),
    "proto::close::ALL",
  );
});

test("client-side routing is the contract's FNV-1a rule; credit spreads at least 1 per partition", () => {
  const fnv = (text) => {
    let h = 2166136261;
    for (const b of new TextEncoder().encode(text)) h = Math.imul(h ^ b, 16777619) >>> 0;
    return h;
  };
  const keys = ["", "a", "user-1", "ü-ключ-🔑", "x".repeat(300), ...Array.from({ length: 200 }, (_, i) => `k${i * 7919}`)];
  for (const n of [2, 3, 4, 7, 64]) {
    for (const k of keys) {
      if (k) assert.equal(partitionOf(k, "/s", "id", n), fnv(k) % n, `key ${k} over ${n}`);
      assert.equal(partitionOf(undefined, "/src", k, n), fnv(`/src\n${k}`) % n, `id ${k} over ${n}`);
    }
    assert.equal(partitionOf("", "/s", "i", n), fnv("/s\ni") % n, "an empty key is no key");
    assert.equal(partitionOf(undefined, "/s", undefined, n), undefined, "no key, no id: any partition");
  }
  assert.equal(partitionOf("k", "/s", "i", 1), 0);
  assert.deepEqual([...spreadCredit(10, 4)], [3, 3, 2, 2]);
  assert.deepEqual([...spreadCredit(1, 3)], [1, 1, 1]);
});

test("memory:// from the main entry says to import ismld/memory", () => {
  assert.throws(
    () => new Connection({ url: "memory://" }),
    (e) => e instanceof InvalidRequestError && /import \{ Connection \} from "ismld\/memory"/.test(e.message),
  );
});

test("uuid() uses getRandomValues when randomUUID is missing (pages on plain http)", () => {
  const real = globalThis.crypto.randomUUID;
  try {
    Object.defineProperty(globalThis.crypto, "randomUUID", { value: undefined, configurable: true });
    const ids = new Set(Array.from({ length: 100 }, () => uuid()));
    assert.equal(ids.size, 100);
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  } finally {
    Object.defineProperty(globalThis.crypto, "randomUUID", { value: real, configurable: true });
  }
});

test("the package ships each source map with the source it points at", () => {
  const files = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", join(ROOT, "js")], { cwd: ROOT }).toString())[0].files.map((f) => f.path);
  const maps = files.filter((f) => f.endsWith(".js.map"));
  assert.ok(maps.length >= 10);
  for (const m of maps) {
    const src = m.replace(/^dist\//, "src/").replace(/\.js\.map$/, ".ts");
    assert.ok(files.includes(src) || src.endsWith(".d.ts"), `${m} -> ${src}`);
  }
  for (const f of ["wasm/ismld_bg.wasm", "wasm/ismld_memory_bg.wasm", "dist/workerd.js", "dist/memory-node.js"]) assert.ok(files.includes(f), f);
});

test("an answer without a contract error body is typed by its HTTP status", async () => {
  const { createServer } = await import("node:http");
  // A proxy or runtime page in front of the bus: a bare status, or a code this client does not know.
  const answers = {
    "/409": [409, "text/plain", "Conflict"],
    "/415": [415, "text/html", "<html>415</html>"],
    "/429": [429, "text/plain", ""],
    "/503": [503, "text/plain", "Service Unavailable"],
    "/507": [507, "text/plain", ""],
    "/504": [504, "text/plain", "gateway timeout"],
    "/422": [422, "text/plain", ""],
    "/500": [500, "text/plain", "oops"],
    "/new": [503, "application/json", JSON.stringify({ error: { code: "overloaded", message: "busy" } })],
    "/proxy": [404, "application/json", JSON.stringify({ error: "Not Found" })],
  };
  let route = "";
  const server = createServer((req, res) => {
    const [status, type, body] = answers[route];
    res.writeHead(status, { "content-type": type });
    res.end(body);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const bus = new Connection({ url: `http://127.0.0.1:${server.address().port}`, credentials: { token: "t" } });
  const codeOf = async (path) => {
    route = path;
    try {
      await bus.admin.stats("t");
    } catch (e) {
      return [e.constructor.name, e.code, e.status, e.message];
    }
    return ["no error"];
  };
  try {
    assert.deepEqual(await codeOf("/409"), ["InvalidRequestError", "conflict", 409, "Conflict"]);
    assert.deepEqual((await codeOf("/415")).slice(0, 3), ["InvalidRequestError", "unsupported_media_type", 415]);
    assert.deepEqual((await codeOf("/429")).slice(0, 3), ["IsmldError", "unavailable", 429]);
    assert.deepEqual((await codeOf("/503")).slice(0, 3), ["IsmldError", "unavailable", 503]);
    assert.deepEqual((await codeOf("/507")).slice(0, 3), ["LimitError", "storage_full", 507]);
    assert.deepEqual((await codeOf("/504")).slice(0, 3), ["TimeoutError", "timeout", 504]);
    assert.deepEqual((await codeOf("/422")).slice(0, 3), ["InvalidRequestError", "invalid_request", 422]);
    assert.deepEqual((await codeOf("/500")).slice(0, 3), ["IsmldError", "internal", 500]);
    assert.deepEqual(await codeOf("/new"), ["IsmldError", "unavailable", 503, "busy"]);
    assert.deepEqual(await codeOf("/proxy"), ["NotFoundError", "not_found", 404, '{"error":"Not Found"}']);
  } finally {
    await bus.close();
    server.close();
  }
});
