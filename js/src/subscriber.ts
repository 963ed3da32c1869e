/**
 * A subscriber: the consumer of one channel, over one socket per partition of its topic
 * (`consumer.ts`; one socket on a topic of one partition). This file owns the handler
 * calls, the handler backoff shared by the sockets, the credit spread over them, and
 * learning the partition count (see `partitions.ts`): the first socket goes without
 * `?partition`; when it fails before opening, `GET /v1/topics/{topic}/partitions` says whether the
 * topic is partitioned, and the subscriber then opens one socket per partition. Each
 * reconnects on its own; a final close of any stops them all.
 */

import { currentRun, runAs } from "./context.js";
import { Consumer, type ConsumerOwner } from "./consumer.js";
import { DisconnectedError, type IsmldError, InvalidRequestError } from "./errors.js";
import type { LinkContext, LinkState } from "./link.js";
import type { Message } from "./message.js";
import { probePartitions, spread } from "./partitions.js";
import { ready } from "./wasm.js";

/** A message handler. Return to finish the message, throw to requeue it. */
export type Handler<T = unknown, S = unknown> = (msg: Message<T, S>) => unknown | Promise<unknown>;

/** Subscriber state. */
export type SubscriberState = LinkState;

/** @internal What a subscriber needs beyond its sockets. */
export interface SubscriberContext extends LinkContext {
  topic: string;
  channel: string;
  /** The connection checks names (prefix + grammar). */
  check(): void;
  /** Runs before the first socket opens (makes a filtered channel). */
  prepare?(): Promise<void>;
  /** Called once the subscriber stopped, with the error if it stopped for good. */
  onStop?(error?: IsmldError): void;
}

let counter = 0;

/** A consumer of one channel. Made by {@link Connection.subscribe}; call {@link start}. */
export class Subscriber<T = unknown, S = unknown> implements ConsumerOwner {
  /** Unique id of this subscriber in this process. */
  readonly id: string;
  /** `{channel}@{topic}` in wire names. */
  readonly fullChannelName: string;
  /** The sockets: one, or one per partition (index = partition). */
  private consumers: Consumer[] = [];
  /** The partition count the sockets are for (1 until a partitioned topic says otherwise). */
  private count = 1;
  private maxInFlight: number;
  private phase: "idle" | "running" | "stopped" = "idle";
  private started: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private readonly welcomedOnce = new Set<Consumer>();
  private probing: Promise<void> | undefined;
  /** Running handlers, each with its run mark (`context.ts`). */
  private readonly handlers = new Map<Promise<void>, object>();
  private readonly stopped: Array<(error?: IsmldError) => void> = [];

  /** @internal */
  constructor(
    private readonly sub: SubscriberContext,
    private readonly handler: Handler<T, S>,
  ) {
    this.fullChannelName = `${sub.channel}@${sub.topic}`;
    this.maxInFlight = Number(sub.settings["max_in_flight"] ?? 1);
    counter += 1;
    this.id = `${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
  }

  /**
   * Where the subscriber stands: `idle`, `connecting`, `connected` (every socket is),
   * `disconnected` (some socket is, and none is connecting) or `stopped`.
   */
  get state(): SubscriberState {
    if (this.phase !== "running") return this.phase === "idle" ? "idle" : "stopped";
    const states = this.consumers.map((c) => c.state);
    if (states.length === 0) return "connecting";
    if (states.every((s) => s === "connected")) return "connected";
    if (states.some((s) => s === "connecting" || s === "idle")) return "connecting";
    return "disconnected";
  }

  /** The topic's partition count as the subscriber knows it: its number of sockets. */
  get partitions(): number {
    return this.count;
  }

  /**
   * Connects and starts handling messages. Resolves when the bus accepted the
   * subscription (on a partitioned topic: every partition's socket); rejects if it cannot
   * be (bad credentials, no permission, bad settings). Later connection losses are
   * retried (see the `disconnected` event). Aborting `signal` stops the subscriber.
   */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.phase !== "idle") throw new InvalidRequestError("invalid_request", "a subscriber starts once");
    const signal = options.signal;
    signal?.throwIfAborted();
    this.phase = "running";
    await ready();
    if (signal?.aborted) {
      await this.stop();
      throw signal.reason;
    }
    if (this.phase !== "running") throw new DisconnectedError("closed", "subscriber stopped");
    const welcomed = new Promise<void>((resolve, reject) => (this.started = { resolve, reject }));
    try {
      this.sub.check();
      await this.sub.prepare?.();
      this.plan(1);
    } catch (e) {
      this.phase = "idle";
      this.started = undefined;
      throw e;
    }
    if (signal) {
      signal.addEventListener("abort", () => void this.stop(), { once: true });
      void welcomed.catch(() => {});
    }
    return welcomed;
  }

  /**
   * Stops: no new messages; acknowledgements still waiting go out, the sockets close and
   * the server requeues what was in flight (running handlers see their signal aborted with
   * reason `closed`). Resolves once running handlers returned; awaited in one of this
   * subscriber's own handlers on Node, Deno or Bun, once the others did (not that one).
   */
  async stop(): Promise<void> {
    if (this.phase !== "stopped") {
      this.phase = "stopped";
      for (const c of this.consumers) c.stop("closed");
      this.started?.reject(new DisconnectedError("closed", "subscriber stopped"));
      this.started = undefined;
      this.notifyStopped();
    }
    const me = currentRun();
    await Promise.allSettled([...this.handlers].filter(([, run]) => run !== me).map(([task]) => task));
  }

  /** @internal Called once when the subscriber stops, with the error if it stopped for good. */
  whenStopped(listener: (error?: IsmldError) => void): void {
    this.stopped.push(listener);
  }

  private notifyStopped(error?: IsmldError): void {
    this.sub.onStop?.(error);
    for (const l of this.stopped.splice(0)) l(error);
  }

  /**
   * Changes how many messages are handled at once (spread over the partitions' sockets, at
   * least 1 each); 0 pauses delivery on every socket (`rdy 0`) until it is raised again.
   */
  setMaxInFlight(count: number): void {
    this.maxInFlight = count;
    const shares = count === 0 ? this.consumers.map(() => 0) : spread(count, this.consumers.length);
    this.consumers.forEach((c, i) => c.setMaxInFlight(shares[i] ?? 1));
  }

  /** One socket (`n` = 1, no `?partition`) or one per partition, replacing those there were. */
  private plan(n: number): void {
    const old = this.consumers;
    this.count = n;
    this.consumers = [];
    this.welcomedOnce.clear();
    for (const c of old) c.stop("disconnected");
    const shares = spread(this.maxInFlight, n);
    for (let p = 0; p < n; p++) {
      const ctx = { ...this.sub, settings: { ...this.sub.settings, max_in_flight: shares[p] ?? 1 } };
      this.consumers.push(new Consumer(ctx, this.fullChannelName, this.sub.topic, this.sub.channel, n > 1 ? p : undefined, this));
    }
    if (old.length > 0) {
      this.sub.logger.info("ismld: the topic's partitions changed; one socket per partition", { subscription: this.fullChannelName, partitions: n });
    }
    for (const c of this.consumers) c.start();
  }

  /** @internal */
  welcomed(from: Consumer, w: { partition: number; partitions: number }): void {
    if (!this.consumers.includes(from)) return;
    // A bus whose count differs from ours (the topic was made again with another).
    if (w.partitions !== this.count && w.partitions >= 1) return this.plan(w.partitions);
    this.welcomedOnce.add(from);
    if (this.welcomedOnce.size === this.consumers.length) {
      this.started?.resolve();
      this.started = undefined;
    }
  }

  /** @internal A socket failed before opening: ask whether the topic is partitioned (one ask at a time). */
  openFailed(from: Consumer): Promise<void> | undefined {
    if (this.phase !== "running" || !this.consumers.includes(from)) return undefined;
    this.probing ??= probePartitions(this.sub.transport, this.sub.topic, this.sub.connectTimeout).then((found) => {
      this.probing = undefined;
      if (this.phase !== "running" || !found) return;
      if ("refused" in found) return this.failed(from, found.refused);
      if (found.partitions !== this.count) this.plan(found.partitions);
    });
    return this.probing;
  }

  /** @internal One socket stopped for good: the subscription is refused, every socket stops. */
  failed(from: Consumer, error: IsmldError): void {
    if (this.phase === "stopped" || !this.consumers.includes(from)) return;
    this.phase = "stopped";
    for (const c of this.consumers) c.stop("disconnected");
    this.sub.emit("error", from.partition === undefined ? { subscription: this.fullChannelName, error } : { subscription: this.fullChannelName, partition: from.partition, error });
    this.started?.reject(error);
    this.started = undefined;
    this.notifyStopped(error);
  }

  /** @internal */
  deliver(from: Consumer, m: Message<never, never>): void {
    const msg = m as unknown as Message<T, S>;
    const run = {};
    const task = runAs(run, async () => {
      let ok = true;
      try {
        await this.handler(msg);
        if (!msg.settled) await msg.finish().catch((e) => this.quiet(e));
      } catch (e) {
        ok = false;
        const error = e instanceof Error ? e : new Error(String(e));
        this.sub.logger.warn("ismld: a handler threw; the message is requeued", { subscription: this.fullChannelName, id: msg.id, error: error.message });
        this.sub.emit("error", this.count > 1 ? { subscription: this.fullChannelName, partition: msg.partition, error } : { subscription: this.fullChannelName, error });
        // Back off first (rdy 0 on every socket), then requeue: the message must not come straight back.
        for (const c of this.consumers) c.handlerDone(false);
        if (!msg.settled) await msg.requeue().catch((err) => this.quiet(err));
      } finally {
        from.release(msg.id);
        msg.release();
      }
      if (ok) for (const c of this.consumers) c.handlerDone(true);
    });
    this.handlers.set(task, run);
    void task.finally(() => this.handlers.delete(task));
  }

  /** Auto-settling after the message was lost is expected to fail: the server redelivers. */
  private quiet(e: unknown): void {
    if (e instanceof DisconnectedError || (e instanceof Error && "code" in e && e.code === "not_found")) return;
    this.sub.emit("error", { subscription: this.fullChannelName, error: e instanceof Error ? e : new Error(String(e)) });
  }
}
