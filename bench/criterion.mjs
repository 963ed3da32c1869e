// Bench item 9: the pure core natively, with criterion (benches/core.rs).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./lib.mjs";

const CYCLES_PER_ITERATION = 1000;

export function criterion(quick) {
  try {
    const time = quick ? ["--warm-up-time", "1", "--measurement-time", "2"] : ["--warm-up-time", "2", "--measurement-time", "5"];
    execFileSync("cargo", ["bench", "-q", "--bench", "core", "--", ...time], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    const est = JSON.parse(readFileSync(join(ROOT, "target/criterion/core/cycles_1000/new/estimates.json"), "utf8"));
    const nsPerCycle = est.median.point_estimate / CYCLES_PER_ITERATION;
    return { nsPerCycle, cyclesPerSecond: 1e9 / nsPerCycle };
  } catch (e) {
    return { error: String(e.message ?? e) };
  }
}
