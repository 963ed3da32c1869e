/**
 * The `memory://` bus: the server's queue core, compiled to wasm, running in this
 * process. Connections with the same `memory://name` URL share one bus. Its sockets are
 * in-process objects with the WebSocket interface, so subscribers run the very same
 * protocol code as against a server. Nothing is durable: the bus lives as long as the
 * page or process.
 */

import { WasmMemoryBus } from "../wasm/ismld_memory.js";
import { fromWasm, IsmldError, TimeoutError, InvalidRequestError } from "./errors.js";
import { type HttpAnswer, type HttpCall, httpError, registerTransport, seg, type Transport } from "./transport.js";
import type { WebSocketLike } from "./types.js";

/** Called by the `ismld/memory` entries once the memory wasm is loaded: `memory://` URLs work from then on. */
export function installMemory(): void {
  registerTransport("memory:", (o) => new MemoryTransport(o.url));
}

/** The client calls of the admin API that a memory bus has no notion of (it has no credentials). */
const SERVER_ONLY = /^\/v1\/(clients|tokens)(\/|$)|^\/metrics$/;

class MemoryTransport implements Transport {
  readonly sockets = true;
  readonly memory = true;
  constructor(private readonly url: string) {}

  async http(c: HttpCall): Promise<HttpAnswer> {
    if (SERVER_ONLY.test(c.path)) {
      throw new InvalidRequestError("invalid_request", `${c.method} ${c.path} needs a server: memory:// has no clients, tokens or metrics (only the topic operations)`);
    }
    if (c.path === "/v1/health") return { status: 200, text: '{"ok":true,"version":"memory"}' };
    if (c.path === "/v1/topics" && c.method === "GET") return { status: 200, text: JSON.stringify(memoryHub(this.url).topics()) };
    c.signal?.throwIfAborted();
    const answer = memoryHub(this.url).call(c.method, c.path, c.query ?? {}, c.contentType, c.body ?? "");
    if (!c.signal) return answer;
    const signal = c.signal;
    return Promise.race([
      answer,
      new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true })),
    ]);
  }

  socket(topic: string, channel?: string, partition?: number): WebSocketLike {
    // memory:// topics have one partition: only a socket of partition 0 exists.
    if (partition !== undefined && partition !== 0) throw new InvalidRequestError("invalid_request", `memory:// topics have one partition: there is no partition ${partition}`);
    return memoryHub(this.url).socket(topic, channel);
  }
}

const hubs = new Map<string, MemoryHub>();

/** The shared bus of a `memory://` URL. */
export function memoryHub(url: string): MemoryHub {
  let hub = hubs.get(url);
  if (!hub) {
    hub = new MemoryHub();
    hubs.set(url, hub);
  }
  return hub;
}

/** What the wasm bus asks of its TypeScript half: the broker's outputs, with their topic. */
type Output =
  | { to: "send"; topic: string; socket: number; text: string }
  | { to: "close"; topic: string; socket: number; code: number; reason: string }
  | { to: "response"; topic: string; seq: number; event: string }
  | { to: "pull_ready"; topic: string; waiter: number; body: string };

/** What the wasm bus answers an HTTP operation. */
type BusAnswer =
  | { await: "done"; topic: string; status: number; body: string }
  | { await: "response"; topic: string; seq: number; id: string; timeout_ms: number }
  | { await: "pull"; topic: string; waiter: number; wait_ms: number };

/** One in-process bus and its virtual sockets. */
export class MemoryHub {
  private readonly bus = new WasmMemoryBus(Math.floor(Math.random() * 0xffff));
  private readonly sockets = new Map<number, MemorySocket>();
  private readonly waiting = new Map<string, Array<(event: string) => void>>();
  private readonly pulls = new Map<number, (body: string) => void>();
  /** Topics used so far (for the topic list). */
  private readonly known = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt: number | undefined;
  /** The HTTP status of the last answer of {@link MemoryHub.http} (tests). */
  lastStatus = 0;

  /**
   * An HTTP operation of the API on a topic (`path` as on a server, e.g.
   * `/v1/topics/t/events`): resolves the JSON body, rejects with the contract's error.
   */
  async http(method: string, path: string, query: Record<string, string>, contentType: string | undefined, body: string | Uint8Array = ""): Promise<string> {
    return (await this.call(method, path, query, contentType, body)).text;
  }

  /** {@link MemoryHub.http} with the status. */
  async call(method: string, path: string, query: Record<string, string>, contentType: string | undefined, body: string | Uint8Array = ""): Promise<HttpAnswer> {
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
    let answer: BusAnswer;
    try {
      answer = JSON.parse(this.bus.http(Date.now(), method, path, JSON.stringify(Object.entries(query)), contentType, bytes)) as BusAnswer;
    } finally {
      this.flush();
    }
    if (answer.await === "done") {
      this.lastStatus = answer.status;
      if (answer.status >= 400) throw httpError(answer.status, answer.body);
      if (answer.status === 201 && /^\/v1\/topics\/[^/]+\/(events|channels\/)/.test(path)) this.known.add(decodeURIComponent(path.split("/")[3] ?? ""));
      return { status: answer.status, text: answer.body };
    }
    this.lastStatus = 200;
    if (answer.await === "pull") {
      const { topic, waiter, wait_ms } = answer;
      return new Promise<HttpAnswer>((resolve) => {
        const timer = setTimeout(() => {
          this.pulls.delete(waiter);
          resolve({ status: 200, text: this.bus.pullExpired(topic, waiter) ?? '{"messages":[]}' });
          this.flush();
        }, wait_ms);
        this.pulls.set(waiter, (b) => {
          clearTimeout(timer);
          resolve({ status: 200, text: b });
        });
      });
    }
    const { topic, seq, id, timeout_ms } = answer;
    const key = `${topic}\u0000${seq}`;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const done = (event: string) => {
        clearTimeout(timer);
        resolve({ status: 200, text: event });
      };
      const timer = setTimeout(() => {
        const list = (this.waiting.get(key) ?? []).filter((w) => w !== done);
        if (list.length) this.waiting.set(key, list);
        else this.waiting.delete(key);
        reject(new TimeoutError("timeout", `no response within ${timeout_ms} ms; the request event ${id} stays published`));
      }, timeout_ms);
      this.waiting.set(key, [...(this.waiting.get(key) ?? []), done]);
    });
  }

  /** `GET /v1/topics`: the topics this bus has seen (published to or with a channel). */
  topics(): { topics: Array<{ topic: string; seq: number; channels: string[] }> } {
    const topics = [];
    for (const t of [...this.known].sort()) {
      try {
        const answer = JSON.parse(this.bus.http(Date.now(), "GET", `/v1/topics/${seg(t)}`, "[]", undefined, new Uint8Array())) as { status: number; body: string };
        if (answer.status !== 200) continue;
        const stats = JSON.parse(answer.body) as { seq: number; channels: Array<{ channel: string }> };
        topics.push({ topic: t, seq: stats.seq, channels: stats.channels.map((c) => c.channel) });
      } finally {
        this.flush();
      }
    }
    return { topics };
  }

  socket(topic: string, channel?: string): WebSocketLike {
    let conn: number;
    try {
      conn = this.bus.open(Date.now(), topic, channel);
      this.known.add(topic);
    } catch (e) {
      throw fromWasm(e);
    } finally {
      this.flush();
    }
    const s = new MemorySocket(this, conn);
    this.sockets.set(conn, s);
    return s;
  }

  /** @internal */
  frame(conn: number, text: string): void {
    this.bus.frame(Date.now(), conn, text);
    this.flush();
  }

  /** @internal */
  closed(conn: number): void {
    this.sockets.delete(conn);
    this.bus.close(Date.now(), conn);
    this.flush();
  }

  /** Passes the bus's outputs on, then sets the one timer to its next deadline. */
  private flush(): void {
    const out = JSON.parse(this.bus.drain()) as Output[];
    for (const o of out) {
      if (o.to === "send") this.sockets.get(o.socket)?.receive(o.text);
      else if (o.to === "close") {
        const s = this.sockets.get(o.socket);
        this.sockets.delete(o.socket);
        s?.remoteClose(o.code, o.reason);
      } else if (o.to === "pull_ready") {
        this.pulls.get(o.waiter)?.(o.body);
        this.pulls.delete(o.waiter);
      } else {
        const key = `${o.topic}\u0000${o.seq}`;
        for (const w of this.waiting.get(key) ?? []) w(o.event);
        this.waiting.delete(key);
      }
    }
    const at = this.bus.timeout();
    if (at === undefined || at === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.bus.tick(Date.now());
      this.flush();
    }, Math.max(0, at - Date.now()));
    // A pending deadline alone does not keep a Node process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }
}

/** A virtual socket: the WebSocket interface over the in-process bus. */
class MemorySocket implements WebSocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(
    private readonly hub: MemoryHub,
    private readonly conn: number,
  ) {
    // Events arrive asynchronously, as from a network socket.
    queueMicrotask(() => {
      if (this.readyState !== 0) return;
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("socket is not open");
    this.hub.frame(this.conn, data);
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    this.hub.closed(this.conn);
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }

  /** @internal */
  receive(frame: string): void {
    queueMicrotask(() => {
      if (this.readyState === 1) this.onmessage?.({ data: frame });
    });
  }

  /** @internal */
  remoteClose(code: number, reason: string): void {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }
}

