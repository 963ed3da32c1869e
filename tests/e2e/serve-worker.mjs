// Starts the built Worker in workerd (as the e2e tests do) for tests that run outside
// node --test (wasm-pack's browser tests); prints `URL <url>` and runs until killed.
import { ADMIN_TOKEN, startWorker } from "./harness.mjs";

const w = await startWorker();
console.log(`URL ${w.url} TOKEN ${ADMIN_TOKEN}`);
const stop = async () => {
  await w.destroy();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
