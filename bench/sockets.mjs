// The socket scenarios of `npm run bench` (ismld only: the baseline speaks no batched
// frames): pipelined `pub` frames on one publisher socket, batch delivery (`msgs`) with
// coalesced acks (`fin` with `ids`), fan-out to batch consumers, publish (socket) ->
// handler latency, and idle consumers that ping.
import WebSocket from "ws";
import { event, quantile, topicName } from "./lib.mjs";

const now = () => performance.now();

async function until(check, ms, what) {
  const end = now() + ms;
  while (!check()) {
    if (now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** A socket, welcomed after `hello`; `onFrame(frame, ws)` sees every later frame. */
function open(url, hello, onFrame = () => {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, "ws"));
    ws.once("error", reject);
    ws.on("open", () => ws.send(JSON.stringify({ op: "hello", ...hello })));
    let welcomed = false;
    ws.on("message", (data) => {
      const f = JSON.parse(data.toString());
      if (!welcomed) {
        if (f.op !== "welcome") return reject(new Error(data.toString()));
        welcomed = true;
        return resolve(ws);
      }
      onFrame(f, ws);
    });
  });
}

/** A batch consumer: acks each `msg`/`msgs` frame with one `fin` of all its ids. */
function batchConsumer(url, maxInFlight, onMsg = () => {}) {
  return open(url, { max_in_flight: maxInFlight, batch: true }, (f, ws) => {
    const list = f.op === "msgs" ? f.messages : f.op === "msg" ? [f] : [];
    if (!list.length) return;
    for (const m of list) onMsg(m);
    ws.send(JSON.stringify({ op: "fin", ids: list.map((m) => m.id) }));
  });
}

/** Pipelined `pub` frames on one publisher socket, at most `window` unanswered: events/s until every `ok`. */
export async function socketPublish(t, total, window = 1000, perFrame = 1) {
  const topic = topicName("spub");
  let acked = 0;
  const ws = await open(`${t.url}/v1/topics/${topic}/ws`, {}, (f) => {
    if (f.op === "ok") acked += f.results?.length ?? 1;
    else if (f.op === "error") throw new Error(JSON.stringify(f));
  });
  const start = now();
  let sent = 0;
  let ref = 0;
  while (sent < total) {
    while (sent - acked >= window) await new Promise((r) => setImmediate(r));
    const n = Math.min(perFrame, total - sent);
    const frame = perFrame === 1
      ? { op: "pub", ref: `${++ref}`, event: event(sent) }
      : { op: "pub", ref: `${++ref}`, events: Array.from({ length: n }, (_, i) => event(sent + i)) };
    ws.send(JSON.stringify(frame));
    sent += n;
  }
  await until(() => acked >= total, 120_000, "every ok");
  const rate = total / ((now() - start) / 1000);
  ws.close();
  return rate;
}

async function preload(t, topic, n) {
  for (let i = 0; i < n; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - i) }, (_, j) => event(i + j));
    const r = await fetch(`${t.url}/v1/topics/${topic}/events`, {
      method: "POST",
      body: JSON.stringify(batch),
      headers: { "content-type": "application/cloudevents-batch+json" },
    });
    await r.arrayBuffer();
  }
}

/** One channel, one batch consumer with `maxInFlight`, `n` events waiting: finished/s. */
export async function batchConsume(t, maxInFlight, n) {
  const topic = topicName("bcons");
  await t.createChannel(topic, "c");
  await preload(t, topic, n);
  let got = 0;
  const start = now();
  const ws = await batchConsumer(t.socketUrl(topic, "c"), maxInFlight, () => got++);
  await until(() => got >= n, 120_000, "every message");
  const rate = n / ((now() - start) / 1000);
  ws.close();
  return rate;
}

/** Fan-out to `channels` batch consumers (100 in flight each), `n` events published in batches of 100: deliveries/s. */
export async function batchFanout(t, channels, n) {
  const topic = topicName("bfan");
  let got = 0;
  const sockets = [];
  for (let c = 0; c < channels; c++) {
    await t.createChannel(topic, `c${c}`);
    sockets.push(await batchConsumer(t.socketUrl(topic, `c${c}`), 100, () => got++));
  }
  const start = now();
  await preload(t, topic, n);
  await until(() => got >= n * channels, 300_000, "every delivery");
  const rate = (n * channels) / ((now() - start) / 1000);
  for (const ws of sockets) ws.close();
  return rate;
}

/** Publish over a socket at `rate` events/s for `ms`, one batch consumer that fins at once: latency p50/p99/max (ms). */
export async function socketLatency(t, rate, ms) {
  const topic = topicName("slat");
  await t.createChannel(topic, "c");
  const lat = [];
  const consumerWs = await batchConsumer(t.socketUrl(topic, "c"), 1000, (m) => lat.push(now() - m.event.data.t));
  const pubWs = await open(`${t.url}/v1/topics/${topic}/ws`, {});
  const total = Math.floor((rate * ms) / 1000);
  let sent = 0;
  const start = now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((now() - start) * rate) / 1000));
    while (sent < due) pubWs.send(JSON.stringify({ op: "pub", ref: `${sent}`, event: event(sent++, { t: now() }) }));
    await new Promise((r) => setTimeout(r, 1));
  }
  const achieved = total / ((now() - start) / 1000);
  await until(() => lat.length >= total, 60_000, "every message delivered");
  consumerWs.close();
  pubWs.close();
  lat.sort((a, b) => a - b);
  return { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: lat[lat.length - 1], achieved };
}

/**
 * The same latency through the JS client at both ends: its publisher socket (`lingerMs`)
 * and a subscriber with batch delivery and coalesced acks, timed from `publish` to the
 * handler; each handler's `fin` goes with the next coalesced frame.
 */
export async function clientLatency(t, rate, ms, lingerMs, maxFrames) {
  const { Connection } = await import("ismld");
  const topic = topicName("clat");
  await t.createChannel(topic, "c");
  const bus = new Connection({ url: t.url, publishing: { via: "socket", lingerMs, ...(maxFrames ? { maxFrames } : {}) } });
  // The first second at the rate warms the runtime up (its wasm tiers up) and is not counted.
  const warm = rate;
  const total = Math.floor((rate * ms) / 1000);
  const lat = [];
  let handled = 0;
  const sub = bus.subscribe({ topic, channel: "c", maxInFlight: 1000 }, (msg) => {
    handled += 1;
    if (msg.data.n >= warm) lat.push(now() - msg.data.t);
  });
  await sub.start();
  const pending = [];
  let sent = 0;
  /** Publishes up to event `last` (exclusive) at `rate` from now: events/s achieved. */
  const pace = async (last) => {
    const [start, first] = [now(), sent];
    while (sent < last) {
      const due = Math.min(last, first + Math.floor(((now() - start) * rate) / 1000));
      while (sent < due) pending.push(bus.publish(topic, { n: sent++, t: now() }));
      await new Promise((r) => setTimeout(r, 1));
    }
    return (last - first) / ((now() - start) / 1000);
  };
  await pace(warm);
  const achieved = await pace(warm + total);
  await Promise.all(pending);
  await until(() => handled >= warm + total, 60_000, "every message handled");
  await bus.close();
  lat.sort((a, b) => a - b);
  return { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: lat[lat.length - 1], achieved, lingerMs };
}

/** `count` consumers on one channel pinging every `pingMs` (heartbeat `pingMs`) for `ms`: wake-ups and rows. */
export async function idlePings(t, count, pingMs, ms) {
  const topic = topicName("ping");
  await t.createChannel(topic, "c");
  const sockets = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, () =>
      open(t.socketUrl(topic, "c"), { max_in_flight: 10, heartbeat_ms: pingMs }),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  const timers = sockets.map((ws, i) =>
    setTimeout(() => {
      ws.send('{"op":"ping"}');
      timers[i] = setInterval(() => ws.send('{"op":"ping"}'), pingMs);
    }, Math.floor((i / sockets.length) * pingMs)),
  );
  let pongs = 0;
  for (const ws of sockets) ws.on("message", (d) => d.toString().includes('"pong"') && pongs++);
  await new Promise((r) => setTimeout(r, 1000));
  const before = await t.counters();
  const p0 = pongs;
  await new Promise((r) => setTimeout(r, ms));
  const after = await t.counters();
  for (const x of timers) clearInterval(x);
  for (const ws of sockets) ws.close();
  return { wakes: after.wakes - before.wakes, rows: after.rows_written - before.rows_written, pongs: pongs - p0 };
}

/** The JS client publishing over its shared publisher socket (`via: "socket"`, linger 5 ms): `total` publishes at once, events/s until every one resolved (durable). */
export async function clientSocketPublish(t, total, maxFrames) {
  const { Connection } = await import("ismld");
  // All at once: the queue must hold them (the default cap, 10,000, would refuse the rest).
  const bus = new Connection({ url: t.url, publishing: { via: "socket", queueCap: total, ...(maxFrames ? { maxFrames } : {}) } });
  const topic = topicName("cpub");
  await bus.publish(topic, { warm: true });
  const start = now();
  const all = [];
  for (let i = 0; i < total; i++) all.push(bus.publish(topic, { i, pad: "x".repeat(64) }));
  await Promise.all(all);
  const rate = total / ((now() - start) / 1000);
  await bus.close();
  return rate;
}
