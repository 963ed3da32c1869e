// Publishes a few events: plain data, an idempotent one (with an id), a batch.
//   ISMLD_TOKEN=... node examples/node/publisher.mjs
import { Connection } from "ismld";
import { credentials, url } from "./config.mjs";

const bus = new Connection({ url, credentials, namePrefix: "[DEV]" });

const meta = await bus.publish("OnPingSent", { message: "Hello World" }, { orderingKey: "user-1" });
console.log("published", meta.id, "seq", meta.seq);

// With an id the publish is idempotent: sending it twice appends it once.
const again = await bus.publish("OnPingSent", { message: "once" }, { id: "ping-42" });
const dup = await bus.publish("OnPingSent", { message: "once" }, { id: "ping-42" });
console.log("idempotent", again.seq, dup.seq, "duplicate:", dup.duplicate);

const batch = await bus.publishBatch("OnPingSent", [{ data: { n: 1 } }, { data: { n: 2 }, delayMs: 1_000 }]);
console.log("batch seqs", batch.map((r) => r.seq).join(", "));
await bus.close();
