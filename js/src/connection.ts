/** The entry point of the client: a connection to one bus. */

import { wireName as wasmWireName } from "../wasm/ismld.js";
import { fromWasm, IsmldError } from "./errors.js";
import { Subscriber, type Handler, type SubscriberContext } from "./subscriber.js";
import { transportFor, type Body, type Transport } from "./transport.js";
import type {
  BatchItem,
  CloudEvent,
  ConnectionEvents,
  ConnectionOptions,
  PublishOptions,
  PublishResult,
  Reply,
  RequestOptions,
  State,
  SubscribeOptions,
} from "./types.js";
import { ready } from "./wasm.js";

type Listener<K extends keyof ConnectionEvents> = (event: ConnectionEvents[K]) => void;

function uuid(): string {
  const c = globalThis.crypto as Crypto | undefined;
  if (c?.randomUUID) return c.randomUUID();
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}-${Math.random().toString(16).slice(2)}`;
}

/**
 * A connection to an ismld bus (a server URL, or `memory://`). Publishing and requests
 * are HTTP calls; each subscriber has its own WebSocket. Nothing is opened until used.
 *
 * @example
 * const bus = new Connection({ url: "http://127.0.0.1:8787", credentials: { login, secret } });
 * await bus.publish("orders", { id: 1 });
 */
export class Connection {
  /** The options in force, defaults applied. */
  readonly options: Readonly<ConnectionOptions>;
  private readonly transport: Transport;
  private readonly prefix: string;
  private readonly listeners: { [K in keyof ConnectionEvents]: Set<Listener<K>> } = {
    connecting: new Set(),
    connected: new Set(),
    disconnected: new Set(),
    error: new Set(),
  };
  private readonly subscribers = new Set<Subscriber<never, never>>();
  private closed = false;

  constructor(options: ConnectionOptions) {
    if (!options || typeof options.url !== "string") throw new IsmldError("invalid_request", "options.url is required");
    this.options = { ...options };
    this.prefix = options.namePrefix ?? "";
    this.transport = transportFor(options);
  }

  /** The overall state: `connected` when every started subscriber is. */
  get state(): State {
    if (this.closed) return "closed";
    const states = [...this.subscribers].map((s) => s.state).filter((s) => s !== "stopped" && s !== "idle");
    if (states.length === 0) return "idle";
    if (states.every((s) => s === "connected")) return "connected";
    if (states.some((s) => s === "connecting")) return "connecting";
    return "disconnected";
  }

  /** Listens to a state event; returns a function that removes the listener. */
  on<K extends keyof ConnectionEvents>(type: K, listener: Listener<K>): () => void {
    (this.listeners[type] as Set<Listener<K>>).add(listener);
    return () => this.off(type, listener);
  }

  /** Removes a listener. */
  off<K extends keyof ConnectionEvents>(type: K, listener: Listener<K>): void {
    (this.listeners[type] as Set<Listener<K>>).delete(listener);
  }

  private emit<K extends keyof ConnectionEvents>(type: K, event: ConnectionEvents[K]): void {
    for (const l of this.listeners[type] as Set<Listener<K>>) {
      try {
        l(event);
      } catch {
        /* a listener's failure is its own */
      }
    }
  }

  /** The wire name of a topic or channel: prefix + name, checked against the grammar. */
  wireName(name: string, channel = false): string {
    try {
      return wasmWireName(this.prefix, name, channel);
    } catch (e) {
      throw fromWasm(e);
    }
  }

  private open(): void {
    if (this.closed) throw new IsmldError("invalid_request", "the connection is closed");
  }

  private get source(): string {
    const c = this.options.credentials;
    return this.options.source ?? (c && "login" in c ? `/clients/${c.login}` : "/ismld-js");
  }

  private static encode(data: unknown, contentType?: string): { contentType: string; bytes: string | Uint8Array } {
    if (data instanceof Uint8Array) return { contentType: contentType ?? "application/octet-stream", bytes: data };
    if (data instanceof ArrayBuffer) return { contentType: contentType ?? "application/octet-stream", bytes: new Uint8Array(data) };
    if (typeof data === "string" && contentType !== "application/json") return { contentType: contentType ?? "text/plain; charset=utf-8", bytes: data };
    return { contentType: contentType ?? "application/json", bytes: JSON.stringify(data ?? null) };
  }

  /** The query parameters that override a publish's extensions. */
  private static query(o: { orderingKey?: string; delayMs?: number }): Record<string, string> {
    const query: Record<string, string> = {};
    if (o.orderingKey !== undefined) query["ordering_key"] = o.orderingKey;
    if (o.delayMs !== undefined) query["delay_ms"] = String(o.delayMs);
    return query;
  }

  private event(topic: string, item: BatchItem, now: number): CloudEvent {
    const e: CloudEvent = {
      specversion: "1.0",
      id: item.id ?? uuid(),
      source: this.source,
      type: item.type ?? topic,
      datacontenttype: "application/json",
      data: item.data ?? null,
    };
    if (item.subject !== undefined) e.subject = item.subject;
    if (item.orderingKey !== undefined) e["orderingkey"] = item.orderingKey;
    if (item.delayMs !== undefined && item.delayMs > 0) e["deliverafter"] = new Date(now + item.delayMs).toISOString();
    return e;
  }

  /**
   * Publishes one event. `data` becomes the event's data (JSON values stay JSON, strings
   * are text, bytes go to `data_base64`). Resolves once the event is durable.
   */
  async publish<T>(topic: string, data: T, options: PublishOptions = {}): Promise<PublishResult> {
    this.open();
    await ready();
    const wire = this.wireName(topic);
    const query = Connection.query(options);
    let body: Body;
    if (options.id !== undefined) {
      const e = this.event(wire, { data, id: options.id, type: options.type, subject: options.subject } as BatchItem, Date.now());
      if (options.type === undefined) e.type = wire;
      body = { contentType: "application/cloudevents+json", bytes: JSON.stringify(e), query };
    } else {
      body = { ...Connection.encode(data, options.contentType), query };
    }
    return (await this.transport.publish(wire, body, options.id !== undefined)) as PublishResult;
  }

  /** Publishes a complete CloudEvent as it is (structured mode). */
  async publishEvent(topic: string, event: CloudEvent, options: Pick<PublishOptions, "orderingKey" | "delayMs"> = {}): Promise<PublishResult> {
    this.open();
    await ready();
    const wire = this.wireName(topic);
    const query = Connection.query(options);
    const body = { contentType: "application/cloudevents+json", bytes: JSON.stringify(event), query };
    return (await this.transport.publish(wire, body, true)) as PublishResult;
  }

  /**
   * Publishes events all or nothing, in order (consecutive `seq`s). Each item is a
   * {@link BatchItem}; every event gets an id (generated if absent), so a retried batch
   * is deduplicated.
   */
  async publishBatch<T>(topic: string, items: ReadonlyArray<BatchItem<T>>): Promise<PublishResult[]> {
    this.open();
    await ready();
    const wire = this.wireName(topic);
    const now = Date.now();
    const events = items.map((item) => this.event(wire, item as BatchItem, now));
    const body = { contentType: "application/cloudevents-batch+json", bytes: JSON.stringify(events), query: {} };
    const answer = (await this.transport.publish(wire, body, true)) as { topic: string; results: Omit<PublishResult, "topic">[] };
    return answer.results.map((r) => ({ topic: answer.topic, ...r }));
  }

  /**
   * Publishes `data` as a request and waits for the first response (`msg.respond(data)` on
   * a subscriber). Rejects with a `TimeoutError` when none comes in time; the request
   * event stays published.
   */
  async request<T = unknown, R = unknown>(topic: string, data: T, options: RequestOptions = {}): Promise<Reply<R>> {
    this.open();
    await ready();
    const wire = this.wireName(topic);
    const timeoutMs = options.timeoutMs ?? 30_000;
    const query = { ...Connection.query(options), timeout_ms: String(timeoutMs) };
    const event = await this.transport.request(wire, { ...Connection.encode(data), query }, timeoutMs);
    return { data: event.data as R, event: event as CloudEvent<R> };
  }

  /** Topic stats (`GET /v1/topics/{topic}`). */
  async stats(topic: string): Promise<unknown> {
    this.open();
    await ready();
    return this.transport.stats(this.wireName(topic));
  }

  /** Makes a subscriber of a channel; call `start()` on it. */
  subscribe<T = unknown, S = unknown>(options: SubscribeOptions, handler: Handler<T, S>): Subscriber<T, S> {
    this.open();
    const o = this.options;
    const c = o.credentials;
    const session: Record<string, unknown> = {
      max_in_flight: options.maxInFlight ?? 1,
      handler_timeout_ms: options.handlerTimeout ?? 60_000,
      max_attempts: options.maxAttempts ?? o.maxAttempts ?? 0,
      heartbeat_ms: o.heartbeatInterval ?? 30_000,
      backoff_ms: o.backoff ?? 5_000,
      reconnect_min_ms: o.reconnect?.min ?? 500,
      reconnect_max_ms: o.reconnect?.max ?? 30_000,
    };
    if (c && "token" in c) session["token"] = c.token;
    if (c && "login" in c) {
      session["login"] = c.login;
      session["secret"] = c.secret;
    }
    if (c?.clientId) session["client_id"] = c.clientId;
    const ctx: SubscriberContext = {
      transport: this.transport,
      session,
      emit: (type, event) => this.emit(type, event),
      wireName: (name, channel) => this.wireName(name, channel),
      connectTimeout: o.connectTimeout ?? 10_000,
    };
    const sub = new Subscriber<T, S>(ctx, this.prefix + options.topic, this.prefix + options.channel, handler);
    this.subscribers.add(sub as unknown as Subscriber<never, never>);
    return sub;
  }

  /** Stops every subscriber (see {@link Subscriber.stop}) and refuses further calls. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.subscribers].map((s) => s.stop()));
    this.closed = true;
  }

  /** `await using bus = new Connection(...)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
