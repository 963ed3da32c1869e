/** The entry point of the client: a connection to one bus. */

import { wireName as wasmWireName } from "../wasm/ismld.js";
import { Admin } from "./admin.js";
import type { TopicStats } from "./admin-types.js";
import { consume } from "./consume.js";
import { CredentialSource } from "./credentials.js";
import { DisconnectedError, fromWasm, IsmldError, InvalidRequestError, TimeoutError } from "./errors.js";
import { Emitter, type Listener } from "./events.js";
import type { LinkContext } from "./link.js";
import { type Logger, safe } from "./logger.js";
import type { Message } from "./message.js";
import { type Outgoing, Publishing } from "./publishing.js";
import { Subscriber, type Handler } from "./subscriber.js";
import { seg, transportFor, type Transport } from "./transport.js";
import type {
  BatchItem,
  CloudEvent,
  CloudEventLike,
  ConnectionEvents,
  ConnectionOptions,
  ConsumeOptions,
  PublishOptions,
  PublishResult,
  Reply,
  RequestOptions,
  State,
  SubscribeOptions,
} from "./types.js";
import { ready } from "./wasm.js";

/**
 * A connection to an ismld bus (a server URL, or `memory://` with `ismld/memory`).
 * Publishes go over HTTP or the topic's publisher socket (see `publishing`); each
 * subscriber has its own socket; `admin` has every management call. Nothing is opened
 * until used.
 *
 * @example
 * const bus = new Connection({ url: "http://127.0.0.1:8787", credentials: { login, secret } });
 * await bus.publish("orders", { id: 1 });
 */
export class Connection {
  /** The options in force. */
  readonly options: Readonly<ConnectionOptions>;
  /** Typed management calls (topics, channels, dead letters, pull, clients, tokens, ...). */
  readonly admin: Admin;
  private readonly transport: Transport;
  private readonly credentials: CredentialSource;
  private readonly prefix: string;
  private readonly events = new Emitter();
  private readonly logger: Logger;
  private readonly publishing: Publishing;
  private readonly subscribers = new Set<Subscriber<never, never>>();
  private closed = false;

  constructor(options: ConnectionOptions) {
    if (!options || typeof options.url !== "string") throw new InvalidRequestError("invalid_request", "options.url is required");
    this.options = { ...options };
    this.prefix = options.namePrefix ?? "";
    this.logger = safe(options.logger);
    this.credentials = new CredentialSource(options.credentials);
    this.transport = transportFor(options, this.credentials);
    this.admin = new Admin(this.transport, (name, channel) => this.wireName(name, channel), () => this.open());
    const p = options.publishing ?? {};
    this.publishing = new Publishing(this.transport, (topic) => this.linkContext(topic, this.publisherSettings()), p);
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) this.closed = true;
      else signal.addEventListener("abort", () => void this.close(), { once: true });
    }
  }

  /** The overall state: `connected` when every started socket is. */
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
    return this.events.on(type, listener);
  }

  /** Removes a listener. */
  off<K extends keyof ConnectionEvents>(type: K, listener: Listener<K>): void {
    this.events.off(type, listener);
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
    if (this.closed) throw new DisconnectedError("closed", "the connection is closed");
  }

  private get source(): string {
    const c = this.options.credentials;
    return this.options.source ?? (c && "login" in c ? `/clients/${c.login}` : "/ismld-js");
  }

  private common(): Record<string, unknown> {
    const o = this.options;
    const settings: Record<string, unknown> = {
      heartbeat_ms: o.heartbeatInterval ?? 30_000,
      reconnect_min_ms: o.reconnect?.min ?? 500,
      reconnect_max_ms: o.reconnect?.max ?? 30_000,
      refresh: this.credentials.refreshable,
    };
    const b = this.credentials.basic;
    if (b) {
      settings["login"] = b.login;
      settings["secret"] = b.secret;
    }
    if (this.credentials.clientId) settings["client_id"] = this.credentials.clientId;
    return settings;
  }

  private publisherSettings(): Record<string, unknown> {
    const p = this.options.publishing ?? {};
    const s = this.common();
    if (p.lingerMs !== undefined) s["linger_ms"] = p.lingerMs;
    if (p.maxBatch !== undefined) s["max_batch"] = p.maxBatch;
    if (p.maxFrames !== undefined) s["max_frames"] = p.maxFrames;
    if (p.queueCap !== undefined) s["queue_cap"] = p.queueCap;
    if (p.timeoutMs !== undefined) s["timeout_ms"] = p.timeoutMs;
    if (p.idleMs !== undefined) s["idle_ms"] = p.idleMs;
    return s;
  }

  private linkContext(_topic: string, settings: Record<string, unknown>): LinkContext {
    return {
      transport: this.transport,
      credentials: this.credentials,
      emit: (type, event) => this.events.emit(type, event),
      logger: this.logger,
      connectTimeout: this.options.connectTimeout ?? 10_000,
      settings,
    };
  }

  private static raw(data: unknown, contentType?: string): { contentType: string; bytes: string | Uint8Array } {
    if (data instanceof Uint8Array) return { contentType: contentType ?? "application/octet-stream", bytes: data };
    if (data instanceof ArrayBuffer) return { contentType: contentType ?? "application/octet-stream", bytes: new Uint8Array(data) };
    // A string with a JSON content type is JSON text: sent as it is (the bus keeps it byte for byte).
    if (typeof data === "string") return { contentType: contentType ?? "text/plain; charset=utf-8", bytes: data };
    return { contentType: contentType ?? "application/json", bytes: JSON.stringify(data ?? null) };
  }

  /**
   * Publishes one event. `data` becomes the event's data (JSON values stay JSON, strings
   * are text — or JSON text with a JSON `contentType` —, bytes go to `data_base64`).
   * Resolves once the event is durable.
   */
  async publish<T>(topic: string, data: T, options: PublishOptions = {}): Promise<PublishResult> {
    this.open();
    options.signal?.throwIfAborted();
    await ready();
    const wire = this.wireName(topic);
    const make = () => Publishing.event(this.source, options.type ?? wire, data, options.contentType, options.id, options.subject);
    const structured = options.id !== undefined || options.type !== undefined || options.subject !== undefined;
    const out: Outgoing = {
      ...(structured ? { event: make() } : { raw: Connection.raw(data, options.contentType), make }),
      idempotent: structured,
      ...pick(options),
    };
    return this.publishing.publish(wire, out);
  }

  /**
   * Publishes a complete CloudEvent as it is (structured mode): plain JSON, or an object of
   * the `cloudevents` SDK.
   */
  async publishEvent(
    topic: string,
    event: CloudEvent | CloudEventLike,
    options: Pick<PublishOptions, "orderingKey" | "delayMs" | "ttlMs" | "partition" | "signal"> = {},
  ): Promise<PublishResult> {
    this.open();
    options.signal?.throwIfAborted();
    await ready();
    const wire = this.wireName(topic);
    // An SDK object serializes itself (data_base64 for binary data, extensions flattened).
    const plain = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
    return this.publishing.publish(wire, { event: plain, idempotent: true, ...pick(options) });
  }

  /**
   * Publishes events all or nothing, in order (consecutive `seq`s), over HTTP. Every event
   * gets an id (generated if absent), so a retried batch is deduplicated. On a partitioned
   * topic the bus splits the batch by partition, each part all or nothing: when only a part
   * is refused, the error thrown has `results` (each event's result or error, in order).
   */
  async publishBatch<T>(topic: string, items: ReadonlyArray<BatchItem<T>>, options: { signal?: AbortSignal } = {}): Promise<PublishResult[]> {
    this.open();
    await ready();
    const wire = this.wireName(topic);
    const now = Date.now();
    const events = items.map((item) => {
      const e = Publishing.event(this.source, item.type ?? wire, item.data, undefined, item.id, item.subject);
      if (item.orderingKey !== undefined) e["orderingkey"] = item.orderingKey;
      if (item.delayMs !== undefined && item.delayMs > 0) e["deliverafter"] = new Date(now + item.delayMs).toISOString();
      return e;
    });
    const r = await this.transport.http({
      method: "POST",
      path: `/v1/topics/${seg(wire)}/events`,
      contentType: "application/cloudevents-batch+json",
      body: JSON.stringify(events),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const answer = JSON.parse(r.text) as { topic: string; results: Omit<PublishResult, "topic">[] };
    return answer.results.map((x) => ({ topic: answer.topic, ...x, partition: x.partition ?? 0 }));
  }

  /**
   * Publishes `data` as a request and waits for the first response (`msg.respond(data)` on
   * a subscriber). Rejects with a `TimeoutError` when none comes in time; the request
   * event stays published. Aborting `signal` rejects it at once.
   */
  async request<T = unknown, R = unknown>(topic: string, data: T, options: RequestOptions = {}): Promise<Reply<R>> {
    this.open();
    options.signal?.throwIfAborted();
    await ready();
    const wire = this.wireName(topic);
    const timeoutMs = options.timeoutMs ?? 30_000;
    const query: Record<string, string> = { timeout_ms: String(timeoutMs) };
    if (options.orderingKey !== undefined) query["ordering_key"] = options.orderingKey;
    const raw = Connection.raw(data);
    // The bus answers 504 at the timeout; the local timer only guards a silent network.
    const guard = AbortSignal.timeout(timeoutMs + 10_000);
    const signal = options.signal ? AbortSignal.any([options.signal, guard]) : guard;
    try {
      const r = await this.transport.http({ method: "POST", path: `/v1/topics/${seg(wire)}/requests`, query, contentType: raw.contentType, body: raw.bytes, signal });
      const event = JSON.parse(r.text) as CloudEvent<R>;
      return { data: event.data as R, event };
    } catch (e) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (e instanceof IsmldError) throw e;
      if (guard.aborted) throw new TimeoutError("timeout", "no response in time");
      throw new DisconnectedError("disconnected", `request failed: ${String(e)}`);
    }
  }

  /** Topic stats (`GET /v1/topics/{topic}`); the same as `admin.stats(topic)`. */
  async stats(topic: string): Promise<TopicStats> {
    return this.admin.stats(topic);
  }

  /** Makes a subscriber of a channel; call `start()` on it. */
  subscribe<T = unknown, S = unknown>(options: SubscribeOptions, handler: Handler<T, S>): Subscriber<T, S> {
    this.open();
    const o = this.options;
    const settings: Record<string, unknown> = {
      ...this.common(),
      max_in_flight: options.maxInFlight ?? 1,
      handler_timeout_ms: options.handlerTimeout ?? 60_000,
      max_attempts: options.maxAttempts ?? o.maxAttempts ?? 0,
      backoff_ms: o.backoff ?? 5_000,
      batch: o.batch ?? true,
    };
    const topic = this.prefix + options.topic;
    const channel = this.prefix + options.channel;
    const sub: Subscriber<T, S> = new Subscriber<T, S>(
      {
        ...this.linkContext(topic, settings),
        topic,
        channel,
        check: () => {
          this.wireName(options.topic, false);
          this.wireName(options.channel, true);
        },
        onStop: () => this.subscribers.delete(sub as unknown as Subscriber<never, never>),
        prepare:
          options.filter === undefined
            ? undefined
            : async () => {
                await this.admin.createChannel(options.topic, options.channel, { filter: options.filter });
              },
      },
      handler,
    );
    this.subscribers.add(sub as unknown as Subscriber<never, never>);
    return sub;
  }

  /**
   * Consumes a channel in a `for await` loop: each message is settled by the loop body, or
   * finished when the body moves on to the next without settling it; `break` (or
   * `signal`) stops the consumer, and what it held goes back to the bus.
   */
  consume<T = unknown, S = unknown>(options: ConsumeOptions): AsyncIterableIterator<Message<T, S>> {
    return consume<T, S>((handler) => this.subscribe<T, S>(options, handler), options.signal);
  }

  /** Stops every subscriber, waits for publishes in flight, closes the sockets and refuses further calls. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscribers].map((s) => s.stop()));
    await this.publishing.close();
  }

  /** `await using bus = new Connection(...)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function pick(o: { orderingKey?: string; delayMs?: number; ttlMs?: number; partition?: number; signal?: AbortSignal }): Partial<Outgoing> {
  const out: Partial<Outgoing> = {};
  if (o.partition !== undefined) {
    if (!Number.isInteger(o.partition) || o.partition < 0) throw new InvalidRequestError("invalid_request", `partition must be a whole number >= 0, got ${String(o.partition)}`);
    out.partition = o.partition;
  }
  if (o.orderingKey !== undefined) out.orderingKey = o.orderingKey;
  if (o.delayMs !== undefined) out.delayMs = o.delayMs;
  if (o.ttlMs !== undefined) out.ttlMs = o.ttlMs;
  if (o.signal) out.signal = o.signal;
  return out;
}
