// The conformance rules (conformance/rules.mjs) against the Worker in workerd.
import { before, after } from "node:test";
import { startWorker } from "./harness.mjs";
import { rules } from "./conformance/rules.mjs";
import { workerDriver } from "./conformance/drivers.mjs";

let w;
const driver = workerDriver("");
before(async () => {
  w = await startWorker();
  Object.assign(driver, workerDriver(w.url));
});
after(async () => {
  await w?.destroy();
});
rules(driver);
