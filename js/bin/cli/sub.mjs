// `ismld sub <topic> <channel>` and `ismld tail <topic>`: a subscriber of the client that
// prints each message and finishes it (`--no-ack`: requeues it). `tail` is nsq_tail: a new
// `tail-<random>#ephemeral` channel, gone with its backlog when tail exits.
//
// Before subscribing, the topic's stats are read: that reports an unreachable bus or
// refused credentials at once (a socket would only retry), and says how many partitions
// the topic has. The client's subscriber does not open one socket per partition yet, so
// each partition gets its own connection whose sockets carry `?partition=P`.

import { randomBytes } from "node:crypto";
import process from "node:process";
import { duration, int, json, parse } from "./args.mjs";
import { open, partitionsOf } from "./bus.mjs";
import { messageJson, messageLine, Output } from "./output.mjs";

const SUB = {
  "max-in-flight": { type: "string" },
  count: { type: "string" },
  filter: { type: "string" },
  "no-ack": { type: "boolean", default: false },
  "requeue-delay": { type: "string" },
  timeout: { type: "string" },
  "max-attempts": { type: "string" },
};
const TAIL = { "max-in-flight": { type: "string" }, count: { type: "string" } };

export async function run(command, argv) {
  const tail = command === "tail";
  const { opt, args } = parse(argv, tail ? TAIL : SUB, { command, min: tail ? 1 : 2, max: tail ? 1 : 2 });
  const topic = args[0];
  const channel = tail ? `tail-${randomBytes(4).toString("hex")}#ephemeral` : args[1];
  const maxInFlight = int(opt, "max-in-flight", command, { min: 1, max: 2500 }) ?? (tail ? 100 : 1);
  const count = int(opt, "count", command, { min: 1 });
  const filter = json(opt, "filter", command);
  const requeueDelay = duration(opt, "requeue-delay", command);
  const handlerTimeout = duration(opt, "timeout", command);
  const maxAttempts = int(opt, "max-attempts", command, { min: 0 });
  const out = new Output(opt.json);
  const ctx = await open(opt, command);
  const partitions = await partitionsOf(ctx, topic);
  if (filter !== undefined) await ctx.bus.admin.createChannel(topic, channel, { filter });

  let handled = 0;
  let settling = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const enough = () => count !== undefined && handled >= count;

  /** Prints and settles; past --count, holds the message until the stop gives it back. */
  const handler = async (msg) => {
    if (enough()) {
      // Past --count: hold it; stopping aborts the signal and the closed socket gives it back.
      await new Promise((resolve) => (msg.signal.aborted ? resolve() : msg.signal.addEventListener("abort", resolve, { once: true })));
      return;
    }
    handled += 1;
    settling += 1;
    // The last one wanted: no more credit, so the bus sends nothing it would have to take back.
    if (enough()) for (const sub of subs) sub.setMaxInFlight(0);
    try {
      await out.result(messageJson(msg), messageLine(msg, { attempt: msg.attempt > 1 ? msg.attempt : undefined }));
      if (opt["no-ack"]) await msg.requeue(requeueDelay ? { delayMs: requeueDelay } : {});
      else await msg.finish();
    } finally {
      settling -= 1;
      if (enough() && settling === 0) finish({ code: 0 });
    }
  };

  const conns = [];
  const subs = [];
  const each = Math.max(1, Math.ceil(Math.min(maxInFlight, count ?? Infinity) / partitions));
  for (let p = 0; p < partitions; p++) {
    const conn = partitions === 1 ? ctx.bus : await ctx.connect({}, p);
    const sub = conn.subscribe({ topic, channel, maxInFlight: each, ...(handlerTimeout ? { handlerTimeout } : {}), ...(maxAttempts !== undefined ? { maxAttempts } : {}) }, handler);
    watch(conn, sub, ctx, { topic, channel, out, finish });
    conns.push(conn);
    subs.push(sub);
  }
  const stop = () => finish({ code: 0, interrupted: true });
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const started = Promise.all(subs.map((s) => s.start()));
  // A refused start (bad settings, a final close) ends the command with its error.
  const outcome = await Promise.race([started.then(() => undefined, (error) => ({ error })), finished]);
  if (!outcome) {
    const where = partitions > 1 ? ` (${partitions} partitions)` : "";
    out.note(
      tail
        ? `Tailing topic='${topic}' on channel='${channel}'${where}; Ctrl-C to stop.`
        : `Subscribed to channel='${channel}' of topic='${topic}'${where}; Ctrl-C to stop.`,
    );
  }
  const end = outcome ?? (await finished);
  await Promise.allSettled(subs.map((s) => s.stop()));
  await Promise.allSettled(conns.map((c) => c.close()));
  if (end.error) throw end.error;
  if (end.interrupted || count !== undefined) out.note(`Stopped after ${handled} message${handled === 1 ? "" : "s"}.`);
  return end.code;
}

/**
 * Turns what the subscriber reports into notes and a final outcome: a final close (channel
 * deleted, permission lost) ends the command; a socket the bus refuses before its first
 * welcome (no subscribe permission: 403 on the upgrade) is asked about over HTTP.
 */
function watch(conn, sub, ctx, { topic, channel, out, finish }) {
  let welcomed = false;
  let probed = false;
  conn.on("connected", () => (welcomed = true));
  conn.on("error", ({ error }) => {
    if (sub.state === "stopped") finish({ error });
  });
  conn.on("disconnected", ({ code, reason, reconnectInMs }) => {
    if (reconnectInMs === undefined) return;
    if (welcomed) out.note(`Disconnected (${code}${reason ? ` ${reason}` : ""}); reconnecting in ${reconnectInMs} ms.`);
    if (welcomed || probed) return;
    probed = true;
    // Permission to subscribe is checked on every channel operation: ask for one dead letter.
    ctx.bus.admin.deadLetters(topic, channel, { limit: 1 }).then(
      () => {},
      (error) => {
        if (error?.code !== "not_found") finish({ error });
      },
    );
  });
}
