// One program for every runtime the package supports (Node 20-24, Deno, Bun; the Worker
// fixture does the same in workerd): publish over HTTP and over the publisher socket,
// subscribe, request-response, admin stats, and memory://. Prints one JSON line.
//   ISMLD_URL=... ISMLD_TOKEN=... <runtime> tests/e2e/runtimes/smoke.mjs
import { Connection } from "ismld/memory";

const env = globalThis.process?.env ?? globalThis.Deno?.env.toObject() ?? {};
const runtime = globalThis.Deno ? `deno ${globalThis.Deno.version.deno}` : globalThis.Bun ? `bun ${globalThis.Bun.version}` : `node ${globalThis.process?.version}`;

export async function smoke(url, token, topic) {
  const bus = new Connection({ url, credentials: { token } });
  let got;
  const one = new Promise((r) => (got = r));
  const sub = bus.subscribe({ topic, channel: "smoke" }, (msg) => got(msg.data));
  await sub.start();
  const http = await bus.publish(topic, { via: "http" });
  const socket = new Connection({ url, credentials: { token }, publishing: { via: "socket" } });
  const viaSocket = await socket.publish(topic, { via: "socket" });
  const first = await one;
  const adder = bus.subscribe({ topic: `${topic}.rpc`, channel: "adders" }, (msg) => msg.respond({ sum: msg.data.a + msg.data.b }));
  await adder.start();
  const reply = await bus.request(`${topic}.rpc`, { a: 1, b: 2 }, { timeoutMs: 10_000 });
  const stats = await bus.admin.stats(topic);
  await Promise.all([bus.close(), socket.close()]);

  const mem = new Connection({ url: "memory://smoke" });
  let memGot;
  const memOne = new Promise((r) => (memGot = r));
  await mem.subscribe({ topic: "t", channel: "c" }, (m) => memGot(m.data)).start();
  await mem.publish("t", "in-process");
  const memory = await memOne;
  await mem.close();
  return { seqs: [http.seq, viaSocket.seq], first, sum: reply.data.sum, seq: stats.seq, memory };
}

if (env.ISMLD_URL) {
  const r = await smoke(env.ISMLD_URL, env.ISMLD_TOKEN, env.ISMLD_TOPIC ?? "smoke");
  console.log(JSON.stringify({ runtime, ...r }));
}
