// Bench item 9: the pure core natively, with criterion (benches/core.rs), and the cost of
// channel filters per event (benches/filter.rs).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./lib.mjs";

const CYCLES_PER_ITERATION = 1000;

export function criterion(quick) {
  try {
    const time = quick ? ["--warm-up-time", "1", "--measurement-time", "2"] : ["--warm-up-time", "2", "--measurement-time", "5"];
    execFileSync("cargo", ["bench", "-q", "--bench", "core", "--", ...time], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    const median = (name) => JSON.parse(readFileSync(join(ROOT, `target/criterion/core/${name}/new/estimates.json`), "utf8")).median.point_estimate;
    const nsPerCycle = median("cycles_1000") / CYCLES_PER_ITERATION;
    const nsPerPublished = median("publish_batch_1000") / CYCLES_PER_ITERATION;
    return { nsPerCycle, cyclesPerSecond: 1e9 / nsPerCycle, nsPerPublished };
  } catch (e) {
    return { error: String(e.message ?? e) };
  }
}

/** Per-event cost of filters (ns): reading an event's attributes, an exact filter, a CESQL one, parsing CESQL. */
export function filterCost(quick) {
  try {
    const time = quick ? ["--warm-up-time", "1", "--measurement-time", "2"] : ["--warm-up-time", "2", "--measurement-time", "5"];
    execFileSync("cargo", ["bench", "-q", "--bench", "filter", "--", ...time], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    const ns = (name) =>
      JSON.parse(readFileSync(join(ROOT, `target/criterion/filter/${name}/new/estimates.json`), "utf8")).median.point_estimate;
    return { attributes: ns("attributes_from_json"), exact: ns("exact"), sql: ns("sql"), parse: ns("parse_sql") };
  } catch (e) {
    return { error: String(e.message ?? e) };
  }
}
