// A handler with checkpoints: progress is saved with acknowledge(); a message that comes
// back (timeout, crash, shelve) resumes from its last checkpoint.
//   ISMLD_TOKEN=... node examples/node/subscriber.mjs      (Ctrl-C to stop)
import { Connection } from "ismld";
import { credentials, url } from "./config.mjs";

const bus = new Connection({
  url,
  credentials: { ...credentials, clientId: "example-subscriber" },
  namePrefix: "[DEV]",
  heartbeatInterval: 30_000,
  backoff: 5_000,
  maxAttempts: 3,
});
bus.on("disconnected", (e) => console.log(`disconnected (${e.code}); reconnecting in ${e.reconnectInMs} ms`));
bus.on("error", (e) => console.error("error:", e.error.message));

const work = () => new Promise((resolve) => setTimeout(resolve, 100));
const exitAfter = Number(process.env.ISMLD_EXIT_AFTER ?? 0); // for the tests: stop after N messages
let handled = 0;

const sub = bus.subscribe(
  { topic: "OnPingSent", channel: "OnPingReceivedHandler", handlerTimeout: 60_000, maxInFlight: 3 },
  async (msg) => {
    const progress = msg.checkpoint ?? { counter: 0 };
    while (progress.counter < 3) {
      if (msg.signal.aborted) {
        await msg.shelve(progress); // timeout or connection loss: give it back with our state
        return;
      }
      await work();
      progress.counter += 1;
      await msg.acknowledge(progress); // touch + save the checkpoint
    }
    await msg.finish(progress);
    console.log(`handled seq ${msg.seq} (attempt ${msg.attempt}):`, JSON.stringify(msg.data));
    if (exitAfter && ++handled >= exitAfter) void bus.close();
  },
);
await sub.start();
console.log("subscribed as", sub.fullChannelName);
process.on("SIGINT", () => void bus.close());
