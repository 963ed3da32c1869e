// Bench item 10: a topic object's cold start with a large retained state, against an
// empty topic's, in the same run. The big topic holds `events` events behind a channel
// that never consumed any ("lagging"), `dead` dead letters and `deferred` deferred
// messages on another channel, and `inFlight` messages in flight with 64 KiB checkpoints
// when the runtime stops. Then the runtime starts again on the same storage and a
// consumer of the lagging channel says hello: the time from its upgrade to its first
// delivery is the cold start (the object loads its state on that first request), and
// workerd's resident memory is read right after.
import { readFileSync, readdirSync, rmSync } from "node:fs";
import WebSocket from "ws";
import { startWorker, tempDir } from "../tests/e2e/harness.mjs";

const BATCH = 1_000;

function workerdRss() {
  // Miniflare runs one workerd process per instance; the newest one is ours.
  let best = { pid: 0, rss: 0 };
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("workerd")) continue;
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
      if (Number(pid) > best.pid) best = { pid: Number(pid), rss };
    } catch {
      // a process that ended while being read
    }
  }
  return best.rss;
}

function socket(url, path, hello) {
  const ws = new WebSocket(url.replace(/^http/, "ws") + path);
  const frames = [];
  const waiters = [];
  ws.on("message", (d) => {
    frames.push(JSON.parse(d.toString()));
    for (const w of [...waiters]) w();
  });
  const next = (pred, ms = 120_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const i = frames.findIndex(pred);
        if (i < 0) return;
        clearTimeout(t);
        waiters.splice(waiters.indexOf(check), 1);
        resolve(frames.splice(i, 1)[0]);
      };
      const t = setTimeout(() => reject(new Error("timed out waiting for a frame")), ms);
      waiters.push(check);
      check();
    });
  const opened = new Promise((r, j) => {
    ws.once("open", r);
    ws.once("error", j);
  }).then(() => ws.send(JSON.stringify({ op: "hello", ...hello })));
  return { ws, next, opened, send: (f) => ws.send(JSON.stringify(f)) };
}

async function post(url, path, body, contentType = "application/cloudevents-batch+json") {
  const r = await fetch(url + path, { method: "POST", body, headers: { "content-type": contentType } });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${path}: ${r.status} ${text}`);
  return text;
}

const batch = (from, n) =>
  JSON.stringify(Array.from({ length: n }, (_, i) => ({ specversion: "1.0", id: `e${from + i}`, source: "/bench", type: "bench", data: { i: from + i } })));

/** Stops the runtime, starts it again on the same storage, and times the first delivery. */
async function measure(dir, topic) {
  const w = await startWorker({ persist: dir, onLog: () => {}, assets: false });
  try {
    const t0 = performance.now();
    const c = socket(w.url, `/v1/topics/${topic}/channels/lagging/ws`, { max_in_flight: 1 });
    await c.opened;
    await c.next((f) => f.op === "msg");
    const ms = performance.now() - t0;
    const rss = workerdRss();
    c.ws.close();
    return { ms, rss };
  } finally {
    await w.stop();
  }
}

/** Builds the big topic in `dir`; returns once the runtime is stopped. */
async function build(dir, topic, { events, dead, deferred, inFlight }) {
  // A short dedup window: this scenario measures start-up, not a window holding a million
  // pairs (beyond DEDUP_MEMORY_PAIRS they are spilled to storage, which halves the
  // publish rate; see bench/NOTES.md).
  const w = await startWorker({ persist: dir, onLog: () => {}, assets: false, vars: { DEDUP_WINDOW_MS: "1000" } });
  try {
    const put = (c) => fetch(`${w.url}/v1/topics/${topic}/channels/${c}`, { method: "PUT" }).then((r) => r.arrayBuffer());
    await put("lagging");
    // Dead letters: the first `dead` events, pulled from channel "dl" with max_attempts 1
    // and failed (`req`), a thousand at a time.
    await put("dl");
    for (let sent = 0; sent < events; sent += BATCH) {
      await post(w.url, `/v1/topics/${topic}/events`, batch(sent, Math.min(BATCH, events - sent)));
      if (sent < dead) {
        const pulled = JSON.parse(await post(w.url, `/v1/topics/${topic}/channels/dl/pull`, JSON.stringify({ max: BATCH, max_attempts: 1 }), "application/json"));
        const settle = pulled.messages.slice(0, dead - sent).map((m) => ({ op: "req", id: m.id }));
        await post(w.url, `/v1/topics/${topic}/channels/dl/settle`, JSON.stringify({ settle }), "application/json");
      }
    }
    for (let sent = 0; sent < deferred; sent += BATCH) {
      await post(w.url, `/v1/topics/${topic}/events?delay_ms=604800000`, batch(events + sent, Math.min(BATCH, deferred - sent)));
    }
    // In flight with 64 KiB checkpoints, on a third channel, when the runtime stops.
    const work = socket(w.url, `/v1/topics/${topic}/channels/work/ws`, { max_in_flight: inFlight, handler_timeout_ms: 3_600_000 });
    await work.opened;
    await work.next((f) => f.op === "welcome");
    await post(w.url, `/v1/topics/${topic}/events`, batch(events + deferred, inFlight));
    const state = { blob: "x".repeat(64 * 1024 - 32) };
    for (let i = 0; i < inFlight; i++) {
      const m = await work.next((f) => f.op === "msg");
      work.send({ op: "touch", id: m.id, state, ref: `t${i}` });
      await work.next((f) => f.op === "ok" && f.ref === `t${i}`);
    }
  } finally {
    await w.stop();
  }
}

/** Runs the scenario; `quick` makes everything 20x smaller. */
export async function coldStart({ quick = false } = {}) {
  const size = quick
    ? { events: 49_450, dead: 500, deferred: 500, inFlight: 50 } // 50,000
    : { events: 989_000, dead: 10_000, deferred: 10_000, inFlight: 1_000 }; // 1,000,000 retained in all
  const emptyDir = tempDir();
  const bigDir = tempDir();
  try {
    const w = await startWorker({ persist: emptyDir, onLog: () => {}, assets: false });
    await fetch(`${w.url}/v1/topics/small/channels/lagging`, { method: "PUT" }).then((r) => r.arrayBuffer());
    await post(w.url, "/v1/topics/small/events", batch(0, 1));
    await w.stop();
    const built = performance.now();
    await build(bigDir, "big", size);
    const buildS = (performance.now() - built) / 1000;
    const empty = [];
    const big = [];
    for (let i = 0; i < 3; i++) {
      empty.push(await measure(emptyDir, "small"));
      big.push(await measure(bigDir, "big"));
    }
    const med = (xs, k) => [...xs].sort((a, b) => a[k] - b[k])[1][k];
    return {
      size,
      buildS,
      empty: { ms: med(empty, "ms"), rss: med(empty, "rss") },
      big: { ms: med(big, "ms"), rss: med(big, "rss") },
      runs: { empty, big },
    };
  } finally {
    rmSync(emptyDir, { recursive: true, force: true });
    rmSync(bigDir, { recursive: true, force: true });
  }
}
