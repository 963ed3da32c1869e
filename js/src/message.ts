/** A delivered message and the verbs that settle it. */

import { IsmldError } from "./errors.js";
import type { CloudEvent } from "./types.js";

/** What a message needs from its subscriber. */
export interface MessageOwner {
  settle(verb: "fin" | "touch" | "req" | "shelve", id: string, state: unknown, delayMs?: number): Promise<number | undefined>;
  respond(id: string, data: unknown, contentType?: string): Promise<void>;
}

/** A delivery as the wire carries it. */
export interface Delivery {
  id: string;
  seq: number;
  attempt: number;
  failures: number;
  deadline: number;
  reply: boolean;
  checkpoint: unknown;
  event: CloudEvent;
}

function decodeData(event: CloudEvent): unknown {
  if (event.data !== undefined) return event.data;
  if (typeof event.data_base64 === "string") {
    const bin = atob(event.data_base64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }
  return undefined;
}

/**
 * A message delivered to a handler. Settle it at most once with {@link finish},
 * {@link shelve}, {@link requeue} or {@link respond}; {@link acknowledge} and
 * {@link touch} keep it and may be called any number of times before. A handler that
 * returns without settling finishes it; one that throws requeues it.
 */
export class Message<T = unknown, S = unknown> {
  /** Message id (unique within the topic). */
  readonly id: string;
  /** Per-topic sequence number. */
  readonly seq: number;
  /** Deliveries so far, this one included. */
  readonly attempt: number;
  /** Failed deliveries so far. */
  readonly failures: number;
  /** Whether the publisher waits for {@link respond}. */
  readonly reply: boolean;
  /** The CloudEvent. */
  readonly event: CloudEvent<T>;
  /** The event's data: parsed JSON, text, or bytes (`data_base64`). */
  readonly data: T;
  /** Aborted when the in-flight deadline passes or the connection is lost: stop, and shelve if you can. */
  readonly signal: AbortSignal;
  private readonly abortController = new AbortController();
  private checkpointValue: S | null;
  private deadlineValue: number;
  private settledValue = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** @internal */
  constructor(
    private readonly owner: MessageOwner,
    d: Delivery,
  ) {
    this.id = d.id;
    this.seq = d.seq;
    this.attempt = d.attempt;
    this.failures = d.failures;
    this.reply = d.reply;
    this.event = d.event as CloudEvent<T>;
    this.data = decodeData(d.event) as T;
    this.checkpointValue = (d.checkpoint ?? null) as S | null;
    this.deadlineValue = d.deadline;
    this.signal = this.abortController.signal;
    this.arm();
  }

  /** The last saved checkpoint: restored on redelivery, `null` if none. */
  get checkpoint(): S | null {
    return this.checkpointValue;
  }

  /** In-flight deadline, ms since the epoch; {@link touch} and {@link acknowledge} move it. */
  get deadline(): number {
    return this.deadlineValue;
  }

  /** Whether the message was finished, shelved, requeued or responded to. */
  get settled(): boolean {
    return this.settledValue;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const ms = this.deadlineValue - Date.now();
    this.timer = setTimeout(() => this.abort("handler timeout: the in-flight deadline passed"), Math.max(0, ms));
  }

  /** @internal Aborts the signal (deadline passed, or connection lost). */
  abort(reason: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.signal.aborted) this.abortController.abort(new IsmldError("timeout", reason));
  }

  private claim(verb: string): void {
    if (this.settledValue) throw new IsmldError("invalid_request", `message ${this.id} is already settled; cannot ${verb}`);
  }

  private done(): void {
    this.settledValue = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Still working: moves the deadline and saves `state` as the checkpoint (touch + state). */
  async acknowledge(state: S): Promise<void> {
    this.claim("acknowledge");
    const deadline = await this.owner.settle("touch", this.id, state === undefined ? null : state);
    this.checkpointValue = state;
    if (deadline !== undefined) {
      this.deadlineValue = deadline;
      this.arm();
    }
  }

  /** Still working: moves the deadline, keeps the checkpoint. */
  async touch(): Promise<void> {
    this.claim("touch");
    const deadline = await this.owner.settle("touch", this.id, undefined);
    if (deadline !== undefined) {
      this.deadlineValue = deadline;
      this.arm();
    }
  }

  /** Done. `state`, if given, is saved as the final checkpoint. */
  async finish(state?: S): Promise<void> {
    this.claim("finish");
    this.done();
    await this.owner.settle("fin", this.id, state);
  }

  /** Gives the message back for later with a checkpoint; not a failure. */
  async shelve(state?: S, options: { delayMs?: number } = {}): Promise<void> {
    this.claim("shelve");
    this.done();
    await this.owner.settle("shelve", this.id, state, options.delayMs);
  }

  /** Failed: requeue (after `delayMs`) or dead-letter once `maxAttempts` failures are reached. */
  async requeue(options: { delayMs?: number; state?: S } = {}): Promise<void> {
    this.claim("requeue");
    this.done();
    await this.owner.settle("req", this.id, options.state, options.delayMs);
  }

  /** Answers a request (a message with `reply: true`); also finishes it. */
  async respond(data: unknown, options: { contentType?: string } = {}): Promise<void> {
    this.claim("respond");
    this.done();
    await this.owner.respond(this.id, data, options.contentType);
  }
}
