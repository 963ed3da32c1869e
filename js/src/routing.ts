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
 *
 * A publish with an explicit `partition` takes that partition's socket (`?partition=P`,
 * accepted on a topic of one partition too) and keeps it when routed again; one out of
 * range fails with `invalid_request` once the count is known (the bus refuses such a
 * socket before the upgrade).
 */

import { InvalidRequestError, type IsmldError } from "./errors.js";
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
  /** Whether `count` was learnt (a `welcome` or the partitions probe), not assumed. */
  private known = false;
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
  publish(event: Record<string, unknown>, delayMs: number | undefined, ttlMs: number | undefined, signal?: AbortSignal, pinned?: number): Promise<PublishResult> {
    if (pinned !== undefined && this.known && pinned >= this.count) return Promise.reject(this.outOfRange(pinned));
    return this.linkTo(pinned ?? this.route(event)).publish(JSON.stringify(event), delayMs, ttlMs, signal, pinned);
  }

  private route(event: Record<string, unknown>): number {
    return this.count > 1 ? routeEvent(event, this.count) : -1;
  }

  private outOfRange(p: number): IsmldError {
    return new InvalidRequestError("invalid_request", `partition must be 0..${this.count - 1} on this topic, not ${p}`);
  }

  private linkTo(p: number): PublisherLink {
    let link = this.links.get(p);
    if (!link) {
      link = new PublisherLink(this.ctx(), this.topic, p < 0 ? undefined : p, this);
      this.links.set(p, link);
    }
    return link;
  }

  /** @internal */
  welcomed(from: PublisherLink, w: { partition: number; partitions: number }): void {
    if (w.partitions < 1 || !this.current(from)) return;
    this.known = true;
    if (w.partitions !== this.count) this.plan(w.partitions);
  }

  /** @internal A socket stopped for good: forgotten, so the next publish opens a new one. */
  gone(from: PublisherLink): void {
    for (const [p, l] of this.links) if (l === from) this.links.delete(p);
  }

  /** @internal A socket failed before opening: is the topic partitioned (one ask at a time)? */
  openFailed(from: PublisherLink): Promise<void> | undefined {
    if (this.closed || !this.current(from)) return undefined;
    const ctx = this.ctx();
    this.probing ??= probePartitions(this.transport, this.topic, ctx.connectTimeout).then((found) => {
      this.probing = undefined;
      if (this.closed || !found) return;
      if ("refused" in found) return this.refuse(found.refused);
      this.known = true;
      if (found.partitions !== this.count) this.plan(found.partitions);
      else this.dropOutOfRange();
    });
    return this.probing;
  }

  private current(link: PublisherLink): boolean {
    return [...this.links.values()].includes(link);
  }

  /** Routes every waiting publish again for `n` partitions, over new sockets. */
  private plan(n: number): void {
    const waiting: Pending[] = [];
    // Sockets pinned to a partition the topic has stay (while the count was 1, only pinned
    // publishes used them); every other one goes, and what waited on it is routed again.
    const kept = this.count === 1 ? [...this.links].filter(([p]) => p >= 0 && p < n) : [];
    for (const [p, l] of this.links) {
      if (kept.some(([k]) => k === p)) continue;
      waiting.push(...l.takeBack());
      l.stop();
    }
    this.links.clear();
    for (const [p, l] of kept) this.links.set(p, l);
    this.count = n;
    this.ctx().logger.info("ismld: the topic's partitions changed; publishing over one socket per partition", { subscription: `@${this.topic}`, partitions: n });
    for (const w of waiting) {
      if (w.pinned !== undefined && w.pinned >= n) {
        w.reject(this.outOfRange(w.pinned));
        continue;
      }
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
        this.linkTo(w.pinned ?? this.route(event)).publish(w.event, w.delayMs, w.ttlMs, w.signal, w.pinned).then(w.resolve, w.reject);
      } catch (e) {
        w.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  /** The sockets of partitions the topic does not have (pinned by callers): their publishes fail. */
  private dropOutOfRange(): void {
    for (const [p, l] of [...this.links]) {
      if (p < this.count) continue;
      for (const w of l.takeBack()) w.reject(this.outOfRange(p));
      l.stop();
      this.links.delete(p);
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
