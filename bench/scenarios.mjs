// The measured scenarios, each against a target from lib.mjs (ismld or the baseline).
import { consumer, event, quantile, topicName } from "./lib.mjs";

const now = () => performance.now();
const tick = () => new Promise((r) => setImmediate(r));

/** Resolves once `check()` holds (polled on the event loop), or rejects after `ms`. */
async function until(check, ms, what) {
  const end = now() + ms;
  while (!check()) {
    if (now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** 1. Single-event publishes, `conc` connections publishing back to back: events/s. */
export async function publishRate(target, conc, ms) {
  const topic = topicName("pub");
  let n = 0;
  const start = now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (now() < end) await target.publish(topic, event(n++));
    }),
  );
  return n / ((now() - start) / 1000);
}

/**
 * 2. Batches of `size` events to one topic that already took `warm` events in its dedup
 * window (past ismld's `DEDUP_MEMORY_PAIRS`, 200,000, the pairs its filter forgets are
 * spilled to storage; a busy topic's steady state): events/s over `count` more batches.
 */
export async function sustainedBatchRate(target, size, warm, count) {
  const topic = topicName("sustained");
  let n = 0;
  const next = () => Array.from({ length: size }, () => event(n++));
  for (let i = 0; i < warm / size; i++) await target.publishBatch(topic, next());
  const start = now();
  for (let i = 0; i < count; i++) await target.publishBatch(topic, next());
  return (size * count) / ((now() - start) / 1000);
}

/** 2. Batched publishes of `size` events, `count` batches back to back: events/s. */
export async function batchRate(target, size, count) {
  const topic = topicName("batch");
  const batches = Array.from({ length: count }, (_, b) => Array.from({ length: size }, (_, i) => event(b * size + i)));
  const start = now();
  for (const b of batches) await target.publishBatch(topic, b);
  return (size * count) / ((now() - start) / 1000);
}

/**
 * 3. Publish -> handler latency at a fixed rate (events/s) for `ms`, one consumer that
 * fins each message: p50, p99, max in ms (publisher and consumer share one clock).
 */
export async function latency(target, rate, ms) {
  const topic = topicName("lat");
  await target.createChannel(topic, "c");
  const lat = [];
  const ws = await consumer(target.socketUrl(topic, "c"), {
    maxInFlight: 1000,
    onMsg: (f) => lat.push(now() - f.event.data.t),
  });
  const total = Math.floor((rate * ms) / 1000);
  let sent = 0;
  let inflight = 0;
  const start = now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((now() - start) * rate) / 1000));
    while (sent < due && inflight < 256) {
      inflight++;
      target.publish(topic, event(sent++, { t: now() })).finally(() => inflight--);
    }
    await tick();
  }
  const achieved = total / ((now() - start) / 1000);
  await until(() => lat.length >= total, 60_000, "every message delivered");
  ws.close();
  lat.sort((a, b) => a - b);
  return { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: lat[lat.length - 1], achieved };
}

/** Publishes `n` events in batches of up to 1,000. */
async function preload(target, topic, n) {
  for (let i = 0; i < n; i += 1000) {
    await target.publishBatch(topic, Array.from({ length: Math.min(1000, n - i) }, (_, j) => event(i + j)));
  }
}

/** 4. One channel, one consumer with `maxInFlight`, `n` events waiting: finished/s. */
export async function consumeRate(target, maxInFlight, n) {
  const topic = topicName("consume");
  await target.createChannel(topic, "c");
  await preload(target, topic, n);
  let got = 0;
  const start = now();
  const ws = await consumer(target.socketUrl(topic, "c"), { maxInFlight, onMsg: () => got++ });
  await until(() => got >= n, 120_000, "every message finished");
  const rate = n / ((now() - start) / 1000);
  ws.close();
  return rate;
}

/** 5. Fan-out: `channels` channels with one consumer each, `n` events: deliveries/s. */
export async function fanoutRate(target, channels, n) {
  const topic = topicName("fan");
  let got = 0;
  const sockets = [];
  for (let c = 0; c < channels; c++) {
    await target.createChannel(topic, `c${c}`);
    sockets.push(await consumer(target.socketUrl(topic, `c${c}`), { maxInFlight: 100, onMsg: () => got++ }));
  }
  const start = now();
  for (let i = 0; i < n; i += 100) {
    await target.publishBatch(topic, Array.from({ length: Math.min(100, n - i) }, (_, j) => event(i + j)));
  }
  await until(() => got >= n * channels, 300_000, "every delivery");
  const rate = (n * channels) / ((now() - start) / 1000);
  for (const ws of sockets) ws.close();
  return rate;
}

/**
 * 6. `count` consumers connected to one channel with nothing to do for `ms`: object
 * wake-ups and SQLite rows written meanwhile (ismld's isolate counters).
 */
export async function idle(target, count, ms) {
  const topic = topicName("idle");
  await target.createChannel(topic, "c");
  const sockets = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, () =>
      consumer(target.socketUrl(topic, "c"), { maxInFlight: 10, heartbeatMs: 120_000 }),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  await new Promise((r) => setTimeout(r, 1000)); // let the connection burst settle
  const before = await target.counters();
  await new Promise((r) => setTimeout(r, ms));
  const after = await target.counters();
  for (const ws of sockets) ws.close();
  return { wakes: after.wakes - before.wakes, rows: after.rows_written - before.rows_written };
}

/**
 * 7. SQLite rows written per event: `n` events published one by one, delivered to one
 * consumer and finished, and the same with no channel (publish only).
 */
export async function rowsPerEvent(target, n) {
  const publishOnly = topicName("rows");
  await target.publish(publishOnly, event(-1)); // the topic's first use (registry, meta)
  let before = await target.counters();
  for (let i = 0; i < n; i++) await target.publish(publishOnly, event(i));
  let after = await target.counters();
  const publish = (after.rows_written - before.rows_written) / n;

  const topic = topicName("rows");
  await target.createChannel(topic, "c");
  let got = 0;
  const ws = await consumer(target.socketUrl(topic, "c"), { maxInFlight: 100, onMsg: () => got++ });
  await target.publish(topic, event(-1));
  await until(() => got >= 1, 10_000, "first delivery");
  await new Promise((r) => setTimeout(r, 200));
  before = await target.counters();
  for (let i = 0; i < n; i++) await target.publish(topic, event(i));
  await until(() => got >= n + 1, 60_000, "every delivery");
  await new Promise((r) => setTimeout(r, 500)); // the last fins land
  after = await target.counters();
  ws.close();
  const endToEnd = (after.rows_written - before.rows_written) / n;
  if (!target.publishBatch || !target.batchFrames) return { publish, endToEnd };

  // Batched: batches of 100 over HTTP, a consumer asking for `msgs` frames and finishing
  // each with one multi-id `fin`.
  const batched = topicName("rowsb");
  await target.createChannel(batched, "c");
  let gotB = 0;
  const wb = await consumer(target.socketUrl(batched, "c"), { maxInFlight: 100, batch: true, onMsg: () => gotB++ });
  await target.publish(batched, event(-1));
  await until(() => gotB >= 1, 10_000, "first delivery");
  await new Promise((r) => setTimeout(r, 200));
  before = await target.counters();
  for (let i = 0; i < n; i += 100) await target.publishBatch(batched, Array.from({ length: 100 }, (_, j) => event(i + j)));
  await until(() => gotB >= n + 1, 60_000, "every delivery");
  await new Promise((r) => setTimeout(r, 500)); // the last fins land
  after = await target.counters();
  wb.close();
  return { publish, endToEnd, batched: (after.rows_written - before.rows_written) / n };
}
