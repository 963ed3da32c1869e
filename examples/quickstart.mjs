import { Connection } from "ismld";

// Node: ISMLD_URL and ISMLD_TOKEN from the environment; a page: ?ISMLD_URL=...&ISMLD_TOKEN=...
const env = globalThis.process?.env ?? Object.fromEntries(new URLSearchParams(globalThis.location?.search));
const bus = new Connection({
  url: env.ISMLD_URL ?? "http://127.0.0.1:8787", // or "memory://" (import from "ismld/memory")
  credentials: { token: env.ISMLD_TOKEN }, // or { login, secret, clientId } of a client
  namePrefix: "[DEV]",
});

let handled;
const done = new Promise((resolve) => (handled = resolve));
const sub = bus.subscribe({ topic: "OnPingSent", channel: "quickstart", maxInFlight: 3 }, async (msg) => {
  const progress = msg.checkpoint ?? { counter: 0 }; // restored on redelivery
  while (progress.counter < 3) {
    if (msg.signal.aborted) return msg.shelve(progress); // timeout or connection lost
    progress.counter += 1;
    await msg.acknowledge(progress); // touch + save the checkpoint
  }
  await msg.finish(progress);
  handled(msg.data);
});
await sub.start();
console.log("subscribed", sub.fullChannelName);

const meta = await bus.publish("OnPingSent", { message: "Hello World" });
console.log("published", meta.id, "seq", meta.seq, "handled", JSON.stringify(await done));

const adder = bus.subscribe({ topic: "rpc.add", channel: "adders" }, (msg) => msg.respond({ sum: msg.data.a + msg.data.b }));
await adder.start();
const reply = await bus.request("rpc.add", { a: 1, b: 2 }, { timeoutMs: 5_000 });
console.log("1 + 2 =", reply.data.sum);
await bus.close();
