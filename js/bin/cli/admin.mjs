// `ismld stats [topic]`, `ismld topics`, `ismld seek`, `ismld dead ls | redrive`: one
// `bus.admin` call each (dead ls --all: one per page).

import { int, parse, UsageError } from "./args.mjs";
import { open } from "./bus.mjs";
import { messageJson, messageLine, Output, table } from "./output.mjs";

export async function run(command, argv) {
  switch (command) {
    case "stats":
      return stats(argv);
    case "topics":
      return topics(argv);
    case "seek":
      return seek(argv);
    default:
      return dead(argv);
  }
}

const CHANNEL_COLUMNS = [
  ["CHANNEL", "channel"],
  ["DEPTH", "depth"],
  ["READY", "ready"],
  ["IN_FLIGHT", "in_flight"],
  ["DEFERRED", "deferred"],
  ["DEAD", "dead"],
  ["CONSUMERS", "consumers"],
  ["PUBLISHED", "published_total"],
  ["FINISHED", "finished_total"],
  ["REQUEUED", "requeued_total"],
  ["TIMED_OUT", "timed_out_total"],
  ["STATE", (c) => (c.paused ? "paused" : "active")],
];

function channelTable(channels) {
  const cell = (c, get) => (typeof get === "function" ? get(c) : c[get]);
  return table([CHANNEL_COLUMNS.map(([h]) => h), ...channels.map((c) => CHANNEL_COLUMNS.map(([, get]) => cell(c, get)))]);
}

/** The attached consumers of every channel, a row each (nsqadmin's client rows). */
function consumerTable(channels) {
  const rows = channels.flatMap((c) =>
    (c.attached ?? []).map((a) => [c.channel, a.session, a.source, a.address ?? "-", a.partition ?? 0, a.max_in_flight, a.in_flight, a.finished, a.requeued, a.connected_at]),
  );
  return rows.length ? table([["CHANNEL", "SESSION", "SOURCE", "ADDRESS", "PARTITION", "RDY", "IN_FLIGHT", "FINISHED", "REQUEUED", "CONNECTED"], ...rows]) : "";
}

const sum = (channels, field) => channels.reduce((n, c) => n + (c[field] ?? 0), 0);

async function stats(argv) {
  const { opt, args } = parse(argv, {}, { command: "stats", max: 1 });
  const out = new Output(opt.json);
  const [topic] = args;
  const { bus } = await open(opt, "stats", { admin: topic === undefined });
  if (topic !== undefined) {
    const s = await bus.admin.stats(topic);
    const head = `topic=${s.topic} seq=${s.seq} retained=${s.retained} partitions=${s.partitions ?? 1} channels=${s.channels.length}`;
    const consumers = consumerTable(s.channels);
    await out.result(s, s.channels.length ? `${head}\n${channelTable(s.channels)}${consumers ? `\n\n${consumers}` : ""}` : head);
    return 0;
  }
  const list = await bus.admin.topics({ stats: true });
  const rows = list.map((t) => {
    const cs = t.channel_stats ?? [];
    return [t.topic, t.seq, t.partitions ?? 1, t.retained, t.channels.length, sum(cs, "depth"), sum(cs, "in_flight"), sum(cs, "dead"), sum(cs, "consumers")];
  });
  const header = ["TOPIC", "SEQ", "PARTITIONS", "RETAINED", "CHANNELS", "DEPTH", "IN_FLIGHT", "DEAD", "CONSUMERS"];
  await out.list({ topics: list }, list.length && table([header, ...rows]), "No topics.");
  return 0;
}

async function topics(argv) {
  const { opt } = parse(argv, {}, { command: "topics", max: 0 });
  const out = new Output(opt.json);
  const { bus } = await open(opt, "topics", { admin: true });
  const list = await bus.admin.topics();
  const rows = list.map((t) => [t.topic, t.seq, t.partitions ?? 1, t.channels.length ? t.channels.join(",") : "-"]);
  await out.list({ topics: list }, list.length && table([["TOPIC", "SEQ", "PARTITIONS", "CHANNELS"], ...rows]), "No topics.");
  return 0;
}

async function seek(argv) {
  const own = { seq: { type: "string" }, partition: { type: "string" }, time: { type: "string" } };
  const { opt, args } = parse(argv, own, { command: "seek", min: 2, max: 2 });
  const [topic, channel] = args;
  const seq = int(opt, "seq", "seek", { min: 0 });
  const partition = int(opt, "partition", "seek", { max: 63 });
  if ((seq === undefined) === (opt.time === undefined)) throw new UsageError("seek needs --seq N or --time RFC3339 (one of them)", "seek");
  if (partition !== undefined && seq === undefined) throw new UsageError("seek: --partition goes with --seq", "seek");
  if (opt.time !== undefined && !/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(opt.time)) {
    throw new UsageError(`seek: --time must be an RFC 3339 time such as 2026-11-22T00:00:00Z, not '${opt.time}'`, "seek");
  }
  const out = new Output(opt.json);
  const { bus } = await open(opt, "seek");
  const to = seq !== undefined ? { seq, ...(partition !== undefined ? { partition } : {}) } : { time: opt.time };
  const r = await bus.admin.seek(topic, channel, to);
  const from = seq !== undefined ? `seq ${seq}${partition !== undefined ? ` of partition ${partition}` : ""}` : opt.time;
  await out.result({ topic, channel, ...r }, `ismld: Channel='${channel}' of topic='${topic}' now starts at ${from}: ${r.ready} ready.`);
  return 0;
}

async function dead(argv) {
  const own = { limit: { type: "string" }, cursor: { type: "string" }, all: { type: "boolean", default: false } };
  const { opt, args } = parse(argv, own, { command: "dead", min: 3 });
  const [verb, topic, channel, ...ids] = args;
  const out = new Output(opt.json);
  if (verb === "redrive") {
    if (opt.limit !== undefined || opt.cursor !== undefined || opt.all) throw new UsageError("dead redrive takes ids, not --limit, --cursor or --all", "dead");
    const { bus } = await open(opt, "dead");
    const r = await bus.admin.redrive(topic, channel, ids.length ? ids : undefined);
    const what = ids.length ? `${r.redriven} of ${ids.length} given dead letters` : `${r.redriven} dead letter${r.redriven === 1 ? "" : "s"}`;
    await out.result({ topic, channel, ...r }, `ismld: Redrove ${what} of channel='${channel}' of topic='${topic}'.`);
    return 0;
  }
  if (verb !== "ls") throw new UsageError(`dead: unknown subcommand '${verb}' (ls, redrive)`, "dead");
  if (ids.length) throw new UsageError(`dead ls: unexpected argument '${ids[0]}'`, "dead");
  const limit = int(opt, "limit", "dead", { min: 1, max: 1000 }) ?? 100;
  const { bus } = await open(opt, "dead");
  const all = [];
  let cursor = opt.cursor;
  let shown = 0;
  do {
    const page = await bus.admin.deadLetters(topic, channel, { limit, ...(cursor ? { cursor } : {}) });
    cursor = page.cursor;
    if (opt.json && !opt.all) {
      await out.result({ messages: page.messages.map(messageJson), ...(cursor ? { cursor } : {}) }, "");
      return 0;
    }
    if (opt.json) all.push(...page.messages.map(messageJson));
    else for (const d of page.messages) await out.result(null, messageLine(d, { failures: d.failures }));
    shown += page.messages.length;
  } while (opt.all && cursor);
  if (opt.json) await out.result({ messages: all }, "");
  else if (shown === 0) out.note(`No dead letters in channel='${channel}' of topic='${topic}'.`);
  if (cursor && !opt.json) out.note(`More dead letters follow: add --cursor ${cursor} (or --all).`);
  return 0;
}
