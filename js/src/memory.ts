/**
 * The `memory://` bus: the server's queue core, compiled to wasm, running in this
 * process. Connections with the same `memory://name` URL share one bus. Its sockets are
 * in-process objects with the WebSocket interface, so subscribers run the very same
 * protocol code as against a server. Nothing is durable: the bus lives as long as the
 * page or process.
 */

import { WasmMemoryBus } from "../wasm/ismld.js";
import { fromWasm, TimeoutError } from "./errors.js";
import type { Body } from "./transport.js";
import type { CloudEvent, WebSocketLike } from "./types.js";

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

type Output =
  | { to: "frame"; conn: number; frame: string }
  | { to: "close"; conn: number; code: number; reason: string }
  | { to: "response"; topic: string; seq: number; event: string };

/** One in-process bus and its virtual sockets. */
export class MemoryHub {
  private readonly bus = new WasmMemoryBus();
  private readonly sockets = new Map<number, MemorySocket>();
  private readonly waiting = new Map<string, (event: string) => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt: number | undefined;

  publish(topic: string, body: Body, reply: boolean): string {
    const bytes = typeof body.bytes === "string" ? new TextEncoder().encode(body.bytes) : body.bytes;
    const delay = body.query["delay_ms"];
    try {
      return this.bus.publish(
        Date.now(),
        topic,
        body.contentType,
        bytes,
        body.query["ordering_key"],
        delay === undefined ? undefined : Number(delay),
        reply,
      );
    } catch (e) {
      throw fromWasm(e);
    } finally {
      this.flush();
    }
  }

  request(topic: string, body: Body, timeoutMs: number): Promise<CloudEvent> {
    const answer = JSON.parse(this.publish(topic, body, true)) as { seq: number };
    const key = `${topic}\u0000${answer.seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new TimeoutError("timeout", `no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(key, (event) => {
        clearTimeout(timer);
        resolve(JSON.parse(event) as CloudEvent);
      });
    });
  }

  stats(topic: string): unknown {
    try {
      return JSON.parse(this.bus.stats(topic));
    } catch (e) {
      throw fromWasm(e);
    }
  }

  socket(topic: string, channel: string): WebSocketLike {
    let conn: number;
    try {
      conn = this.bus.open(topic, channel);
    } catch (e) {
      throw fromWasm(e);
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
      if (o.to === "frame") this.sockets.get(o.conn)?.receive(o.frame);
      else if (o.to === "close") {
        const s = this.sockets.get(o.conn);
        this.sockets.delete(o.conn);
        s?.remoteClose(o.code, o.reason);
      } else {
        const key = `${o.topic}\u0000${o.seq}`;
        this.waiting.get(key)?.(o.event);
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
