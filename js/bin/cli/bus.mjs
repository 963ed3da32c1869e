// The CLI's way to the bus: a `Connection` of the package's own client (js/dist, loaded
// only by the commands that need it; it handles partitioned topics itself: a socket per
// partition, publishes routed by the bus's rule, `partition` to pin one), and direct HTTP
// calls with the same URL, credentials and error codes for what its API does not offer.

import { Buffer } from "node:buffer";
import { busUrl, credentials } from "./args.mjs";
import { Unreachable } from "./output.mjs";

let client;
/** The package's client (the Node entry: js/dist/node.js). */
export async function loadClient() {
  if (!client) {
    try {
      client = await import("../../dist/node.js");
    } catch (e) {
      if (e?.code !== "ERR_MODULE_NOT_FOUND") throw e;
      throw new Error("the client is not built (js/dist is missing): run `bash scripts/build-client.sh` in the checkout");
    }
  }
  return client;
}

/**
 * Everything a command needs to reach the bus.
 * @param {Record<string, unknown>} opt parsed options
 * @param {string} command for usage errors
 * @param {{admin?: boolean, connection?: Record<string, unknown> | ((creds: unknown) => Record<string, unknown>)}} [how]
 *   `connection`: options of the connections (or a function of the credentials in force)
 */
export async function open(opt, command, { admin = false, connection: given = {} } = {}) {
  const url = busUrl(opt, command);
  const creds = credentials(opt, command, { admin });
  const connection = typeof given === "function" ? given(creds) : given;
  const api = await loadClient();
  const base = { url, ...(creds ? { credentials: creds } : {}), connectTimeout: 10_000 };
  const authorization = !creds
    ? undefined
    : "token" in creds
      ? `Bearer ${creds.token}`
      : `Basic ${Buffer.from(`${creds.login}:${creds.secret}`).toString("base64")}`;
  const ctx = {
    url,
    api,
    credentials: creds,
    /** The connection (one per command; more with `connect`). */
    bus: new api.Connection({ ...base, ...connection }),
    /** Another connection with these options. */
    connect(options = {}) {
      return new api.Connection({ ...base, ...connection, ...options });
    },
    /**
     * A direct HTTP call: the answer's JSON, or the contract's error as an `IsmldError`.
     * @param {string} method @param {string} path (segments encoded)
     * @param {{query?: Record<string, string>, body?: string | Uint8Array, contentType?: string, json?: unknown}} [o]
     */
    async http(method, path, o = {}) {
      const q = new URLSearchParams(o.query ?? {}).toString();
      const headers = {};
      if (authorization) headers.authorization = authorization;
      let body = o.body;
      if (o.json !== undefined) body = JSON.stringify(o.json);
      if (o.contentType || o.json !== undefined) headers["content-type"] = o.contentType ?? "application/json";
      let res;
      try {
        res = await fetch(`${url}${path}${q ? `?${q}` : ""}`, { method, headers, body });
      } catch (e) {
        throw new Unreachable(url, e?.cause?.message ?? e?.message ?? String(e));
      }
      const text = await res.text();
      let parsed;
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = undefined;
      }
      if (res.status >= 400) {
        const err = parsed?.error;
        const code = typeof err?.code === "string" ? err.code : res.status === 404 ? "not_found" : "internal";
        throw new api.IsmldError(code, err?.message ?? (text || `HTTP ${res.status}`), res.status);
      }
      return parsed ?? text;
    },
  };
  return ctx;
}

/**
 * Asks for the topic's partition count over HTTP: an unreachable bus or refused
 * credentials are reported at once (a socket would only retry). A topic not made yet is
 * fine (a first subscriber or publisher makes it).
 */
export async function reach(ctx, topic) {
  await ctx.http("GET", `${topicPath(topic)}/partitions`).catch((e) => {
    if (e?.code !== "not_found") throw e;
  });
}

/** `/v1/topics/{t}`, encoded. */
export function topicPath(topic) {
  return `/v1/topics/${encodeURIComponent(topic)}`;
}
