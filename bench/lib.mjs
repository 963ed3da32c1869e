// Shared pieces of the benchmarks: the targets (ismld, the JS baseline) behind one small
// interface, a consumer socket, and statistics. Everything runs on 127.0.0.1.
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import WebSocket from "ws";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker } from "../tests/e2e/harness.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Median, min and max of numbers. */
export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

/** The q-quantile (0..1) of sorted numbers. */
export function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Runs `fn` `n` times and returns the stats of its results. */
export async function repeat(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await fn(i));
  return stats(out);
}

let counter = 0;
export const topicName = (p) => `${p}-${process.pid}-${++counter}`;

export function event(i, extra = {}) {
  return { specversion: "1.0", id: `e-${i}-${counter}`, source: "/bench", type: "bench.event", data: { i, pad: "x".repeat(64), ...extra } };
}

/**
 * A consumer socket speaking the subset of ismld's protocol the baseline also speaks:
 * hello -> welcome, msg -> fin. `onMsg(frame)` runs for each message before its fin.
 */
export function consumer(url, { maxInFlight = 100, heartbeatMs, onMsg = () => {}, fin = true, batch = false } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, "ws"));
    ws.once("error", reject);
    ws.on("open", () => {
      const hello = { op: "hello", max_in_flight: maxInFlight };
      if (heartbeatMs) hello.heartbeat_ms = heartbeatMs;
      if (batch) hello.batch = true;
      ws.send(JSON.stringify(hello));
    });
    ws.on("message", (data) => {
      const text = data.toString();
      if (text.startsWith('{"op":"welcome"') || text.includes('"op":"welcome"')) return resolve(ws);
      const f = JSON.parse(text);
      if (f.op === "msg") {
        onMsg(f);
        if (fin) ws.send(`{"op":"fin","id":"${f.id}"}`);
      } else if (f.op === "msgs") {
        for (const m of f.messages) onMsg(m);
        if (fin) ws.send(JSON.stringify({ op: "fin", ids: f.messages.map((m) => m.id) }));
      } else if (f.op === "error" && !ws.welcomed) reject(new Error(text));
    });
  });
}

/** POST helper returning the status (throws on network errors). */
async function post(url, body, contentType) {
  const res = await fetch(url, { method: "POST", body, headers: { "content-type": contentType } });
  await res.arrayBuffer();
  if (res.status !== 201) throw new Error(`POST ${url}: ${res.status}`);
  return res.status;
}

/** ismld in workerd through Miniflare (the built Worker, real SQLite). */
export async function ismld() {
  // Without the dashboard's static assets: locally they put a router Worker in front of
  // every request (measured: GET /v1/health 706 -> 536 requests/s), which Cloudflare's edge
  // does before the Worker runs; the benchmark measures the Worker.
  const w = await startWorker({ vars: { BENCH_COUNTERS: "true" }, onLog: () => {}, assets: false });
  const base = w.url;
  return {
    name: "ismld",
    url: base,
    /** It speaks the batched frames (`msgs`, multi-id `fin`). */
    batchFrames: true,
    publish: (t, e) => post(`${base}/v1/topics/${t}/events`, JSON.stringify(e), "application/cloudevents+json"),
    publishBatch: (t, es) => post(`${base}/v1/topics/${t}/events`, JSON.stringify(es), "application/cloudevents-batch+json"),
    createChannel: async (t, c) => {
      const r = await fetch(`${base}/v1/topics/${t}/channels/${c}`, { method: "PUT" });
      await r.arrayBuffer();
    },
    socketUrl: (t, c) => `${base}/v1/topics/${t}/channels/${c}/ws`,
    /** The isolate's counters: SQLite rows written, object wake-ups. */
    counters: async () => (await fetch(`${base}/v1/_bench/counters`)).json(),
    stop: () => w.destroy(),
  };
}

/** The plain-JS baseline Durable Object (bench/baseline/worker.js). */
export async function baseline() {
  const dir = mkdtempSync(join(tmpdir(), "ismld-baseline-"));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      modules: [{ type: "ESModule", path: join(ROOT, "bench/baseline/worker.js") }],
      modulesRoot: join(ROOT, "bench/baseline"),
      compatibilityDate: "2025-11-01",
      durableObjects: { BASELINE: { className: "Baseline", useSQLite: true } },
      resourcePersistencePath: dir,
    }),
  );
  const base = (await mf.ready).toString().replace(/\/$/, "");
  return {
    name: "baseline",
    url: base,
    publish: (t, e) => post(`${base}/topics/${t}/events`, JSON.stringify(e), "application/json"),
    publishBatch: (t, es) => post(`${base}/topics/${t}/events`, JSON.stringify(es), "application/json"),
    createChannel: async (t, c) => {
      const r = await fetch(`${base}/topics/${t}/channels/${c}`, { method: "PUT" });
      await r.arrayBuffer();
    },
    socketUrl: (t, c) => `${base}/topics/${t}/channels/${c}/ws`,
    stop: async () => {
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
