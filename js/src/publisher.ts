/**
 * Publishing over a topic's publisher socket (`GET /v1/topics/{topic}/ws`, or one
 * partition's, `?partition=P`): the wasm publisher (src/client/publisher.rs) batches
 * pipelined `pub` frames after a short linger and answers each publish once the bus made
 * it durable; publishes made while the socket is down wait (bounded) and go out after the
 * next `welcome`. This file owns the socket (through `link.ts`) and the promises; which
 * socket a publish takes is `routing.ts`'s.
 */

import { WasmPublisher } from "../wasm/ismld.js";
import { DisconnectedError, errorFor, fromWasm, type IsmldError } from "./errors.js";
import { type Action, Link, type LinkContext } from "./link.js";
import type { PublishResult } from "./types.js";

/** A publish waiting for its answer, with what it takes to send it again elsewhere. */
export type Pending = {
  resolve: (r: PublishResult) => void;
  reject: (e: Error) => void;
  event: string;
  delayMs: number | undefined;
  ttlMs: number | undefined;
  signal: AbortSignal | undefined;
  /** The partition the caller chose (`partition`), which routing again keeps. */
  pinned?: number;
};

/** @internal What a publisher socket tells whoever routes publishes to it. */
export interface PublisherOwner {
  /** Welcomed: the `welcome` names the socket's partition and the topic's count. */
  welcomed(from: PublisherLink, welcome: { partition: number; partitions: number }): void;
  /** It failed before opening (a partitioned topic refuses a socket without `?partition`): what finding out takes. */
  openFailed(from: PublisherLink): Promise<void> | undefined;
  /** It stopped for good (a final refusal): the next publish needs a new one. */
  gone(from: PublisherLink): void;
}

/** @internal One topic's publisher socket, or one partition's. */
export class PublisherLink extends Link {
  private readonly publisher: WasmPublisher;
  private readonly pending = new Map<number, Pending>();

  constructor(
    ctx: LinkContext,
    private readonly topic: string,
    partition?: number,
    private readonly owner?: PublisherOwner,
  ) {
    super(ctx, `@${topic}`, partition);
    try {
      this.publisher = new WasmPublisher(JSON.stringify(ctx.settings));
    } catch (e) {
      throw fromWasm(e);
    }
    this.core = this.publisher;
  }

  /** Publishes waiting for their answer. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Whether the socket is up. */
  get live(): boolean {
    return this.linkState === "connected";
  }

  /** Publishes a CloudEvent (JSON text, with an id); resolves once durable. */
  publish(event: string, delayMs: number | undefined, ttlMs: number | undefined, signal?: AbortSignal, pinned?: number): Promise<PublishResult> {
    signal?.throwIfAborted();
    const r = JSON.parse(this.publisher.publish(Date.now(), event, delayMs, ttlMs)) as { ref: number; actions: Action[] };
    const p = new Promise<PublishResult>((resolve, reject) => this.pending.set(r.ref, { resolve, reject, event, delayMs, ttlMs, signal, ...(pinned === undefined ? {} : { pinned }) }));
    if (signal) {
      const abort = () => {
        const waiting = this.pending.get(r.ref);
        if (!waiting) return;
        this.pending.delete(r.ref);
        this.publisher.cancel(r.ref);
        waiting.reject(signal.reason instanceof Error ? signal.reason : new DisconnectedError("closed", "publish aborted"));
      };
      signal.addEventListener("abort", abort, { once: true });
      void p.then(
        () => signal.removeEventListener("abort", abort),
        () => signal.removeEventListener("abort", abort),
      );
    }
    this.perform(r.actions);
    return p;
  }

  /**
   * Takes back every publish still waiting, in the order they were made, to send them
   * over other sockets (the topic's partitions changed). Those already sent may land
   * here too (at least once: their ids deduplicate them only within one partition).
   */
  takeBack(): Pending[] {
    const out = [...this.pending.entries()].map(([ref, p]) => {
      this.publisher.cancel(ref);
      return p;
    });
    this.pending.clear();
    return out;
  }

  /** Fails what waits and closes the socket. */
  stop(): void {
    this.perform(this.publisher.stop());
    this.halt();
    for (const p of this.pending.values()) p.reject(new DisconnectedError("closed", "the connection is closed"));
    this.pending.clear();
  }

  protected open() {
    return this.ctx.transport.socket(this.topic, undefined, this.partition);
  }

  protected override welcomed(w: { partition: number; partitions: number }): void {
    this.owner?.welcomed(this, w);
  }

  protected override openFailed() {
    return this.owner?.openFailed(this);
  }

  protected failed(error: IsmldError): void {
    // After a final refusal the wasm answered every publish already; when the socket could
    // not even be made (a partition a memory:// topic lacks) they are still waiting: they
    // fail with the error and are taken out of the wasm's queue. This socket is done; the
    // next publish starts over on a new one.
    for (const [ref, p] of this.pending) {
      this.publisher.cancel(ref);
      p.reject(error);
    }
    this.pending.clear();
    this.perform(this.publisher.stop());
    this.halt();
    this.owner?.gone(this);
    this.ctx.emit("error", { subscription: this.fullChannelName, error });
  }

  protected handle(a: Action): void {
    if (a.do === "published") {
      const p = this.pending.get(a.ref);
      this.pending.delete(a.ref);
      p?.resolve({ topic: this.topic, id: a.id, seq: a.seq, partition: a.partition, duplicate: a.duplicate });
    } else if (a.do === "answer") {
      const p = this.pending.get(a.ref);
      this.pending.delete(a.ref);
      p?.reject(errorFor(a.code ?? "internal", a.message ?? "refused"));
    }
  }
}
