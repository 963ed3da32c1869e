// `ismld pull <topic> <channel>`: the HTTP pull consumer. Pulls (long-polling up to
// --wait), prints what came, then settles all of it in one call (`--ack fin|req|none`).

import { duration, int, parse, UsageError } from "./args.mjs";
import { open } from "./bus.mjs";
import { messageJson, messageLine, Output } from "./output.mjs";

const OPTIONS = {
  max: { type: "string" },
  wait: { type: "string" },
  ack: { type: "string" },
  visibility: { type: "string" },
  partition: { type: "string" },
  "requeue-delay": { type: "string" },
  "max-attempts": { type: "string" },
};

const ACKS = { fin: "fin", req: "req", none: undefined };

export async function run(_command, argv) {
  const { opt, args } = parse(argv, OPTIONS, { command: "pull", min: 2, max: 2 });
  const [topic, channel] = args;
  const ack = opt.ack ?? "fin";
  if (!(ack in ACKS)) throw new UsageError(`pull: --ack must be fin, req or none, not '${ack}'`, "pull");
  const max = int(opt, "max", "pull", { min: 1, max: 1000 }) ?? 10;
  const waitMs = duration(opt, "wait", "pull") ?? 0;
  if (waitMs > 30_000) throw new UsageError("pull: --wait is at most 30s", "pull");
  const visibilityMs = duration(opt, "visibility", "pull");
  const partition = int(opt, "partition", "pull", { max: 63 });
  const delayMs = duration(opt, "requeue-delay", "pull");
  const maxAttempts = int(opt, "max-attempts", "pull", { min: 0 });
  if (delayMs !== undefined && ack !== "req") throw new UsageError("pull: --requeue-delay goes with --ack req", "pull");
  const out = new Output(opt.json);
  const { bus } = await open(opt, "pull");
  const messages = await bus.admin.pull(topic, channel, strip({ max, waitMs, visibilityMs, partition, maxAttempts }));
  if (!opt.json) for (const m of messages) await out.result(null, messageLine(m, { attempt: m.attempt > 1 ? m.attempt : undefined }));
  let results = [];
  if (ACKS[ack] && messages.length) {
    results = await bus.admin.settle(topic, channel, messages.map((m) => strip({ op: ACKS[ack], id: m.id, delayMs })));
  }
  const failed = results.filter((r) => "error" in r);
  if (opt.json) await out.result({ messages: messages.map(messageJson), ack, results }, "");
  else if (messages.length === 0) out.note(`No messages ready in channel='${channel}' of topic='${topic}'.`);
  else {
    const verb = { fin: "Finished", req: "Requeued" }[ack];
    const n = messages.length - failed.length;
    out.note(verb ? `${verb} ${n} of ${messages.length} message${messages.length === 1 ? "" : "s"}.` : `Left ${messages.length} message${messages.length === 1 ? "" : "s"} in flight until the deadline.`);
  }
  for (const f of failed) out.note(`${f.id}: ${f.error.code}: ${f.error.message}`);
  return failed.length ? 1 : 0;
}

function strip(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
