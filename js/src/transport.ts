/**
 * How a connection reaches the bus: HTTP + WebSocket to a server, or the in-process
 * `memory://` bus. The rest of the client is the same for both.
 */

import { errorFor, IsmldError, TimeoutError } from "./errors.js";
import { memoryHub, MemoryHub } from "./memory.js";
import type { CloudEvent, ConnectionOptions, WebSocketConstructor, WebSocketLike } from "./types.js";

/** A publish or request body, ready for the wire. */
export interface Body {
  contentType: string;
  bytes: string | Uint8Array;
  /** `ordering_key`, `delay_ms`, `timeout_ms` query parameters. */
  query: Record<string, string>;
}

/** What the client needs from a bus. */
export interface Transport {
  /** POST /v1/topics/{topic}/events: answers the JSON. */
  publish(topic: string, body: Body, retry: boolean): Promise<unknown>;
  /** POST /v1/topics/{topic}/requests: answers the response event. */
  request(topic: string, body: Body, timeoutMs: number): Promise<CloudEvent>;
  /** GET /v1/topics/{topic}. */
  stats(topic: string): Promise<unknown>;
  /** A consumer socket of a channel. */
  socket(topic: string, channel: string): WebSocketLike;
}

/** Makes the transport for a connection's options. */
export function transportFor(o: ConnectionOptions): Transport {
  if (o.url.startsWith("memory:")) return new MemoryTransport(o.url);
  return new HttpTransport(o);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function toBase64(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

class HttpTransport implements Transport {
  private readonly base: string;
  private readonly auth: string | undefined;
  private readonly fetch: typeof globalThis.fetch;
  private readonly WebSocket: WebSocketConstructor | undefined;

  constructor(o: ConnectionOptions) {
    this.base = o.url.replace(/\/+$/, "");
    const c = o.credentials;
    this.auth = !c ? undefined : "token" in c ? `Bearer ${c.token}` : `Basic ${toBase64(`${c.login}:${c.secret}`)}`;
    const f = o.fetch ?? globalThis.fetch;
    if (!f) throw new IsmldError("invalid_request", "no fetch available: pass `fetch` in the options");
    this.fetch = f.bind(globalThis);
    this.WebSocket = o.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketConstructor | undefined);
  }

  private url(path: string, query: Record<string, string> = {}): string {
    const q = new URLSearchParams(query).toString();
    return `${this.base}${path}${q ? `?${q}` : ""}`;
  }

  private async call(method: string, url: string, body?: Body, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.auth) headers["authorization"] = this.auth;
    if (body) headers["content-type"] = body.contentType;
    const init: RequestInit = { method, headers };
    if (body) init.body = body.bytes as BodyInit;
    if (signal) init.signal = signal;
    return this.fetch(url, init);
  }

  private static async fail(res: Response): Promise<never> {
    let code = "internal";
    let message = `HTTP ${res.status}`;
    try {
      const j = (await res.json()) as { error?: { code?: string; message?: string } };
      code = j.error?.code ?? code;
      message = j.error?.message ?? message;
    } catch {
      /* not a contract error body */
    }
    throw errorFor(code, message, res.status);
  }

  async publish(topic: string, body: Body, retry: boolean): Promise<unknown> {
    const url = this.url(`/v1/topics/${encodeURIComponent(topic)}/events`, body.query);
    // Only a publish with an id is safe to repeat (the bus deduplicates it).
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.call("POST", url, body);
      } catch (e) {
        if (!retry || attempt >= 4) throw new IsmldError("disconnected", `publish failed: ${String(e)}`);
        await sleep(Math.random() * 250 * 2 ** attempt);
        continue;
      }
      if (res.status === 201) return res.json();
      if (retry && res.status >= 500 && res.status !== 507 && attempt < 4) {
        await sleep(Math.random() * 250 * 2 ** attempt);
        continue;
      }
      return HttpTransport.fail(res);
    }
  }

  async request(topic: string, body: Body, timeoutMs: number): Promise<CloudEvent> {
    const url = this.url(`/v1/topics/${encodeURIComponent(topic)}/requests`, body.query);
    let res: Response;
    try {
      res = await this.call("POST", url, body, AbortSignal.timeout(timeoutMs + 10_000));
    } catch (e) {
      if (e instanceof Error && e.name === "TimeoutError") throw new TimeoutError("timeout", "no response in time");
      throw new IsmldError("disconnected", `request failed: ${String(e)}`);
    }
    if (res.status === 200) return (await res.json()) as CloudEvent;
    return HttpTransport.fail(res);
  }

  async stats(topic: string): Promise<unknown> {
    const res = await this.call("GET", this.url(`/v1/topics/${encodeURIComponent(topic)}`));
    if (res.status === 200) return res.json();
    return HttpTransport.fail(res);
  }

  socket(topic: string, channel: string): WebSocketLike {
    if (!this.WebSocket) {
      throw new IsmldError("invalid_request", "no WebSocket available: pass `WebSocket` (e.g. from the `ws` package) in the options");
    }
    const ws = this.base.replace(/^http/, "ws");
    return new this.WebSocket(`${ws}/v1/topics/${encodeURIComponent(topic)}/channels/${encodeURIComponent(channel)}/ws`);
  }
}

class MemoryTransport implements Transport {
  constructor(private readonly url: string) {}

  /** Made on first use: the wasm core may still be loading when the connection is made. */
  private get hub(): MemoryHub {
    return memoryHub(this.url);
  }

  async publish(topic: string, body: Body): Promise<unknown> {
    return JSON.parse(await this.hub.publish(topic, body, false));
  }

  async request(topic: string, body: Body, timeoutMs: number): Promise<CloudEvent> {
    return this.hub.request(topic, body, timeoutMs);
  }

  async stats(topic: string): Promise<unknown> {
    return this.hub.stats(topic);
  }

  socket(topic: string, channel: string): WebSocketLike {
    return this.hub.socket(topic, channel);
  }
}
