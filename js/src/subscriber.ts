/**
 * A subscriber: one consumer socket on one channel, driven by the wasm session state
 * machine. This file owns the I/O the session asks for: the socket, the timers, the
 * handler calls and the promises of settle calls.
 */

import { WasmSession } from "../wasm/ismld.js";
import { DisconnectedError, errorFor, fromWasm, IsmldError } from "./errors.js";
import { Message, type Delivery, type MessageOwner } from "./message.js";
import type { Transport } from "./transport.js";
import type { ConnectionEvents, WebSocketLike } from "./types.js";
import { ready } from "./wasm.js";

/** A message handler. Return to finish the message, throw to requeue it. */
export type Handler<T = unknown, S = unknown> = (msg: Message<T, S>) => unknown | Promise<unknown>;

/** The session's requests (see src/client/session.rs `Action`). */
type Action =
  | { do: "send"; frame: string }
  | { do: "welcome"; session: string; heartbeat_ms: number }
  | ({ do: "deliver" } & Delivery)
  | { do: "answer"; ref: number; ok: boolean; code?: string; message?: string; deadline?: number }
  | { do: "abort"; ids: string[] }
  | { do: "error"; code: string; message: string }
  | { do: "close"; code: number; reason: string }
  | { do: "reconnect"; after_ms: number }
  | { do: "fatal"; code: string; message: string };

/** @internal Everything a subscriber needs from its connection. */
export interface SubscriberContext {
  transport: Transport;
  session: Record<string, unknown>;
  emit<K extends keyof ConnectionEvents>(type: K, event: ConnectionEvents[K]): void;
  wireName(name: string, channel: boolean): string;
  connectTimeout: number;
}

/** Subscriber state. */
export type SubscriberState = "idle" | "connecting" | "connected" | "disconnected" | "stopped";

let counter = 0;

/** A consumer of one channel. Made by {@link Connection.subscribe}; call {@link start}. */
export class Subscriber<T = unknown, S = unknown> implements MessageOwner {
  /** Unique id of this subscriber in this process. */
  readonly id: string;
  /** Display name: `{channel}@{topic}` with wire names. */
  readonly fullChannelName: string;
  private stateValue: SubscriberState = "idle";
  private session: WasmSession | undefined;
  private ws: WebSocketLike | undefined;
  private readonly messages = new Map<string, Message<T, S>>();
  private readonly answers = new Map<number, { resolve: (deadline: number | undefined) => void; reject: (e: Error) => void }>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;
  private started: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private readonly handlers = new Set<Promise<void>>();

  /** @internal */
  constructor(
    private readonly ctx: SubscriberContext,
    private readonly topic: string,
    private readonly channel: string,
    private readonly handler: Handler<T, S>,
  ) {
    counter += 1;
    this.id = `${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
    this.fullChannelName = `${channel}@${topic}`;
  }

  /** Where the subscriber stands. */
  get state(): SubscriberState {
    return this.stateValue;
  }

  private setState(s: SubscriberState): void {
    this.stateValue = s;
  }

  /**
   * Connects and starts handling messages. Resolves when the bus accepted the
   * subscription; rejects if it cannot be (bad credentials, no permission, bad settings).
   * Later connection losses are retried for ever (see the `disconnected` event).
   */
  async start(): Promise<void> {
    if (this.stateValue !== "idle") throw new IsmldError("invalid_request", "a subscriber starts once");
    await ready();
    this.ctx.wireName(this.topic, false);
    this.ctx.wireName(this.channel, true);
    try {
      this.session = new WasmSession(JSON.stringify(this.ctx.session));
    } catch (e) {
      throw fromWasm(e);
    }
    const welcomed = new Promise<void>((resolve, reject) => (this.started = { resolve, reject }));
    this.connect();
    return welcomed;
  }

  /**
   * Stops: no new messages; the socket closes and the server requeues what was in flight
   * (handlers still running see their signal aborted). Resolves once running handlers
   * returned.
   */
  async stop(): Promise<void> {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.timer) clearTimeout(this.timer);
    this.reconnectTimer = this.handshakeTimer = this.timer = undefined;
    if (this.session) this.perform(this.session.stop());
    this.setState("stopped");
    this.started?.reject(new IsmldError("disconnected", "subscriber stopped"));
    this.started = undefined;
    await Promise.allSettled([...this.handlers]);
  }

  /** Changes how many messages are handled at once. */
  setMaxInFlight(count: number): void {
    if (this.session) this.perform(this.session.setMaxInFlight(count));
  }

  private connect(): void {
    if (this.stateValue === "stopped" || !this.session) return;
    this.attempts += 1;
    this.setState("connecting");
    this.ctx.emit("connecting", { subscription: this.fullChannelName, attempt: this.attempts });
    let ws: WebSocketLike;
    try {
      ws = this.ctx.transport.socket(this.topic, this.channel);
    } catch (e) {
      this.fail(e instanceof IsmldError ? e : new IsmldError("invalid_request", String(e)));
      return;
    }
    this.ws = ws;
    // A socket that neither opens nor fails (a runtime half up) must not stall the
    // subscriber: give up on it and reconnect.
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = undefined;
      if (this.ws !== ws || !this.session) return;
      this.ws = undefined;
      try {
        ws.close(4000, "handshake timeout");
      } catch {
        /* not open yet */
      }
      this.closeInfo = { code: 1006, reason: "handshake timeout" };
      this.perform(this.session.closed(1006, "handshake timeout", Math.random()));
    }, this.ctx.connectTimeout);
    ws.onopen = () => {
      if (this.ws === ws && this.session) this.perform(this.session.opened(Date.now()));
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws || !this.session) return;
      const text = typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer);
      this.perform(this.session.received(Date.now(), text));
    };
    ws.onerror = () => {
      /* a close event follows */
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws || !this.session) return;
      this.ws = undefined;
      this.closeInfo = { code: ev.code, reason: ev.reason ?? "" };
      this.perform(this.session.closed(ev.code, ev.reason ?? "", Math.random()));
    };
  }

  private fail(error: IsmldError): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.setState("stopped");
    this.ctx.emit("error", { subscription: this.fullChannelName, error });
    this.started?.reject(error);
    this.started = undefined;
  }

  /** Does what the session asks, then sets its timer. */
  private perform(input: string | Action[]): void {
    const actions = typeof input === "string" ? (JSON.parse(input) as Action[]) : input;
    for (const a of actions) {
      switch (a.do) {
        case "send":
          try {
            this.ws?.send(a.frame);
          } catch {
            /* closing: the close event settles what is pending */
          }
          break;
        case "welcome":
          if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
          this.handshakeTimer = undefined;
          this.setState("connected");
          this.ctx.emit("connected", { subscription: this.fullChannelName, session: a.session });
          this.started?.resolve();
          this.started = undefined;
          break;
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
          for (const id of a.ids) this.messages.get(id)?.abort("connection lost; the message will be redelivered");
          break;
        case "error":
          this.ctx.emit("error", { subscription: this.fullChannelName, error: errorFor(a.code, a.message) });
          break;
        case "close":
          this.ws?.close(a.code, a.reason);
          if (this.stateValue === "stopped") this.ws = undefined;
          break;
        case "reconnect":
          this.setState("disconnected");
          this.ctx.emit("disconnected", {
            subscription: this.fullChannelName,
            code: this.closeInfo.code,
            reason: this.closeInfo.reason,
            reconnectInMs: a.after_ms,
          });
          this.reconnectTimer = setTimeout(() => {
            this.reconnectTimer = undefined;
            this.connect();
          }, a.after_ms);
          break;
        case "fatal":
          this.fail(errorFor(a.code, a.message));
          break;
      }
    }
    this.schedule();
  }

  private closeInfo = { code: 1006, reason: "" };

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const at = this.session?.nextTimer();
    if (at === undefined || this.stateValue === "stopped") return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.session) this.perform(this.session.timer(Date.now()));
    }, Math.max(0, at - Date.now()));
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
        this.ctx.emit("error", { subscription: this.fullChannelName, error: e instanceof Error ? e : new Error(String(e)) });
        // Back off first (rdy 0), then requeue: the message must not come straight back.
        if (this.session) this.perform(this.session.handlerDone(Date.now(), false));
        if (!msg.settled) await msg.requeue().catch((err) => this.quiet(err));
      } finally {
        this.messages.delete(msg.id);
        msg.abort("handler returned");
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
    const r = JSON.parse(this.session.settle(verb, id, stateJson, delayMs)) as { ref: number; actions: Action[] };
    return this.answer(r);
  }

  /** @internal */
  async respond(id: string, data: unknown, contentType?: string): Promise<void> {
    if (!this.session) throw new DisconnectedError("disconnected", "not started");
    const r = JSON.parse(this.session.respond(id, JSON.stringify(data ?? null), contentType)) as { ref: number; actions: Action[] };
    await this.answer(r);
  }

  private answer(r: { ref: number; actions: Action[] }): Promise<number | undefined> {
    const p = new Promise<number | undefined>((resolve, reject) => this.answers.set(r.ref, { resolve, reject }));
    this.perform(r.actions);
    return p;
  }
}
