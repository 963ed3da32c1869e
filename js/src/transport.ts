/**
 * How a connection reaches the bus: HTTP + WebSocket to a server, or the in-process
 * `memory://` bus (registered by the `ismld/memory` entry). The rest of the client, the
 * admin API included, is the same for both: everything goes through {@link Transport.http}.
 */

import type { CredentialSource } from "./credentials.js";
import { errorFor, IsmldError, InvalidRequestError } from "./errors.js";
import type { ConnectionOptions, PublishResult, WebSocketConstructor, WebSocketLike } from "./types.js";

/** An HTTP call of the API. */
export interface HttpCall {
  method: string;
  /** Path as on a server, e.g. `/v1/topics/t/events` (segments already encoded). */
  path: string;
  query?: Record<string, string>;
  contentType?: string;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

/** An answer: status and body text. Errors (4xx/5xx) are thrown as `IsmldError`s. */
export interface HttpAnswer {
  status: number;
  text: string;
}

/** What the client needs from a bus. */
export interface Transport {
  /** Whether sockets are available (a WebSocket constructor, or the memory bus). */
  readonly sockets: boolean;
  /** Whether this is the in-process bus. */
  readonly memory: boolean;
  /** One HTTP call; rejects with the contract's error for a 4xx/5xx. */
  http(call: HttpCall): Promise<HttpAnswer>;
  /**
   * A consumer socket of a channel, or the topic's publisher socket (no channel); with
   * `partition`, the socket of that partition of a partitioned topic (`?partition=P`).
   */
  socket(topic: string, channel?: string, partition?: number): WebSocketLike;
}

/** Makes a transport for options (the `ismld/memory` entry registers `memory:`). */
export type TransportFactory = (o: ConnectionOptions, credentials: CredentialSource) => Transport;
const factories = new Map<string, TransportFactory>();

/** @internal Registers the transport of a URL scheme (e.g. `memory:`). */
export function registerTransport(scheme: string, factory: TransportFactory): void {
  factories.set(scheme, factory);
}

/** The transport for a connection's options. */
export function transportFor(o: ConnectionOptions, credentials: CredentialSource): Transport {
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(o.url)?.[0]?.toLowerCase() ?? "";
  const factory = factories.get(scheme);
  if (factory) return factory(o, credentials);
  if (scheme === "memory:") {
    throw new InvalidRequestError(
      "invalid_request",
      'memory:// is in its own entry, so the main one carries no queue core: import { Connection } from "ismld/memory" (or import "ismld/memory" once, anywhere)',
    );
  }
  if (scheme !== "http:" && scheme !== "https:") throw new InvalidRequestError("invalid_request", `url must be http(s):// or memory://, got ${o.url}`);
  return new HttpTransport(o, credentials);
}

/** The contract's error of an answer body. */
export function httpError(status: number, text: string): IsmldError {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown }; topic?: string; results?: unknown };
    // Not the contract's body (a proxy's `{"error":"Not Found"}`): typed by the status.
    if (typeof body?.error !== "object" || body.error === null) return errorFor("", text || `HTTP ${status}`, status);
    const { code, message } = body.error;
    const e = errorFor(typeof code === "string" ? code : "", typeof message === "string" ? message : text || `HTTP ${status}`, status);
    // A batch refused in part (a partitioned topic): each event's outcome, in input order.
    if (Array.isArray(body.results)) {
      const topic = body.topic ?? "";
      e.results = body.results.map((r: { error?: { code: string; message: string } } & Omit<PublishResult, "topic">) =>
        r.error ? { error: errorFor(r.error.code, r.error.message) } : { topic, ...r, partition: r.partition ?? 0 },
      );
    }
    return e;
  } catch {
    return errorFor("", text || `HTTP ${status}`, status);
  }
}

/** Encodes a path segment (a name). */
export const seg = encodeURIComponent;

/** The default WebSocket of the runtime: the platform's, or one the entry found (`ws` on Node 20). */
let fallbackWebSocket: WebSocketConstructor | undefined;
/** @internal Set by the Node entry when the runtime has no WebSocket of its own. */
export function setFallbackWebSocket(ws: WebSocketConstructor | undefined): void {
  fallbackWebSocket = ws;
}

class HttpTransport implements Transport {
  readonly memory = false;
  private readonly base: string;
  private readonly fetch: typeof globalThis.fetch;
  private readonly WebSocket: WebSocketConstructor | undefined;

  constructor(
    o: ConnectionOptions,
    private readonly credentials: CredentialSource,
  ) {
    this.base = o.url.replace(/\/+$/, "");
    const f = o.fetch ?? globalThis.fetch;
    if (!f) throw new InvalidRequestError("invalid_request", "no fetch available: pass `fetch` in the options");
    this.fetch = f.bind(globalThis);
    this.WebSocket = o.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketConstructor | undefined) ?? fallbackWebSocket;
  }

  get sockets(): boolean {
    return !!this.WebSocket;
  }

  async http(c: HttpCall): Promise<HttpAnswer> {
    const q = new URLSearchParams(c.query ?? {}).toString();
    const url = `${this.base}${c.path}${q ? `?${q}` : ""}`;
    // A 401 changed nothing: with a token provider, ask for a fresh token and try once more.
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {};
      const auth = await this.credentials.header(attempt > 0);
      if (auth) headers["authorization"] = auth;
      if (c.contentType) headers["content-type"] = c.contentType;
      const init: RequestInit = { method: c.method, headers };
      if (c.body !== undefined) init.body = c.body as BodyInit;
      if (c.signal) init.signal = c.signal;
      const res = await this.fetch(url, init);
      const text = await res.text();
      if (res.status === 401 && attempt === 0 && this.credentials.refreshable) continue;
      if (res.status >= 400) throw httpError(res.status, text);
      return { status: res.status, text };
    }
  }

  socket(topic: string, channel?: string, partition?: number): WebSocketLike {
    if (!this.WebSocket) {
      throw new InvalidRequestError("invalid_request", "no WebSocket available: install the `ws` package (Node 20) or pass `WebSocket` in the options");
    }
    const ws = this.base.replace(/^http/, "ws");
    const path = channel === undefined ? `/v1/topics/${seg(topic)}/ws` : `/v1/topics/${seg(topic)}/channels/${seg(channel)}/ws`;
    return new this.WebSocket(`${ws}${path}${partition === undefined ? "" : `?partition=${partition}`}`);
  }
}
