// `ismld bench pub|sub|pubsub <topic>`: like `nats bench`. Publishers send JSON events
// `{"run","n","t","pad"}` (`t`: when the publish was made, ms since the epoch, fractional);
// subscribers count distinct ids and record now - t as the publish-to-handler latency.
// pub: rate from the first publish to the last acknowledgement; sub: from the first
// delivery to the last; pubsub: a fresh channel `bench-<run>` (deleted at the end),
// subscribed before publishing, and only this run's events are counted.

import { randomBytes } from "node:crypto";
import process from "node:process";
import { int, parse, UsageError } from "./args.mjs";
import { open, partitionsOf, publishers } from "./bus.mjs";
import { Output } from "./output.mjs";

const OPTIONS = {
  msgs: { type: "string" },
  size: { type: "string" },
  clients: { type: "string" },
  batch: { type: "string" },
  via: { type: "string" },
  window: { type: "string" },
  "max-in-flight": { type: "string" },
  channel: { type: "string" },
  quiet: { type: "boolean", default: false },
};

const now = () => performance.timeOrigin + performance.now();

/** A counting semaphore: at most `n` holders. */
function limiter(n) {
  let free = n;
  const waiting = [];
  return {
    take: () => (free > 0 ? (free--, Promise.resolve()) : new Promise((r) => waiting.push(r))),
    give: () => (waiting.length ? waiting.shift()() : free++),
  };
}

/** p50, p90, p99 and max of latencies in ms. */
function percentiles(values) {
  if (!values.length) return undefined;
  const s = Float64Array.from(values).sort();
  const at = (p) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
  const r = (v) => Math.round(v * 100) / 100;
  return { p50: r(at(50)), p90: r(at(90)), p99: r(at(99)), max: r(s[s.length - 1]) };
}

function rate(msgs, ms, size) {
  const seconds = Math.max(ms, 0.001) / 1000;
  return { msgs, seconds: Math.round(seconds * 1000) / 1000, msgs_per_s: Math.round(msgs / seconds), mb_per_s: Math.round(((msgs * size) / 1e6 / seconds) * 100) / 100 };
}

export async function run(_command, argv) {
  const { opt, args } = parse(argv, OPTIONS, { command: "bench", min: 2, max: 2 });
  const [mode, topic] = args;
  if (!["pub", "sub", "pubsub"].includes(mode)) throw new UsageError(`bench: the mode is pub, sub or pubsub, not '${mode}'`, "bench");
  const msgs = int(opt, "msgs", "bench", { min: 1 }) ?? 10_000;
  const size = int(opt, "size", "bench", { min: 0, max: 1_000_000 }) ?? 128;
  const clients = int(opt, "clients", "bench", { min: 1, max: 256 }) ?? 1;
  const batch = int(opt, "batch", "bench", { min: 1, max: 1000 }) ?? 100;
  const via = opt.via ?? "socket";
  if (via !== "socket" && via !== "http") throw new UsageError(`bench: --via is socket or http, not '${via}'`, "bench");
  const window = int(opt, "window", "bench", { min: 1, max: 100_000 }) ?? (via === "socket" ? 1000 : 1);
  const maxInFlight = int(opt, "max-in-flight", "bench", { min: 1, max: 2500 }) ?? 100;
  const out = new Output(opt.json);
  const ctx = await open(opt, "bench");
  const runId = randomBytes(4).toString("hex");
  const channel = opt.channel ?? (mode === "pubsub" ? `bench-${runId}` : "bench");
  const partitions = await partitionsOf(ctx, topic);
  const state = { published: 0, received: 0, firstAt: 0, lastAt: 0, latencies: [] };
  const pad = "x".repeat(Math.max(0, size - JSON.stringify({ run: runId, n: msgs, t: now(), pad: "" }).length));
  const conns = [];
  const pools = [];

  // Ctrl-C stops publishing and waiting, and reports what was measured so far.
  let interrupted;
  let stopping = false;
  const interrupt = new Promise((resolve) => (interrupted = resolve));
  process.once("SIGINT", () => {
    stopping = true;
    interrupted(true);
  });
  const progress = opt.quiet
    ? undefined
    : setInterval(() => {
        const parts = [];
        if (mode !== "sub") parts.push(`published ${state.published}/${msgs}`);
        if (mode !== "pub") parts.push(`received ${state.received}/${msgs}`);
        out.note(`bench: ${parts.join(", ")}`);
      }, 1000);

  try {
    // Subscribers first, so a pubsub channel exists before the first publish.
    let allReceived = Promise.resolve();
    if (mode !== "pub") {
      let done;
      allReceived = new Promise((r) => (done = r));
      const seen = new Set();
      const handler = (msg) => {
        const d = msg.data;
        if (mode === "pubsub" && d?.run !== runId) return;
        if (seen.has(msg.id) || seen.size >= msgs) return;
        seen.add(msg.id);
        const t = now();
        if (typeof d?.t === "number") state.latencies.push(t - d.t);
        state.received += 1;
        state.firstAt ||= t;
        state.lastAt = t;
        if (state.received === msgs) done();
      };
      const subs = [];
      const each = Math.max(1, Math.ceil(maxInFlight / partitions));
      for (let c = 0; c < clients; c++) {
        for (let p = 0; p < partitions; p++) {
          const conn = await ctx.connect({}, partitions > 1 ? p : undefined);
          conns.push(conn);
          subs.push(conn.subscribe({ topic, channel, maxInFlight: each }, handler));
        }
      }
      await Promise.all(subs.map((s) => s.start()));
      if (mode === "sub") out.note(`bench: ${clients} subscriber(s) on channel='${channel}' of topic='${topic}', waiting for ${msgs} messages`);
    }
    let pubStart = 0;
    let pubEnd = 0;
    if (mode !== "sub") {
      pubStart = now();
      const shares = Array.from({ length: clients }, (_, i) => Math.floor(msgs / clients) + (i < msgs % clients ? 1 : 0));
      let n = 0;
      const next = () => ({ run: runId, n: n++, t: now(), pad });
      await Promise.all(
        shares.map(async (share) => {
          // Socket publishers of a partitioned topic: one socket per partition, used in turn.
          let conn;
          let pool;
          if (via === "http") {
            conn = await ctx.connect({ publishing: { via } });
            conns.push(conn);
          } else {
            pool = publishers(ctx, { partitioned: partitions > 1, publishing: { maxBatch: batch, queueCap: Math.max(10_000, window) } });
            pools.push(pool);
          }
          let turn = 0;
          const slots = limiter(window);
          const failures = [];
          const pending = new Set();
          for (let sent = 0; sent < share && !failures.length && !stopping; ) {
            const k = via === "http" ? Math.min(batch, share - sent) : 1;
            await slots.take();
            const p = pool
              ? pool.publish(topic, next(), {}, turn++ % partitions)
              : k === 1
                ? conn.publish(topic, next())
                : conn.publishBatch(topic, Array.from({ length: k }, () => ({ data: next() })));
            sent += k;
            const tracked = p.then(
              () => (state.published += k),
              (e) => failures.push(e),
            );
            pending.add(tracked);
            void tracked.finally(() => {
              pending.delete(tracked);
              slots.give();
            });
          }
          await Promise.all(pending);
          if (failures.length) throw failures[0];
        }),
      );
      pubEnd = now();
    }
    const stopped = await Promise.race([allReceived.then(() => false), interrupt]);
    if (progress) clearInterval(progress);
    const report = { mode, topic, msgs, size, clients, ...(mode !== "sub" ? { batch, via } : {}), ...(mode !== "pub" ? { channel } : {}) };
    if (stopped) report.interrupted = true;
    if (mode !== "sub") report.pub = rate(state.published, pubEnd - pubStart, size);
    if (mode !== "pub") {
      const from = mode === "pubsub" ? pubStart : state.firstAt;
      report.sub = rate(state.received, (state.lastAt || from) - from, size);
      report.latency_ms = percentiles(state.latencies);
    }
    if (mode === "pubsub") await ctx.bus.admin.deleteChannel(topic, channel).catch(() => {});
    await out.result(report, human(report));
    return 0;
  } finally {
    if (progress) clearInterval(progress);
    await Promise.allSettled([...conns, ...pools].map((c) => c.close()));
    await ctx.bus.close();
  }
}

function human(r) {
  const f = (n) => n.toLocaleString("en-US");
  const line = (name, s) => `${name} stats: ${f(s.msgs_per_s)} msgs/s ~ ${s.mb_per_s.toFixed(2)} MB/s (${f(s.msgs)} msgs in ${s.seconds.toFixed(2)} s)`;
  const lines = [`ismld: bench ${r.mode} topic='${r.topic}' msgs=${r.msgs} size=${r.size} clients=${r.clients}${r.via ? ` batch=${r.batch} via=${r.via}` : ""}${r.interrupted ? " (interrupted)" : ""}`];
  if (r.pub) lines.push(line("Pub", r.pub));
  if (r.sub) lines.push(line("Sub", r.sub));
  const l = r.latency_ms;
  if (l) lines.push(`Latency (publish -> handler): p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, max ${l.max} ms`);
  return lines.join("\n");
}
