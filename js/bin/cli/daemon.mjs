// `ismld daemon up [--bind HOST:PORT]`: the bus is a Cloudflare Worker, so "running it"
// means a checkout's `scripts/dev.sh` (what `npm run dev` runs: builds the Worker and the
// client, then `wrangler dev` on IP:PORT with state in .wrangler/state). The CLI runs it
// in its own process group, passes its output to stderr, prints the URL on stdout once
// `GET /v1/health` answers, and stops it on Ctrl-C. An installed package has no checkout:
// it prints how to run or deploy the bus instead.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parse, UsageError } from "./args.mjs";
import { Output } from "./output.mjs";

const OPTIONS = { bind: { type: "string" }, checkout: { type: "string" }, "allow-anonymous": { type: "string" } };

/** `HOST:PORT`, `[v6]:PORT`, `:PORT` or `PORT`. */
export function parseBind(text) {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError(`daemon: --bind must be HOST:PORT (such as 127.0.0.1:8787), not '${text}'`, "daemon");
  const host = m[1] || "127.0.0.1";
  return { ip: host.replace(/^\[|\]$/g, ""), port, url: `http://${host}:${port}` };
}

const isCheckout = (dir) => existsSync(join(dir, "scripts", "dev.sh")) && existsSync(join(dir, "wrangler.toml"));

const HOW = `The bus is a Cloudflare Worker; this installed package has the client and the CLI only.
To run it locally, from a checkout of ismld (Rust with rustup, Node 20+ and npm):
  npm run dev                      # or: ismld daemon up --checkout DIR [--bind 127.0.0.1:8787]
To deploy it to Cloudflare, from the checkout:
  npx wrangler secret put ADMIN_TOKEN
  npx wrangler deploy
Then point the CLI at it: export ISMLD_URL=https://<your worker> ISMLD_TOKEN=<admin token>`;

export async function run(_command, argv) {
  const { opt, args } = parse(argv, OPTIONS, { command: "daemon", min: 1, max: 1 });
  if (args[0] !== "up") throw new UsageError(`daemon: unknown subcommand '${args[0]}' (up)`, "daemon");
  const bind = parseBind(opt.bind ?? "127.0.0.1:8787");
  const anonymous = opt["allow-anonymous"];
  if (anonymous !== undefined && anonymous !== "true" && anonymous !== "false") {
    throw new UsageError(`daemon: --allow-anonymous is true or false, not '${anonymous}'`, "daemon");
  }
  const out = new Output(opt.json);
  const given = opt.checkout ?? (process.env.ISMLD_CHECKOUT || undefined);
  if (given !== undefined && !isCheckout(resolve(given))) {
    throw new UsageError(`daemon: ${resolve(given)} is not a checkout of ismld (no scripts/dev.sh and wrangler.toml)`, "daemon");
  }
  const own = fileURLToPath(new URL("../../../", import.meta.url));
  const checkout = given !== undefined ? resolve(given) : isCheckout(own) ? own : undefined;
  if (!checkout) {
    await out.result({ checkout: null, url: bind.url, how: HOW }, `ismld: No checkout of ismld here.\n${HOW}`);
    return 0;
  }
  out.note(`Starting the bus from ${checkout} (scripts/dev.sh) on ${bind.url}; the first run builds for a few minutes.`);
  const env = { ...process.env, IP: bind.ip, PORT: String(bind.port) };
  if (anonymous !== undefined) env.ALLOW_ANONYMOUS = anonymous;
  const child = spawn("bash", ["scripts/dev.sh"], { cwd: checkout, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(process.stderr);
  child.stderr.pipe(process.stderr);
  let ended = false;
  const exited = new Promise((r) =>
    child.once("exit", (code, signal) => {
      ended = true;
      r({ code, signal });
    }),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    try {
      process.kill(-child.pid, "SIGINT"); // wrangler, workerd and the build: the whole group
    } catch {
      /* gone already */
    }
    setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }, 5_000).unref();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);

  const up = await Promise.race([healthy(bind.url, () => stopping || ended), exited.then(() => false)]);
  if (up) {
    const hint = `admin token in ${join(checkout, ".dev.vars")}`;
    await out.result({ url: bind.url, checkout, pid: child.pid }, `ismld: The bus is up at ${bind.url} (${hint}); Ctrl-C stops it.`);
  }
  const { code, signal } = await exited;
  if (stopping) return 0;
  if (!up) process.stderr.write(`ismld: scripts/dev.sh ended (${signal ?? `exit code ${code}`}) before the bus answered at ${bind.url}\n`);
  return code === 0 ? 0 : 1;
}

/** Resolves true once `GET /v1/health` answers ok (false if told to give up). */
async function healthy(url, givenUp) {
  for (;;) {
    if (givenUp()) return false;
    try {
      const r = await fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(2_000) });
      if (r.ok && (await r.json())?.ok) return true;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
