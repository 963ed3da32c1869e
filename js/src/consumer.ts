/**
 * One consumer socket of a subscriber: a channel of a topic of one partition, or one
 * partition of a partitioned topic (`?partition=P`). Driven by the wasm session state
 * machine (src/client/session.rs); `link.ts` owns the socket and its reconnects, so each
 * partition's socket fails and comes back on its own. This file owns the messages
 * delivered on this socket and the promises of their settle calls; the handler calls are
 * the subscriber's (`subscriber.ts`).
 */

import { WasmSession } from "../wasm/ismld.js";
import { type AbortReason, DisconnectedError, errorFor, fromWasm, type IsmldError } from "./errors.js";
import { type Action, Link, type LinkContext } from "./link.js";
import { Message, type MessageOwner } from "./message.js";

/** @internal What a consumer socket reports to its subscriber. */
export interface ConsumerOwner {
  /** Runs the handler of a message delivered on `from`. */
  deliver(from: Consumer, msg: Message<never, never>): void;
  /** `from` was welcomed; the `welcome` names its partition and the topic's count. */
  welcomed(from: Consumer, welcome: { partition: number; partitions: number }): void;
  /**
   * `from` failed before it opened (a partitioned topic refuses a socket without
   * `?partition`): what finding out takes, which its reconnect waits for.
   */
  openFailed(from: Consumer): Promise<void> | undefined;
  /** `from` stopped for good (a final close, refused settings). */
  failed(from: Consumer, error: IsmldError): void;
}

/** @internal One socket of a subscriber. */
export class Consumer extends Link implements MessageOwner {
  private session: WasmSession | undefined;
  private readonly messages = new Map<string, Message<never, never>>();
  private readonly answers = new Map<number, { resolve: (deadline: number | undefined) => void; reject: (e: Error) => void }>();

  constructor(
    ctx: LinkContext,
    fullChannelName: string,
    private readonly topic: string,
    private readonly channel: string,
    partition: number | undefined,
    private readonly owner: ConsumerOwner,
  ) {
    super(ctx, fullChannelName, partition);
  }

  /** Where the socket stands. */
  get state() {
    return this.linkState;
  }

  /** Makes the session (throws the contract's error for bad settings) and connects. */
  start(): void {
    try {
      this.session = new WasmSession(JSON.stringify(this.ctx.settings));
    } catch (e) {
      throw fromWasm(e);
    }
    this.core = this.session;
    this.connect();
  }

  /**
   * Stops: acknowledgements still waiting go out, the socket closes (the server requeues
   * what was in flight), handlers see their signal aborted with `why`.
   */
  stop(why: AbortReason = "closed"): void {
    if (this.linkState === "stopped") return;
    if (this.session) this.perform(this.session.stop(Date.now()));
    this.halt();
    // The socket is gone: answers to what it carried last will not be seen.
    for (const p of this.answers.values()) p.reject(new DisconnectedError(why === "closed" ? "closed" : "disconnected", "subscriber stopped before the answer"));
    this.answers.clear();
    for (const m of this.messages.values()) m.abort(why);
  }

  /** A handler returned (`ok`) or threw: the session's handler backoff. */
  handlerDone(ok: boolean): void {
    if (this.session && this.linkState !== "stopped") this.perform(this.session.handlerDone(Date.now(), ok));
  }

  /** This socket's credit. */
  setMaxInFlight(count: number): void {
    if (this.session && this.linkState !== "stopped") this.perform(this.session.setMaxInFlight(count));
  }

  /** The handler of `id` is done with it. */
  release(id: string): void {
    this.messages.delete(id);
  }

  protected open() {
    return this.ctx.transport.socket(this.topic, this.channel, this.partition);
  }

  protected override welcomed(w: { partition: number; partitions: number }): void {
    this.owner.welcomed(this, w);
  }

  protected override openFailed() {
    return this.owner.openFailed(this);
  }

  protected failed(error: IsmldError): void {
    this.halt();
    for (const m of this.messages.values()) m.abort("disconnected");
    this.owner.failed(this, error);
  }

  protected handle(a: Action): void {
    switch (a.do) {
      case "deliver": {
        const msg = new Message<never, never>(this, a);
        this.messages.set(msg.id, msg);
        this.owner.deliver(this, msg);
        break;
      }
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
