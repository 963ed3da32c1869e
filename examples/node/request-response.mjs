// Request-response: a responder answers rpc.add requests; a caller waits for the answer.
//   ISMLD_TOKEN=... node examples/node/request-response.mjs
import { Connection } from "ismld";
import { credentials, url } from "./config.mjs";

const bus = new Connection({ url, credentials });

const responder = bus.subscribe({ topic: "rpc.add", channel: "adders" }, async (msg) => {
  await msg.respond({ sum: msg.data.a + msg.data.b });
});
await responder.start();

const reply = await bus.request("rpc.add", { a: 1, b: 2 }, { timeoutMs: 5_000 });
console.log("1 + 2 =", reply.data.sum, `(${reply.event.type} from ${reply.event.source})`);
await bus.close();
