// Starts the built Worker in workerd (as the e2e tests do) for tests that run outside
// node --test (wasm-pack's browser tests); prints `URL <url>` and runs until killed.
import { rmSync } from "node:fs";
import { ADMIN_TOKEN, startWorker } from "./harness.mjs";

const w = await startWorker();
console.log(`URL ${w.url} TOKEN ${ADMIN_TOKEN}`);
// Miniflare exits the process itself on SIGTERM (stopping workerd), before an async
// handler of ours could run: the temporary state directory goes in the exit handler.
process.on("exit", () => rmSync(w.dir, { recursive: true, force: true }));
const stop = async () => {
  await w.destroy();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
