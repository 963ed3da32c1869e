// How every command speaks: human text by default, one JSON document per line with
// `--json`; results on stdout, progress and notes on stderr (always prefixed `ismld: `),
// errors on stderr with the exit code scripts test:
//   0 ok, 1 the bus refused (its contract code and message), 2 usage, 3 bus unreachable.

import process from "node:process";
import { UsageError } from "./args.mjs";

export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 };

/** The bus could not be reached (connection refused, DNS, TLS, a socket that never opens). */
export class Unreachable extends Error {
  /** @param {string} url @param {string} why */
  constructor(url, why) {
    super(`cannot reach the bus at ${url}: ${why}`);
    this.name = "Unreachable";
  }
}

/** Writes to stdout; resolves once the text was handed to the OS (pipes included). */
export function write(text) {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once("drain", resolve);
  });
}

/** The output of one command. */
export class Output {
  /** @param {boolean} json */
  constructor(json) {
    this.json = json;
  }

  /** A result: `value` as one JSON line with --json, else `human` (lines of text). */
  result(value, human) {
    return write(this.json ? `${JSON.stringify(value)}\n` : `${human}\n`);
  }

  /** A list: `value` with --json; else `human`, or, when the list is empty, `empty` as a note. */
  async list(value, human, empty) {
    if (this.json || human) return this.result(value, human);
    this.note(empty);
  }

  /** A note for the person at the terminal (stderr), in both modes. */
  note(text) {
    process.stderr.write(`ismld: ${text}\n`);
  }
}

/**
 * Aligned columns: `rows` are arrays of cells, the first row the header.
 * @param {Array<Array<unknown>>} rows
 */
export function table(rows) {
  const cells = rows.map((r) => r.map((c) => (c === undefined || c === null ? "-" : String(c))));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n");
}

/** An event's data on one line: JSON values as JSON, text as text (escaped if it spans lines), bytes as base64. */
export function dataText(event) {
  if (event?.data !== undefined) {
    const d = event.data;
    if (typeof d === "string") return /[\u0000-\u001f]/.test(d) ? JSON.stringify(d) : d;
    return JSON.stringify(d);
  }
  if (typeof event?.data_base64 === "string") return `base64:${event.data_base64}`;
  return "(no data)";
}

/** One line for a delivered, pulled or dead message. */
export function messageLine(m, extra = {}) {
  const fields = { seq: m.seq, partition: m.partition ?? 0, id: m.id, ...extra, type: m.event?.type };
  const head = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  return `${head} ${dataText(m.event)}`;
}

/** What a delivered message looks like with --json. */
export function messageJson(m) {
  const out = { id: m.id, seq: m.seq, partition: m.partition ?? 0 };
  for (const k of ["attempt", "failures", "deadline", "checkpoint"]) if (m[k] !== undefined) out[k] = m[k];
  out.event = m.event;
  return out;
}

/** Why a fetch or a socket failed, from Node's error and its cause. */
export function networkCause(e) {
  const c = e?.cause;
  if (c?.code) return c.message || c.code;
  if (c?.errors?.[0]?.message) return c.errors[0].message;
  return c?.message ?? e?.message ?? String(e);
}

/** Whether an error is a failure to reach the bus rather than an answer from it. */
export function isNetworkError(e) {
  if (e instanceof Unreachable) return true;
  if (e?.name === "TypeError" && /fetch failed/i.test(e.message)) return true;
  // The client wraps a failed HTTP publish as `disconnected` (status 0).
  return e?.code === "disconnected" && /fetch failed|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|socket/i.test(e.message ?? "");
}

/**
 * Prints an error the way the mode says and answers its exit code.
 * @param {unknown} e @param {{json: boolean, url?: string}} how
 */
export function report(e, { json, url }) {
  let code, status, message, exit;
  if (e instanceof UsageError) {
    [code, message, exit] = ["usage", e.message, EXIT.usage];
  } else if (isNetworkError(e)) {
    message = e instanceof Unreachable ? e.message : `cannot reach the bus at ${url}: ${networkCause(e)}`;
    [code, exit] = ["unreachable", EXIT.unreachable];
  } else if (e && typeof e === "object" && typeof e.code === "string" && "status" in e) {
    // An IsmldError: the contract's code and message.
    [code, status, message, exit] = [e.code, e.status, e.message, EXIT.refused];
  } else {
    [code, message, exit] = ["internal", e instanceof Error ? e.message : String(e), EXIT.refused];
    if (process.env.ISMLD_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  }
  if (json) {
    process.stderr.write(`${JSON.stringify({ error: { code, message, ...(status ? { status } : {}) } })}\n`);
  } else if (exit === EXIT.usage) {
    const help = e.command ? `ismld ${e.command} --help` : "ismld --help";
    process.stderr.write(`ismld: ${message}\nRun '${help}' for usage.\n`);
  } else if (exit === EXIT.refused && code !== "internal") {
    process.stderr.write(`ismld: ${code}: ${message}${status ? ` (HTTP ${status})` : ""}\n`);
  } else {
    process.stderr.write(`ismld: ${message}\n`);
  }
  return exit;
}
