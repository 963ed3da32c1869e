// `ismld pub <topic> [data|-]`: like `nats pub` and `to_nsq`. One event from the
// argument, or one per non-empty stdin line, published in order and printed as they are
// acknowledged (id, seq, partition). The first event goes alone over HTTP (a bus that
// cannot be reached, or refuses, is reported at once); the rest are pipelined over the
// topic's publisher socket(s), which keep their order (the client opens one per partition
// of a partitioned topic and routes each event as the bus would). `--partition` pins
// every event to one partition: over that partition's publisher socket.

import process from "node:process";
import { createInterface } from "node:readline";
import { duration, int, parse, UsageError } from "./args.mjs";
import { open } from "./bus.mjs";
import { Output } from "./output.mjs";

const OPTIONS = {
  type: { type: "string" },
  source: { type: "string" },
  id: { type: "string" },
  key: { type: "string" },
  delay: { type: "string" },
  ttl: { type: "string" },
  partition: { type: "string" },
  count: { type: "string" },
  "content-type": { type: "string" },
};

/** Publishes waiting for their answer at once (socket path). */
const WINDOW = 256;

/** The data of one event: a JSON value, or text. */
function body(text, contentType) {
  if (contentType !== undefined && !/^application\/(.+\+)?json\b/i.test(contentType)) return { text, contentType };
  try {
    return { value: JSON.parse(text), text, contentType: "application/json" };
  } catch (e) {
    if (contentType !== undefined) throw new UsageError(`pub: the data is not JSON (--content-type ${contentType}): ${e.message}`, "pub");
    return { text };
  }
}

async function* stdinLines() {
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (line.trim() !== "") yield line;
  }
}

export async function run(_command, argv) {
  const { opt, args } = parse(argv, OPTIONS, { command: "pub", min: 1, max: 2 });
  const [topic, data] = args;
  const count = int(opt, "count", "pub", { min: 1 }) ?? 1;
  const delayMs = duration(opt, "delay", "pub");
  const ttlMs = duration(opt, "ttl", "pub");
  const partition = int(opt, "partition", "pub", { max: 63 });
  const contentType = opt["content-type"];
  if (data === undefined && process.stdin.isTTY) throw new UsageError("pub: give the data, or '-' to read events from stdin, one per line", "pub");
  const structured = opt.type !== undefined || opt.id !== undefined || opt.source !== undefined;
  const out = new Output(opt.json);
  // The client's default source is /clients/{login}; with a token the CLI says who it is.
  const source = (creds) => opt.source ?? (creds && "login" in creds ? `/clients/${creds.login}` : "/ismld-cli");
  const ctx = await open(opt, "pub", { connection: (creds) => ({ source: source(creds), publishing: { via: "http" } }) });
  const options = strip({ orderingKey: opt.key, delayMs, ttlMs, partition, id: opt.id, type: structured ? (opt.type ?? topic) : undefined });

  /** The data and options of `publish` (the client's API) for one line. */
  const publishArgs = (text) => {
    const d = body(text, contentType);
    const o = { ...options, ...(d.value === undefined && d.contentType ? { contentType: d.contentType } : {}) };
    return [d.value !== undefined ? d.value : d.text, o];
  };
  // After the first event: pipelined over the publisher socket(s) of another connection.
  let sockets;
  const publishOne = (text, first) => {
    if (first) return ctx.bus.publish(topic, ...publishArgs(text));
    sockets ??= ctx.connect({ publishing: { via: "socket", timeoutMs: 30_000 } });
    return sockets.publish(topic, ...publishArgs(text));
  };
  const print = (r) =>
    out.result(
      { topic: r.topic ?? topic, id: r.id, seq: r.seq, partition: r.partition ?? 0, duplicate: !!r.duplicate },
      `id=${r.id} seq=${r.seq} partition=${r.partition ?? 0}${r.duplicate ? " duplicate=true" : ""}`,
    );

  const pending = [];
  const settle = async (keep) => {
    while (pending.length > keep) await print(await pending.shift());
  };
  let first = true;
  try {
    for await (const text of data === undefined || data === "-" ? stdinLines() : [data]) {
      for (let i = 0; i < count; i++) {
        const p = publishOne(text, first);
        p.catch(() => {}); // awaited in order below; a failure there stops the command
        pending.push(p);
        // The first waits alone: an unreachable or refusing bus is reported at once; the
        // rest share the publisher socket(s), which keep their order.
        await settle(first ? 0 : WINDOW);
        first = false;
      }
    }
    await settle(0);
  } finally {
    await ctx.bus.close();
    if (sockets) await sockets.close();
  }
  return 0;
}

function strip(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
