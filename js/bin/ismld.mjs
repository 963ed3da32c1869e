#!/usr/bin/env node
// The ismld command line. Each command lives in js/bin/cli/ and is loaded only when run:
//   ismld pub | sub | tail | stats | topics | seek | dead | pull | bench | daemon | clients | token
// `ismld --help` lists them; `ismld <command> --help` explains one. Exit codes: 0 ok,
// 1 the bus refused, 2 usage error, 3 the bus cannot be reached.

import process from "node:process";
import { readFileSync } from "node:fs";
import { UsageError } from "./cli/args.mjs";
import { COMMANDS, commandHelp, mainHelp } from "./cli/help.mjs";
import { EXIT, isNetworkError, report, Unreachable, write } from "./cli/output.mjs";

/** Which module runs which command. */
const MODULES = {
  pub: "./cli/pub.mjs",
  sub: "./cli/sub.mjs",
  tail: "./cli/sub.mjs",
  stats: "./cli/admin.mjs",
  topics: "./cli/admin.mjs",
  seek: "./cli/admin.mjs",
  dead: "./cli/admin.mjs",
  pull: "./cli/pull.mjs",
  bench: "./cli/bench.mjs",
  daemon: "./cli/daemon.mjs",
  clients: "./cli/clients.mjs",
  token: "./cli/clients.mjs",
};

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    const topic = command === "help" ? rest[0] : undefined;
    if (topic && COMMANDS[topic]) await write(`${commandHelp(topic)}\n`);
    else await write(`${mainHelp()}\n`);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === "--version" || command === "-V") {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    await write(`ismld ${pkg.version}\n`);
    return EXIT.ok;
  }
  if (!MODULES[command]) throw new UsageError(`unknown command '${command}'`);
  if (rest.includes("--help") || rest.includes("-h")) {
    await write(`${commandHelp(command)}\n`);
    return EXIT.ok;
  }
  const mod = await import(MODULES[command]);
  return (await mod.run(command, rest)) ?? EXIT.ok;
}

/** The client's errors for a failed connection may not say why: ask once more, to say it. */
async function why(url, e) {
  try {
    await fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(5_000) });
  } catch (probe) {
    return new Unreachable(url, probe?.cause?.message ?? probe?.message ?? String(probe));
  }
  return e;
}

const argv = process.argv.slice(2);
const json = argv.includes("--json");
let code;
try {
  code = await main(argv);
} catch (e) {
  const i = argv.indexOf("--url");
  const given = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith("--url="))?.slice(6);
  const url = given || process.env.ISMLD_URL || "http://127.0.0.1:8787";
  code = report(isNetworkError(e) && !(e instanceof Unreachable) ? await why(url, e) : e, { json, url });
}
process.exit(code);
