// Test harness: runs the built Worker (build/) in workerd through Miniflare, with real
// Durable Object SQLite storage persisted under a directory the test owns, and gives
// tests real HTTP and real WebSockets (the `ws` package) against it.
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import WebSocket from "ws";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** Debian's Chromium, headless, kept off the network (this machine's is closed). */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
];

/** A fresh persistence directory, removed by the caller with `rmSync`. */
export function tempDir() {
  return mkdtempSync(join(tmpdir(), "ismld-test-"));
}

/**
 * Runs `fn(url)` against a second runtime on a stopped Worker's persist directory `dir`,
 * serving its topic objects' storage (tests/e2e/inspect/worker.js: `GET ?name=` lists an
 * object's tables, `POST ?name=` runs SQL statements in it).
 */
export async function withStorage(dir, fn) {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      modules: [{ type: "ESModule", path: join(ROOT, "tests/e2e/inspect/worker.js") }],
      modulesRoot: join(ROOT, "tests/e2e/inspect"),
      compatibilityDate: "2025-11-01",
      durableObjects: { TOPIC: { className: "Topic", useSQLite: true } },
      resourcePersistencePath: dir,
    }),
  );
  try {
    return await fn((await mf.ready).toString());
  } finally {
    await mf.dispose();
  }
}

/**
 * Starts the Worker. `persist` is a directory (state survives `stop()` + `startWorker`
 * with the same directory); `vars` adds or overrides Worker vars; `port` 0 picks a free one;
 * `onLog(line)` receives every line the Worker logs; `assets: false` leaves out the
 * dashboard's static assets (the benchmarks measure the Worker alone).
 */
export async function startWorker({ persist, vars = {}, port = 0, onLog, assets = true } = {}) {
  const dir = persist ?? tempDir();
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port,
      modules: [
        { type: "ESModule", path: join(ROOT, "build/index.js") },
        { type: "CompiledWasm", path: join(ROOT, "build/index_bg.wasm") },
      ],
      modulesRoot: join(ROOT, "build"),
      compatibilityDate: "2025-11-01",
      durableObjects: {
        TOPIC: { className: "Topic", useSQLite: true },
        CLIENTS: { className: "Client", useSQLite: true },
        REGISTRY: { className: "Registry", useSQLite: true },
      },
      bindings: { ALLOW_ANONYMOUS: "true", ADMIN_TOKEN, ...vars },
      resourcePersistencePath: dir,
      // The dashboard's static assets (a router Worker in front of ours, as on Cloudflare).
      ...(assets ? { assets: { directory: join(ROOT, "build/assets"), routerConfig: { has_user_worker: true } } } : {}),
      // The Worker's structured logs go to `onLog`; otherwise only warnings and errors
      // are printed (ISMLD_TEST_LOGS=1 prints every line).
      handleStructuredLogs: (l) => {
        if (onLog) onLog(l.message);
        else if (process.env.ISMLD_TEST_LOGS || !l.message.includes('"level":"info"')) console.log(l.message);
      },
    }),
  );
  const url = (await mf.ready).toString().replace(/\/$/, "");
  let disposed;
  const stop = async () => {
    await (disposed ??= mf.dispose());
    if (!persist) rmSync(dir, { recursive: true, force: true });
  };
  return {
    url,
    dir,
    /** Stops the runtime (idempotent); state stays in `dir` if it was given as `persist`, else goes with it. */
    stop,
    destroy: stop,
  };
}

let counter = 0;
/** A topic name unique to this test run. */
export function uniqueName(prefix = "t") {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** fetch with JSON helpers; returns { status, body, text, headers }. */
export async function call(url, method, path, { body, headers = {}, raw } = {}) {
  const init = { method, headers: { ...headers } };
  if (raw !== undefined) init.body = raw;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["content-type"] ??= "application/json";
  }
  const res = await fetch(url + path, init);
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, body: json, text, headers: res.headers };
}

/** `GET /v1/topics/{topic}`: the whole answer, or one channel's stats. */
export async function topicStats(url, topic, channel, headers = {}) {
  const r = await call(url, "GET", `/v1/topics/${encodeURIComponent(topic)}`, { headers });
  return channel === undefined ? r : r.body.channels.find((c) => c.channel === channel);
}

/** A structured CloudEvent. */
export function cloudEvent(id, data, extra = {}) {
  return { specversion: "1.0", id, source: "/tests", type: "test.event", data, ...extra };
}

/** Publishes one structured CloudEvent; asserts nothing, returns the answer. */
export function publish(url, topic, event, query = "") {
  return call(url, "POST", `/v1/topics/${encodeURIComponent(topic)}/events${query}`, {
    raw: JSON.stringify(event),
    headers: { "content-type": "application/cloudevents+json" },
  });
}

/**
 * A consumer socket with an inbox: `next(pred)` waits for the next frame matching `pred`
 * (frames are kept in order; waiting is event-driven, with a generous safety timeout).
 */
export class Socket {
  constructor(url, path) {
    this.frames = [];
    this.waiters = [];
    this.closed = null;
    this.ws = new WebSocket(url.replace(/^http/, "ws") + path);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", resolve);
      this.ws.once("error", reject);
    });
    this.ws.on("message", (data) => {
      this.frames.push(JSON.parse(data.toString()));
      this.#wake();
    });
    this.ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake();
    });
  }

  static async consumer(url, topic, channel, hello = {}) {
    const s = new Socket(url, `/v1/topics/${encodeURIComponent(topic)}/channels/${encodeURIComponent(channel)}/ws`);
    await s.opened;
    s.send({ op: "hello", ...hello });
    const welcome = await s.next((f) => f.op === "welcome" || f.op === "error");
    if (welcome.op !== "welcome") throw new Error(`hello refused: ${JSON.stringify(welcome)}`);
    s.welcome = welcome;
    return s;
  }

  send(frame) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  #wake() {
    for (const w of [...this.waiters]) w();
  }

  /** Waits for (and removes) the first frame matching `pred`. */
  next(pred = () => true, timeoutMs = 20_000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.frames.findIndex(pred);
        if (i >= 0) {
          done();
          resolve(this.frames.splice(i, 1)[0]);
        } else if (this.closed) {
          done();
          reject(new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching frame within ${timeoutMs} ms; have ${JSON.stringify(this.frames)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
      check();
    });
  }

  /**
   * Waits until every frame the object sent before it read this one has arrived, and
   * returns the `msg` frames held. (Not a `ping`: the runtime answers pings itself, with
   * no ordering against the object's frames. An unknown op is answered by the object,
   * in order, with an error and the socket stays open.)
   */
  async barrier() {
    Socket.ref = (Socket.ref ?? 0) + 1;
    const ref = `barrier-${Socket.ref}`;
    this.send({ op: "barrier", ref });
    await this.next((f) => f.op === "error" && f.ref === ref);
    return this.frames.filter((f) => f.op === "msg");
  }

  /** The next `msg` frame. */
  msg(timeoutMs) {
    return this.next((f) => f.op === "msg", timeoutMs);
  }

  /** Sends a frame with a fresh `ref` and waits for its `ok` or `error`. */
  async request(frame) {
    Socket.ref = (Socket.ref ?? 0) + 1;
    const ref = `r${Socket.ref}`;
    this.send({ ...frame, ref });
    return this.next((f) => (f.op === "ok" || f.op === "error") && f.ref === ref);
  }

  /** Waits for the socket to close; returns { code, reason }. */
  async waitClosed(timeoutMs = 45_000) {
    if (this.closed) return this.closed;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("socket did not close")), timeoutMs);
      this.ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.closed;
  }

  close() {
    this.ws.close();
  }
}

// FNV-1a 32 as the contract defines it, to check where events land.
export function fnv1a32(text) {
  let h = 2166136261;
  for (const b of Buffer.from(text, "utf8")) {
    h ^= b;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h >>> 0;
}

/** Resolves when `check()` is true, re-checked on every `poke()`. */
export function waiter(check, what, timeoutMs = 30_000) {
  let poke;
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    poke = () => {
      if (check()) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
  return { done, poke: () => poke() };
}
