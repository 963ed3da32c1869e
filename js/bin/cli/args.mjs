// Argument parsing for every command: the options all commands share, each command's own,
// and the checks that turn bad input into a usage error (exit code 2) before anything is
// sent. Nothing here talks to the bus.

import { parseArgs } from "node:util";
import process from "node:process";

/** A usage error: exit code 2, with the command whose help to point at. */
export class UsageError extends Error {
  /** @param {string} message @param {string} [command] */
  constructor(message, command) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

/** Options every command takes. */
export const COMMON = {
  url: { type: "string" },
  token: { type: "string" },
  "admin-token": { type: "string" },
  login: { type: "string" },
  secret: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
};

/**
 * Parses `argv` with the common options plus `own`. Unknown options, and more or fewer
 * positionals than `min`..`max`, are usage errors of `command`.
 * @param {string[]} argv
 * @param {Record<string, {type: "string" | "boolean", multiple?: boolean, short?: string, default?: unknown}>} own
 * @param {{command: string, min?: number, max?: number}} shape
 */
export function parse(argv, own, { command, min = 0, max = Infinity }) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...COMMON, ...own } });
  } catch (e) {
    // parseArgs's messages name the option; drop its advice about `--` (we take none).
    throw new UsageError(String(e.message).replace(/ To specify a positional argument.*$/s, ""), command);
  }
  const { values, positionals } = parsed;
  if (!values.help) {
    if (positionals.length < min) throw new UsageError(`${command}: missing arguments`, command);
    if (positionals.length > max) throw new UsageError(`${command}: unexpected argument '${positionals[max]}'`, command);
  }
  return { opt: values, args: positionals };
}

/**
 * A whole number option (`undefined` stays undefined).
 * @param {Record<string, unknown>} opt @param {string} name @param {string} command
 * @param {{min?: number, max?: number}} [range]
 */
export function int(opt, name, command, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  const v = opt[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(String(v).trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    const upper = max === Number.MAX_SAFE_INTEGER ? "" : `..${max}`;
    throw new UsageError(`${command}: --${name} must be a whole number ${min}${upper || " or more"}, not '${v}'`, command);
  }
  return n;
}

const UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration option in milliseconds: `1500`, `1500ms`, `2s`, `5m`, `1h`, `7d`.
 * @param {Record<string, unknown>} opt @param {string} name @param {string} command
 */
export function duration(opt, name, command) {
  const v = opt[name];
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(String(v).trim());
  if (!m) throw new UsageError(`${command}: --${name} must be a duration such as 500, 500ms, 30s, 5m or 1h, not '${v}'`, command);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? "ms"]);
}

/**
 * A JSON option.
 * @param {Record<string, unknown>} opt @param {string} name @param {string} command
 */
export function json(opt, name, command) {
  const v = opt[name];
  if (v === undefined) return undefined;
  try {
    return JSON.parse(String(v));
  } catch (e) {
    throw new UsageError(`${command}: --${name} is not JSON: ${e.message}`, command);
  }
}

/** The first non-empty value (empty environment variables count as unset). */
function env(...names) {
  for (const n of names) {
    const v = process.env[n];
    if (v !== undefined && v !== "") return v;
  }
  return undefined;
}

/**
 * The bus URL: --url, else ISMLD_URL, else the local default.
 * @param {Record<string, unknown>} opt @param {string} command
 */
export function busUrl(opt, command) {
  const url = String(opt.url ?? env("ISMLD_URL") ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+/i.test(url)) throw new UsageError(`${command}: --url must be an http:// or https:// URL, not '${url}'`, command);
  return url;
}

/**
 * Who the CLI is to the bus. Flags beat the environment; `--login`/`--secret` (client
 * credentials) beat a token given at the same level; `--admin-token` and
 * ISMLD_ADMIN_TOKEN are aliases of `--token` and ISMLD_TOKEN. `admin: true` asks for a
 * token only (admin endpoints take no client credentials).
 * @param {Record<string, unknown>} opt @param {string} command
 * @returns {{login: string, secret: string} | {token: string} | undefined}
 */
export function credentials(opt, command, { admin = false } = {}) {
  for (const name of ["token", "admin-token", "login", "secret"]) {
    if (opt[name] === "") throw new UsageError(`${command}: --${name} is empty`, command);
  }
  const flagToken = opt.token ?? opt["admin-token"];
  const envToken = env("ISMLD_TOKEN", "ISMLD_ADMIN_TOKEN");
  if (admin) {
    const token = flagToken ?? envToken;
    if (!token) {
      throw new UsageError(`${command} needs the admin token: --token (alias --admin-token), or ISMLD_TOKEN (alias ISMLD_ADMIN_TOKEN)`, command);
    }
    return { token: String(token) };
  }
  // A secret is better kept out of argv: --login with ISMLD_SECRET works.
  if (opt.login !== undefined || opt.secret !== undefined) return basic(opt.login, opt.secret ?? env("ISMLD_SECRET"), command, "--");
  if (flagToken !== undefined) return { token: String(flagToken) };
  const login = env("ISMLD_LOGIN");
  const secret = env("ISMLD_SECRET");
  if (login !== undefined || secret !== undefined) return basic(login, secret, command, "ISMLD_");
  return envToken === undefined ? undefined : { token: envToken };
}

function basic(login, secret, command, how) {
  const [l, s] = how === "--" ? ["--login", "--secret"] : ["ISMLD_LOGIN", "ISMLD_SECRET"];
  if (login === undefined) throw new UsageError(`${command}: ${s} needs ${l} too`, command);
  if (secret === undefined) throw new UsageError(`${command}: ${l} needs ${s} too`, command);
  return { login: String(login), secret: String(secret) };
}

/**
 * Client credentials only (for `ismld token`): flags, else ISMLD_LOGIN / ISMLD_SECRET.
 * An empty secret is refused as such.
 * @param {Record<string, unknown>} opt @param {string} command
 */
export function clientCredentials(opt, command) {
  const login = opt.login ?? env("ISMLD_LOGIN");
  const secret = opt.secret ?? env("ISMLD_SECRET");
  if (login === undefined) throw new UsageError(`${command} needs --login (or ISMLD_LOGIN)`, command);
  if (login === "") throw new UsageError(`${command}: the login is empty`, command);
  if (secret === undefined) throw new UsageError(`${command} needs --secret (or ISMLD_SECRET) for login '${login}'`, command);
  if (secret === "") throw new UsageError(`${command}: the secret is empty: give the secret 'ismld clients add' printed`, command);
  return { login: String(login), secret: String(secret) };
}
