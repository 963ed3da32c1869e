/**
 * Types of the management API (`bus.admin`): answers keep the wire's field names
 * (snake_case, as the HTTP API documents them); options are camelCase like the rest of
 * the client.
 */

import type { Delivery } from "./message.js";

/** Counters and gauges of one channel (`GET /v1/topics/{topic}`). */
export interface ChannelStats {
  /** Channel (wire name). */
  channel: string;
  /** Messages neither finished nor dead. */
  depth: number;
  ready: number;
  in_flight: number;
  deferred: number;
  dead: number;
  consumers: number;
  /** The attached socket consumers, one entry each (nsqd's `clients`). */
  attached: AttachedConsumer[];
  paused: boolean;
  published_total: number;
  delivered_total: number;
  finished_total: number;
  requeued_total: number;
  timed_out_total: number;
  dropped_total: number;
  /** Events the channel's filter did not match. */
  filtered_total?: number;
  /** Messages not delivered (again) because they expired. */
  expired_total?: number;
  /** Push channels: deliveries answered 2xx, and failed ones. */
  push_ok_total?: number;
  push_failed_total?: number;
  /** Push channels: the settings (never the secret) and the last error (a 410 pauses the channel). */
  push?: PushSettings;
  push_error?: string;
  /** In a partitioned topic's per-partition list: which partition these stats are of. */
  partition?: number;
  /**
   * Partitioned topics: these stats are the sum over the partitions (`consumers` counts
   * every partition's sockets), and this lists each partition's own, by partition.
   * Absent on a topic of one partition.
   */
  partitions?: ChannelStats[];
}

/**
 * One socket consumer attached to a channel. Its counters start again when the topic's
 * object restarts (a deploy, or waking from hibernation).
 */
export interface AttachedConsumer {
  /** The `session` of its `welcome`. */
  session: string;
  /** `/clients/{login}`, `/admin` or `/anonymous`. */
  source: string;
  /** The address it connected from, when the runtime says (`CF-Connecting-IP`). */
  address?: string;
  max_in_flight: number;
  in_flight: number;
  delivered: number;
  finished: number;
  requeued: number;
  /** It asked for `msgs` frames. */
  batch: boolean;
  /** When its socket was opened (RFC 3339). */
  connected_at: string;
  /** Its partition, in a partitioned topic's channel stats. */
  partition?: number;
}

/** `GET /v1/topics/{topic}`. */
export interface TopicStats {
  topic: string;
  /** Highest sequence number so far (`seq`s are per partition: on a partitioned topic, the sum of the partitions'). */
  seq: number;
  /** Events kept in storage (all partitions). */
  retained: number;
  /** Number of partitions (1 for a topic made implicitly or on `memory://`). */
  partitions: number;
  channels: ChannelStats[];
}

/** One entry of `GET /v1/topics`. */
export interface TopicSummary {
  topic: string;
  seq: number;
  /** Number of partitions. */
  partitions: number;
  /** Channel names. */
  channels: string[];
  /** With `{ stats: true }`. */
  retained?: number;
  channel_stats?: ChannelStats[];
}

/** A CloudEvents Subscriptions API filter (context attributes and extensions, not `data`). */
export type Filter =
  | { exact: Record<string, string> }
  | { prefix: Record<string, string> }
  | { suffix: Record<string, string> }
  | { all: Filter[] }
  | { any: Filter[] }
  | { not: Filter }
  | { sql: string };

/** A push channel's settings, as the bus shows them. */
export interface PushSettings {
  url: string;
  headers?: Record<string, string>;
  max_in_flight?: number;
  timeout_ms?: number;
  max_attempts?: number;
  retry_ms?: number;
  /** Only in the answer that made the channel (`whsec_...`): keep it, it is not shown again. */
  secret?: string;
}

/** Options of `admin.createChannel`. */
export interface ChannelOptions {
  /** First sequence number the channel delivers (default: the topic's next). */
  fromSeq?: number;
  /** Fixed when the channel is made (another filter later is `409 conflict`). */
  filter?: Filter | Filter[];
  /** Makes a push channel: the bus POSTs each message to `url` (CloudEvents binary mode, Standard Webhooks signature). */
  push?: {
    url: string;
    headers?: Record<string, string>;
    maxInFlight?: number;
    timeoutMs?: number;
    maxAttempts?: number;
    retryMs?: number;
  };
}

/** One dead letter (`GET .../dead`). */
export interface DeadLetter {
  id: string;
  seq: number;
  partition?: number;
  failures: number;
  event: Record<string, unknown>;
  checkpoint: unknown;
}

/** A page of dead letters; pass `cursor` to get the next. */
export interface DeadLetterPage {
  messages: DeadLetter[];
  /** More follow. */
  cursor?: string;
}

/** Options of `admin.pull`. */
export interface PullOptions {
  /** 1..1,000, default 10. */
  max?: number;
  /** The messages' deadline (handler timeout), default 60,000. */
  visibilityMs?: number;
  /** Long-poll up to this long for a message (0..30,000), default 0. */
  waitMs?: number;
  /** Failures after which a message is dead (0 = never). */
  maxAttempts?: number;
  /** Partitioned topics. */
  partition?: number;
  signal?: AbortSignal;
}

/** A pulled message (in flight until its `deadline`; settle it with `admin.settle`). */
export type PulledMessage = Delivery;

/** One item of `admin.settle`. */
export interface SettleItem {
  op: "fin" | "touch" | "req" | "shelve";
  id: string;
  /** New checkpoint (`null` clears it). */
  state?: unknown;
  /** Delay (req, shelve). */
  delayMs?: number;
}

/** What `admin.settle` answers for each item, in order. */
export type SettleResult = { id: string; ok: true; deadline?: number } | { id: string; error: { code: string; message: string } };

/** A client (`GET /v1/clients`; never its secret). */
export interface ClientInfo {
  login: string;
  publish: string[];
  subscribe: string[];
  created: number | string;
}

/** A login and its secret (shown once). */
export interface ClientSecret {
  login: string;
  secret: string;
}

/** A bearer token for browsers; `expires_at` in ms since the epoch. */
export interface Token {
  token: string;
  expires_at: number;
}

/** `GET /v1/health`. */
export interface Health {
  ok: boolean;
  version: string;
}
