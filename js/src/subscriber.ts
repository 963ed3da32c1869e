/**
 * A subscriber: one consumer socket on one channel, driven by the wasm session state
 * machine (src/client/session.rs). This file owns the handler calls and the promises of
 * settle calls; `link.ts` owns the socket.
 */

import { WasmSession } from "../wasm/ismld.js";
import { DisconnectedError, errorFor, fromWasm, IsmldError, InvalidRequestError } from "./errors.js";
import { type Action, Link, type LinkContext, type LinkState } from "./link.js";
import { Message, type MessageOwner } from "./message.js";
import { ready } from "./wasm.js";

/** A message handler. Return to finish the message, throw to requeue it. */
export type Handler<T = unknown, S = unknown> = (msg: Message<T, S>) => unknown | Promise<unknown>;

/** Subscriber state. */
export type SubscriberState = LinkState;

/** @internal What a subscriber needs beyond its socket. */
export interface SubscriberContext extends LinkContext {
  topic: string;
  channel: string;
  /** The connection checks names (prefix + grammar). */
  check(): void;
  /** Called once the subscriber stopped, with the error if it stopped for good. */
  onStop?(error?: IsmldError): void;
}

let counter = 0;

/** A consumer of one channel. Made by {@link Connection.subscribe}; call {@link start}. */
export class Subscriber<T = unknown, S = unknown> extends Link implements MessageOwner {
  /** Unique id of this subscriber in this process. */
  readonly id: string;
  private session: WasmSession | undefined;
  private readonly messages = new Map<string, Message<T, S>>();
  private readonly answers = new Map<number, { resolve: (deadline: number | undefined) => void; reject: (e: Error) => void }>();
  private started: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private readonly handlers = new Set<Promise<void>>();
  private readonly stopped: Array<(error?: IsmldError) => void> = [];

  /** @internal */
  constructor(
    private readonly sub: SubscriberContext,
    private readonly handler: Handler<T, S>,
  ) {
    super(sub, `${sub.channel}@${sub.topic}`);
    counter += 1;
    this.id = `${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
  }

  /** Where the subscriber stands: `idle`, `connecting`, `connected`, `disconnected` or `stopped`. */
  get state(): SubscriberState {
    return this.linkState;
  }

  /**
   * Connects and starts handling messages. Resolves when the bus accepted the
   * subscription; rejects if it cannot be (bad credentials, no permission, bad settings).
   * Later connection losses are retried (see the `disconnected` event). Aborting `signal`
   * stops the subscriber.
   */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.linkState !== "idle" || this.session) throw new InvalidRequestError("invalid_request", "a subscriber starts once");
    const signal = options.signal;
    signal?.throwIfAborted();
    await ready();
    if (signal?.aborted) {
      await this.stop();
      throw signal.reason;
    }
    this.sub.check();
    try {
      this.session = new WasmSession(JSON.stringify(this.ctx.settings));
    } catch (e) {
      throw fromWasm(e);
    }
    this.core = this.session;
    const welcomed = new Promise<void>((resolve, reject) => (this.started = { resolve, reject }));
    if (signal) {
      const stop = () => void this.stop();
      signal.addEventListener("abort", stop, { once: true });
      void welcomed.catch(() => {});
    }
    this.connect();
    return welcomed;
  }

  /**
   * Stops: no new messages; acknowledgements still waiting go out, the socket closes and
   * the server requeues what was in flight (running handlers see their signal aborted with
   * reason `closed`). Resolves once running handlers returned.
   */
  async stop(): Promise<void> {
    if (this.linkState === "stopped") {
      await Promise.allSettled([...this.handlers]);
      return;
    }
    if (this.session) this.perform(this.session.stop(Date.now()));
    this.halt();
    // The socket is gone: answers to what it carried last will not be seen.
    for (const p of this.answers.values()) p.reject(new DisconnectedError("closed", "subscriber stopped before the answer"));
    this.answers.clear();
    for (const m of this.messages.values()) m.abort("closed");
    this.started?.reject(new DisconnectedError("closed", "subscriber stopped"));
    this.started = undefined;
    this.notifyStopped();
    await Promise.allSettled([...this.handlers]);
  }

  /** @internal Called once when the subscriber stops, with the error if it stopped for good. */
  whenStopped(listener: (error?: IsmldError) => void): void {
    this.stopped.push(listener);
  }

  private notifyStopped(error?: IsmldError): void {
    this.sub.onStop?.(error);
    for (const l of this.stopped.splice(0)) l(error);
  }

  /** Changes how many messages are handled at once. */
  setMaxInFlight(count: number): void {
    if (this.session) this.perform(this.session.setMaxInFlight(count));
  }

  protected open() {
    return this.ctx.transport.socket(this.sub.topic, this.sub.channel);
  }

  protected override welcomed(): void {
    this.started?.resolve();
    this.started = undefined;
  }

  protected failed(error: IsmldError): void {
    this.halt();
    for (const m of this.messages.values()) m.abort("disconnected");
    this.ctx.emit("error", { subscription: this.fullChannelName, error });
    this.started?.reject(error);
    this.started = undefined;
    this.notifyStopped(error);
  }

  protected handle(a: Action): void {
    switch (a.do) {
      case "deliver":
        this.run(new Message<T, S>(this, a));
        break;
      case "answer": {
        const p = this.answers.get(a.ref);
        this.answers.delete(a.ref);
        if (!p) break;
        if (a.ok) p.resolve(a.deadline);
        else p.reject(errorFor(a.code ?? "internal", a.message ?? "refused"));
        break;
      }
      case "abort":
        for (const id of a.ids) this.messages.get(id)?.abort("disconnected");
        break;
    }
  }

  private run(msg: Message<T, S>): void {
    this.messages.set(msg.id, msg);
    const task = (async () => {
      let ok = true;
      try {
        await this.handler(msg);
        if (!msg.settled) await msg.finish().catch((e) => this.quiet(e));
      } catch (e) {
        ok = false;
        const error = e instanceof Error ? e : new Error(String(e));
        this.ctx.logger.warn("ismld: a handler threw; the message is requeued", { subscription: this.fullChannelName, id: msg.id, error: error.message });
        this.ctx.emit("error", { subscription: this.fullChannelName, error });
        // Back off first (rdy 0), then requeue: the message must not come straight back.
        if (this.session) this.perform(this.session.handlerDone(Date.now(), false));
        if (!msg.settled) await msg.requeue().catch((err) => this.quiet(err));
      } finally {
        this.messages.delete(msg.id);
        msg.release();
      }
      if (ok && this.session) this.perform(this.session.handlerDone(Date.now(), true));
    })();
    this.handlers.add(task);
    void task.finally(() => this.handlers.delete(task));
  }

  /** Auto-settling after the message was lost is expected to fail: the server redelivers. */
  private quiet(e: unknown): void {
    if (e instanceof DisconnectedError || (e instanceof IsmldError && e.code === "not_found")) return;
    this.ctx.emit("error", { subscription: this.fullChannelName, error: e instanceof Error ? e : new Error(String(e)) });
  }

  /** @internal */
  settle(verb: "fin" | "touch" | "req" | "shelve", id: string, state: unknown, delayMs?: number): Promise<number | undefined> {
    if (!this.session) return Promise.reject(new DisconnectedError("disconnected", "not started"));
    const stateJson = state === undefined ? undefined : JSON.stringify(state);
    const r = JSON.parse(this.session.settle(Date.now(), verb, id, stateJson, delayMs)) as { ref: number; actions: Action[] };
    return this.answer(r);
  }

  /** @internal */
  async respond(id: string, data: unknown, contentType?: string): Promise<void> {
    if (!this.session) throw new DisconnectedError("disconnected", "not started");
    const r = JSON.parse(this.session.respond(Date.now(), id, JSON.stringify(data ?? null), contentType)) as { ref: number; actions: Action[] };
    await this.answer(r);
  }

  private answer(r: { ref: number; actions: Action[] }): Promise<number | undefined> {
    const p = new Promise<number | undefined>((resolve, reject) => this.answers.set(r.ref, { resolve, reject }));
    this.perform(r.actions);
    return p;
  }
}
