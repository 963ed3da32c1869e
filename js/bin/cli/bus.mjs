// The CLI's way to the bus: a `Connection` of the package's own client (js/dist, loaded
// only by the commands that need it), and, for what the client's API does not offer yet,
// direct HTTP calls with the same URL, credentials and error codes:
//   - publishing to an explicit partition (`?partition=P`: `publish` has no such option);
//   - sockets of a partitioned topic: the subscriber and the publisher socket open `.../ws`
//     without `?partition=` (the bus answers 409), so the CLI gives each partition its own
//     connection whose WebSocket adds it, and routes publishes itself by the bus's public
//     rule (`route` below).

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

/** The WebSocket constructor of this runtime: Node 22's own, else the `ws` package. */
async function webSocketClass() {
  if (typeof globalThis.WebSocket === "function") return globalThis.WebSocket;
  const name = "ws"; // optional dependency
  const ws = await import(name).catch(() => undefined);
  return ws?.WebSocket ?? ws?.default;
}

/** A WebSocket constructor whose sockets go to partition `p` (unless the URL names one). */
function partitionWebSocket(Base, p) {
  return class extends Base {
    constructor(url, ...rest) {
      const u = new URL(url);
      if (!u.searchParams.has("partition")) u.searchParams.set("partition", String(p));
      super(u.toString(), ...rest);
    }
  };
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
    /** Another connection with these options; `partition` pins its sockets to one partition. */
    async connect(options = {}, partition) {
      const extra = { ...options };
      if (partition !== undefined) {
        const Base = await webSocketClass();
        if (!Base) throw new Error("no WebSocket in this runtime: install the `ws` package (Node 20)");
        extra.WebSocket = partitionWebSocket(Base, partition);
      }
      return new api.Connection({ ...base, ...connection, ...extra });
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

/** A topic's partition count (1 for a topic that does not exist yet). */
export async function partitionsOf(ctx, topic) {
  try {
    const s = await ctx.bus.admin.stats(topic);
    return s.partitions ?? 1;
  } catch (e) {
    if (e?.code === "not_found") return 1; // a first subscriber makes it
    throw e;
  }
}

/** FNV-1a, 32 bits, of the UTF-8 bytes (the bus's routing hash). */
export function fnv1a32(text) {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) h = Math.imul(h ^ b, 16777619);
  return h >>> 0;
}

/** The partition the bus would pick: by ordering key, else by source and id; undefined: any. */
export function route(partitions, { key, source, id }) {
  if (partitions <= 1) return 0;
  if (key) return fnv1a32(key) % partitions;
  if (id !== undefined) return fnv1a32(`${source}\n${id}`) % partitions;
  return undefined;
}

/**
 * Publisher sockets: `publish(topic, data, options, p)` goes over partition p's socket
 * (with `partitioned`: one connection per partition, made when first used, whose socket
 * carries `?partition=p`), else over the topic's one socket.
 */
export function publishers(ctx, { partitioned, publishing = {} }) {
  const conns = new Map();
  const conn = (p) => {
    if (!conns.has(p)) conns.set(p, ctx.connect({ publishing: { via: "socket", ...publishing } }, partitioned ? p : undefined));
    return conns.get(p);
  };
  return {
    async publish(topic, data, options, p = 0) {
      return (await conn(p)).publish(topic, data, options);
    },
    async close() {
      await Promise.allSettled([...conns.values()].map(async (c) => (await c).close()));
    },
  };
}

/** `/v1/topics/{t}`, encoded. */
export function topicPath(topic) {
  return `/v1/topics/${encodeURIComponent(topic)}`;
}
