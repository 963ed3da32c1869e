/** A delivered message and the verbs that settle it. */

import { type AbortReason, errorFor, IsmldError, InvalidRequestError } from "./errors.js";
import type { CloudEvent } from "./types.js";

/** What a message needs from its subscriber. */
export interface MessageOwner {
  settle(verb: "fin" | "touch" | "req" | "shelve", id: string, state: unknown, delayMs?: number): Promise<number | undefined>;
  respond(id: string, data: unknown, contentType?: string): Promise<void>;
}

/** A delivery as the wire carries it (also what `admin.pull` answers). */
export interface Delivery {
  id: string;
  seq: number;
  partition: number;
  attempt: number;
  failures: number;
  deadline: number;
  reply: boolean;
  checkpoint: unknown;
  event: Record<string, unknown>;
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

const WHY: Record<AbortReason, string> = {
  timeout: "handler timeout: the in-flight deadline passed; the message will be redelivered",
  disconnected: "connection lost; the message will be redelivered",
  closed: "the subscriber or connection was closed; the message will be redelivered",
};

/**
 * A message delivered to a handler. Settle it at most once with {@link finish},
 * {@link shelve}, {@link requeue} or {@link respond}; {@link acknowledge} and
 * {@link touch} keep it and may be called any number of times before. A handler that
 * returns without settling finishes it; one that throws requeues it.
 */
export class Message<T = unknown, S = unknown> {
  /** Message id (unique within the topic). */
  readonly id: string;
  /** Sequence number (per partition). */
  readonly seq: number;
  /** Partition of the topic (0 on a topic with one). */
  readonly partition: number;
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
  /**
   * Aborted when the in-flight deadline passes, the connection is lost, or the subscriber
   * is stopped: stop, and shelve if you can. `signal.reason` is an `IsmldError` whose
   * `code` says why: `timeout`, `disconnected` or `closed`.
   */
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
    this.partition = d.partition ?? 0;
    this.attempt = d.attempt;
    this.failures = d.failures;
    this.reply = d.reply;
    this.event = d.event as CloudEvent<T>;
    this.data = decodeData(this.event) as T;
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

  /**
   * The event as a CloudEvent: a plain structured-mode object, or, given the `cloudevents`
   * SDK's class (`msg.toCloudEvent(CloudEvent)`), an object of it.
   */
  toCloudEvent(): CloudEvent<T>;
  toCloudEvent<E>(sdk: new (event: CloudEvent<T>) => E): E;
  toCloudEvent<E>(sdk?: new (event: CloudEvent<T>) => E): CloudEvent<T> | E {
    const copy = { ...this.event };
    return sdk ? new sdk(copy) : copy;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const ms = this.deadlineValue - Date.now();
    this.timer = setTimeout(() => this.abort("timeout"), Math.max(0, ms));
  }

  /** @internal Aborts the signal, saying why. */
  abort(why: AbortReason): void {
    this.release();
    if (!this.signal.aborted) this.abortController.abort(errorFor(why, WHY[why]));
  }

  /** @internal The handler is done with it: no more deadline timer. */
  release(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** @internal Given back without a frame: the socket's close returns it to the bus. */
  abandon(): void {
    this.done();
  }

  private claim(verb: string): void {
    if (this.settledValue) throw new InvalidRequestError("invalid_request", `message ${this.id} is already settled; cannot ${verb}`);
  }

  private done(): void {
    this.settledValue = true;
    this.release();
  }

  private moved(deadline: number | undefined): void {
    if (deadline === undefined) return;
    this.deadlineValue = deadline;
    if (!this.settledValue) this.arm();
  }

  /** Still working: moves the deadline and saves `state` as the checkpoint (touch + state). */
  async acknowledge(state: S): Promise<void> {
    this.claim("acknowledge");
    const deadline = await this.owner.settle("touch", this.id, state === undefined ? null : state);
    this.checkpointValue = state;
    this.moved(deadline);
  }

  /** Still working: moves the deadline, keeps the checkpoint. */
  async touch(): Promise<void> {
    this.claim("touch");
    this.moved(await this.owner.settle("touch", this.id, undefined));
  }

  /** Done. `state`, if given, is checked (at most 64 KiB) and dropped with the message: a finished message keeps no checkpoint. */
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
