import { ismld } from "./lib.mjs";
import * as s from "./scenarios.mjs";
const a = await ismld();
const r = []; for (let i = 0; i < 4; i++) r.push(Math.round(await s.batchRate(a, 1000, 8)));
const r2 = []; for (let i = 0; i < 4; i++) r2.push(Math.round(await s.batchRate(a, 100, 40)));
console.log("batch1000", r.join(" "), "batch100", r2.join(" "), "rows", JSON.stringify(await s.rowsPerEvent(a, 100)));
await a.stop();
