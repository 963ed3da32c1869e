/**
 * The publish paths of a connection: HTTP (`POST /v1/topics/{topic}/events`) or the
 * topic's publisher socket(s) (see `routing.ts`: one per partition on a partitioned
 * topic), chosen by `publishing.via`. Both resolve
 * once the event is durable. Events sent over the socket always carry an id (the caller's,
 * or a random one made here), so a resend after a reconnect is deduplicated.
 */

import { DisconnectedError, InvalidRequestError, IsmldError } from "./errors.js";
import type { LinkContext } from "./link.js";
import { TopicPublisher } from "./routing.js";
import { seg, type Transport } from "./transport.js";
import type { CloudEvent, PublishingOptions, PublishResult } from "./types.js";
import { uuid } from "./uuid.js";

/** A publish, ready for either path. */
export interface Outgoing {
  /** The event to send as is (structured mode), if the client made or was given one. */
  event?: CloudEvent | Record<string, unknown>;
  /** Otherwise the body the bus makes an event of (HTTP only) ... */
  raw?: { contentType: string; bytes: string | Uint8Array };
  /** ... and how the client makes the same event itself (the socket path). */
  make?: () => CloudEvent;
  orderingKey?: string;
  delayMs?: number;
  ttlMs?: number;
  /** An explicit partition (`?partition=P` over HTTP; that partition's socket otherwise). */
  partition?: number;
  /** Safe to repeat (the event has an id the caller chose, or the client made). */
  idempotent: boolean;
  signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publishing for one connection. */
export class Publishing {
  private readonly sockets = new Map<string, TopicPublisher>();
  private readonly via: "auto" | "socket" | "http";
  /** Publishes waiting for an answer, per topic (for `auto`). */
  private readonly inFlight = new Map<string, number>();
  private readonly all = new Set<Promise<unknown>>();
  /**
   * The bus was unreachable at the last try (`auto`): publishes wait on the socket path,
   * which queues them (bounded by `queueCap`) and sends them once it reconnects.
   */
  private down = false;

  constructor(
    private readonly transport: Transport,
    private readonly link: (topic: string) => LinkContext,
    private readonly o: PublishingOptions,
  ) {
    this.via = o.via ?? "auto";
  }

  /** Whether this publish goes over the socket. */
  private useSocket(topic: string, p: Outgoing): boolean {
    if (!this.socketable(p)) return false;
    if (this.via === "socket") return true;
    return this.down || (this.inFlight.get(topic) ?? 0) > 0 || !!this.sockets.get(topic)?.live;
  }

  /** Whether this publish may go over the socket at all. */
  private socketable(p: Outgoing): boolean {
    return this.via !== "http" && this.transport.sockets && !!(p.event || p.make);
  }

  publish(topic: string, p: Outgoing): Promise<PublishResult> {
    const task = this.send(topic, p);
    this.all.add(task);
    const forget = () => this.all.delete(task);
    task.then(forget, forget);
    return task;
  }

  private async send(topic: string, p: Outgoing): Promise<PublishResult> {
    const socket = this.useSocket(topic, p);
    this.inFlight.set(topic, (this.inFlight.get(topic) ?? 0) + 1);
    try {
      return socket ? await this.overSocket(topic, p) : await this.overHttp(topic, p);
    } finally {
      const n = (this.inFlight.get(topic) ?? 1) - 1;
      if (n > 0) this.inFlight.set(topic, n);
      else this.inFlight.delete(topic);
    }
  }

  private overSocket(topic: string, p: Outgoing): Promise<PublishResult> {
    let s = this.sockets.get(topic);
    if (!s) {
      s = new TopicPublisher(() => this.link(topic), this.transport, topic);
      this.sockets.set(topic, s);
    }
    const event: Record<string, unknown> = { ...((p.event ?? p.make!()) as Record<string, unknown>) };
    if (p.orderingKey !== undefined) event["orderingkey"] = p.orderingKey;
    return s.publish(event, p.delayMs, p.ttlMs, p.signal, p.partition).then((r) => {
      this.down = false;
      return r;
    });
  }

  private async overHttp(topic: string, p: Outgoing): Promise<PublishResult> {
    const query: Record<string, string> = {};
    if (p.orderingKey !== undefined) query["ordering_key"] = p.orderingKey;
    if (p.delayMs !== undefined) query["delay_ms"] = String(p.delayMs);
    if (p.ttlMs !== undefined) query["ttl_ms"] = String(p.ttlMs);
    if (p.partition !== undefined) query["partition"] = String(p.partition);
    const call = {
      method: "POST",
      path: `/v1/topics/${seg(topic)}/events`,
      query,
      contentType: p.event ? "application/cloudevents+json" : p.raw!.contentType,
      body: p.event ? JSON.stringify(p.event) : p.raw!.bytes,
      ...(p.signal ? { signal: p.signal } : {}),
    };
    // Only a publish with an id is safe to repeat (the bus deduplicates it).
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.transport.http(call);
        this.down = false;
        return { partition: 0, ...(JSON.parse(r.text) as Omit<PublishResult, "partition">) };
      } catch (e) {
        if (p.signal?.aborted) throw p.signal.reason;
        if (!(e instanceof IsmldError) && this.via === "auto" && this.socketable(p)) {
          // Unreachable: later publishes wait for the bus on the socket path. This one
          // joins them if it is safe to send again (it has an id the bus deduplicates);
          // one without could already be stored, so it fails rather than be doubled.
          this.down = true;
          if (p.idempotent) return this.overSocket(topic, p);
        }
        const transient = !(e instanceof IsmldError) || (e.status >= 500 && e.code !== "storage_full");
        if (!p.idempotent || !transient || attempt >= 4) {
          throw e instanceof IsmldError ? e : new DisconnectedError("disconnected", `publish failed: ${String(e)}`);
        }
        await sleep(Math.random() * 250 * 2 ** attempt);
      }
    }
  }

  /** A CloudEvent the client makes (socket publishes and batches). */
  static event(source: string, type: string, data: unknown, contentType: string | undefined, id?: string, subject?: string): CloudEvent {
    const e: CloudEvent = { specversion: "1.0", id: id ?? uuid(), source, type };
    if (subject !== undefined) e.subject = subject;
    if (data instanceof Uint8Array || data instanceof ArrayBuffer) {
      const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
      let bin = "";
      for (const b of bytes) bin += String.fromCharCode(b);
      e.datacontenttype = contentType ?? "application/octet-stream";
      e.data_base64 = btoa(bin);
    } else if (typeof data === "string" && contentType !== undefined && isJson(contentType)) {
      // JSON text: its value is the data (not a JSON string holding the text).
      try {
        e.data = JSON.parse(data);
      } catch {
        throw new InvalidRequestError("invalid_request", `data is not JSON text, though its content type is ${contentType}`);
      }
      e.datacontenttype = contentType;
    } else if (typeof data === "string") {
      e.datacontenttype = contentType ?? "text/plain; charset=utf-8";
      e.data = data;
    } else {
      e.datacontenttype = contentType ?? "application/json";
      e.data = data ?? null;
    }
    return e;
  }

  /** Waits for what is in flight (each is bounded by its own timeout), then closes the sockets. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.all]);
    for (const s of this.sockets.values()) s.stop();
    this.sockets.clear();
  }
}

/** Whether a media type is JSON (`application/json`, `+json`). */
function isJson(contentType: string): boolean {
  const media = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  return media === "application/json" || media.endsWith("+json");
}
