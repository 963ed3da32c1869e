/**
 * Partitioned topics, on the client's side: learning a topic's partition count, spreading
 * a subscriber's credit over its sockets, and routing a socket publish to the partition
 * the bus would pick. The rules are the Rust core's (src/client/partitions.rs, the same
 * `route` as the front Worker's), through the wasm.
 *
 * How the count is learnt: a socket is first opened without `?partition` (on a topic of one
 * partition that is all there is: no extra request). A partitioned topic refuses that
 * upgrade with `409` and the count, which no WebSocket API shows (browsers and Node's
 * WebSocket just fail it), so a socket that fails before it opens makes the client ask
 * `GET /v1/topics/{topic}/partitions` (answered by the front Worker from what it routes
 * with: no stats are gathered); a `welcome` says it too.
 */

import { partitionOf, spreadCredit } from "../wasm/ismld.js";
import { IsmldError } from "./errors.js";
import { seg, type Transport } from "./transport.js";

/** What asking for a topic's partition count found. */
export type Probe =
  /** The count (1 for a topic that does not exist yet: it is made with one). */
  | { partitions: number }
  /** The bus refused the caller (401 / 403): the socket's refusal, as the contract's error. */
  | { refused: IsmldError }
  /** Nothing learnt (the bus is unreachable, or answered otherwise): retry as usual. */
  | undefined;

/**
 * `GET /v1/topics/{topic}/partitions`: the topic's partition count. At most `timeoutMs` (a reconnect
 * waits for it: a bus that does not answer must not hold it longer than a socket would).
 */
export async function probePartitions(transport: Transport, topic: string, timeoutMs: number): Promise<Probe> {
  try {
    const r = await transport.http({ method: "GET", path: `/v1/topics/${seg(topic)}/partitions`, signal: AbortSignal.timeout(timeoutMs) });
    const n = (JSON.parse(r.text) as { partitions?: unknown }).partitions;
    return { partitions: typeof n === "number" && Number.isInteger(n) && n >= 1 ? n : 1 };
  } catch (e) {
    if (!(e instanceof IsmldError)) return undefined;
    if (e.code === "not_found") return { partitions: 1 };
    if (e.code === "unauthorized" || e.code === "forbidden") return { refused: e };
    return undefined;
  }
}

/** `total` credit over `n` sockets, at least 1 each (10 over 4: 3, 3, 2, 2). */
export function spread(total: number, n: number): number[] {
  return [...spreadCredit(Math.max(0, Math.floor(total)), Math.max(1, n))];
}

/** The partition of a CloudEvent on a topic of `n` partitions: by ordering key, else source + id, else any. */
export function routeEvent(event: Record<string, unknown>, n: number): number {
  if (n <= 1) return 0;
  const text = (k: string) => (typeof event[k] === "string" ? (event[k] as string) : undefined);
  const p = partitionOf(text("orderingkey") ?? text("partitionkey"), text("source") ?? "", text("id"), n);
  return p ?? Math.floor(Math.random() * n);
}
