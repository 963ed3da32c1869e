/**
 * A topic's publisher sockets: one on a topic of one partition; on a partitioned topic
 * one per partition (`?partition=P`, opened on first use), each publish routed by the
 * client with the bus's own rule (`partitions.ts`: ordering key, else source + id; socket
 * publishes always have an id). So a key's events share one socket and keep their order,
 * and a retried id goes where its first try went.
 *
 * The count is learnt like a subscriber learns it: the first socket goes without
 * `?partition`; if it fails before opening, `GET /v1/topics/{topic}` says the count, and
 * what waited on that socket is routed again (in the order it was published). A `welcome`
 * with another count does the same.
 */

import type { IsmldError } from "./errors.js";
import { type LinkContext } from "./link.js";
import { probePartitions, routeEvent } from "./partitions.js";
import { type Pending, PublisherLink, type PublisherOwner } from "./publisher.js";
import type { Transport } from "./transport.js";
import type { PublishResult } from "./types.js";

/** @internal The publisher sockets of one topic. */
export class TopicPublisher implements PublisherOwner {
  /** The partition count the sockets are for. */
  private count = 1;
  /** Sockets by partition (`-1`: the one socket of a topic of one partition). */
  private readonly links = new Map<number, PublisherLink>();
  private probing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly ctx: () => LinkContext,
    private readonly transport: Transport,
    private readonly topic: string,
  ) {}

  /** The partition count as the publisher knows it. */
  get partitions(): number {
    return this.count;
  }

  /** Whether a socket is up. */
  get live(): boolean {
    for (const l of this.links.values()) if (l.live) return true;
    return false;
  }

  /** Publishes a CloudEvent (with an id) over the socket of its partition; resolves once durable. */
  publish(event: Record<string, unknown>, delayMs: number | undefined, ttlMs: number | undefined, signal?: AbortSignal): Promise<PublishResult> {
    return this.linkFor(event).publish(JSON.stringify(event), delayMs, ttlMs, signal);
  }

  private linkFor(event: Record<string, unknown>): PublisherLink {
    const p = this.count > 1 ? routeEvent(event, this.count) : -1;
    let link = this.links.get(p);
    if (!link) {
      link = new PublisherLink(this.ctx(), this.topic, p < 0 ? undefined : p, this);
      this.links.set(p, link);
    }
    return link;
  }

  /** @internal */
  welcomed(from: PublisherLink, w: { partition: number; partitions: number }): void {
    if (w.partitions >= 1 && w.partitions !== this.count && this.current(from)) this.plan(w.partitions);
  }

  /** @internal A socket failed before opening: is the topic partitioned (one ask at a time)? */
  openFailed(from: PublisherLink): Promise<void> | undefined {
    if (this.closed || !this.current(from)) return undefined;
    const ctx = this.ctx();
    this.probing ??= probePartitions(this.transport, this.topic, ctx.connectTimeout).then((found) => {
      this.probing = undefined;
      if (this.closed || !found) return;
      if ("refused" in found) return this.refuse(found.refused);
      if (found.partitions !== this.count) this.plan(found.partitions);
    });
    return this.probing;
  }

  private current(link: PublisherLink): boolean {
    return [...this.links.values()].includes(link);
  }

  /** Routes every waiting publish again for `n` partitions, over new sockets. */
  private plan(n: number): void {
    const waiting: Pending[] = [];
    for (const l of this.links.values()) {
      waiting.push(...l.takeBack());
      l.stop();
    }
    this.links.clear();
    this.count = n;
    this.ctx().logger.info("ismld: the topic's partitions changed; publishing over one socket per partition", { subscription: `@${this.topic}`, partitions: n });
    for (const w of waiting) {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(w.event) as Record<string, unknown>;
      } catch (e) {
        w.reject(e instanceof Error ? e : new Error(String(e)));
        continue;
      }
      if (w.signal?.aborted) {
        w.reject(w.signal.reason instanceof Error ? w.signal.reason : new Error("publish aborted"));
        continue;
      }
      try {
        this.linkFor(event).publish(w.event, w.delayMs, w.ttlMs, w.signal).then(w.resolve, w.reject);
      } catch (e) {
        w.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  /**
   * The bus refused the caller (the socket's upgrade failed, and `GET /v1/topics/{topic}`
   * said 401 / 403): every waiting publish fails with that error, as after a refused
   * `hello`; the next publish starts over (with fresh credentials from a provider).
   */
  private refuse(error: IsmldError): void {
    for (const l of this.links.values()) {
      for (const w of l.takeBack()) w.reject(error);
      l.stop();
    }
    this.links.clear();
    this.ctx().emit("error", { subscription: `@${this.topic}`, error });
  }

  /** Fails what waits and closes the sockets. */
  stop(): void {
    this.closed = true;
    for (const l of this.links.values()) l.stop();
    this.links.clear();
  }
}
