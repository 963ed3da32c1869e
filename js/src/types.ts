/** Public types of the ismld client. */

import type { Logger } from "./logger.js";

/** A CloudEvents 1.0 event in the JSON format. */
export interface CloudEvent<T = unknown> {
  specversion: "1.0";
  id: string;
  source: string;
  type: string;
  subject?: string;
  time?: string;
  datacontenttype?: string;
  dataschema?: string;
  data?: T;
  data_base64?: string;
  /** Extensions: `orderingkey`, `deliverafter`, `expirytime`, and any other. */
  [extension: string]: unknown;
}

/**
 * What {@link Connection.publishEvent} takes: a CloudEvent as plain JSON, or an object of
 * the `cloudevents` SDK (its `specversion` is typed `string`; anything with a `toJSON`
 * is serialized through it).
 */
export interface CloudEventLike {
  specversion: string;
  id: string;
  source: string;
  type: string;
  [attribute: string]: unknown;
}

/** A token, or a function that returns one (called at every connect, and after a 401 or a 4001). */
export type TokenSource = string | (() => string | Promise<string>);

/** Credentials: a client's login and secret, or a token from `POST /v1/tokens` (or a provider of tokens). */
export type Credentials =
  | { login: string; secret: string; clientId?: string }
  | { token: TokenSource; clientId?: string };

/** A WebSocket constructor (the platform's, or `ws` in Node 20). */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The part of the WebSocket interface the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** How publishes travel (see {@link ConnectionOptions.publishing}). */
export interface PublishingOptions {
  /**
   * `"auto"` (default): over the topic's publisher socket when the runtime has a WebSocket
   * and a publish starts while another is still waiting for its answer (bursts, concurrent
   * publishers), else HTTP. `"socket"`: always the socket. `"http"`: always HTTP.
   */
  via?: "auto" | "socket" | "http";
  /**
   * How long a socket publish made while frames are out waits for others to share its
   * frame, in ms, before a new frame goes (it goes sooner when an answer arrives; with 0 it
   * waits for an answer alone). One made while no frame is out goes at once. Default 5.
   */
  lingerMs?: number;
  /** Most events in one `pub` frame. Default 500 (the bus takes 1,000). */
  maxBatch?: number;
  /**
   * Most `pub` frames waiting for their answer on a socket. Publishes made meanwhile wait
   * for one and then share a frame, so under load frames grow instead of multiplying (the
   * bus's cost is per frame). Default 16.
   */
  maxFrames?: number;
  /** Most publishes waiting for an answer per topic (sent or queued while disconnected); more are refused with `unavailable`. Default 10,000. */
  queueCap?: number;
  /** A socket publish not acknowledged in this time rejects with `TimeoutError`. Default 30,000. */
  timeoutMs?: number;
  /** An idle publisher socket closes after this long, in ms (0 = never). Default 30,000. */
  idleMs?: number;
}

/** Options of a {@link Connection}. */
export interface ConnectionOptions {
  /** Base URL of the bus (`http://127.0.0.1:8787`), or `memory://` / `memory://name` (import `ismld/memory`). */
  url: string;
  /** Who the client is. Optional for `memory://` and for a bus that allows anonymous access. */
  credentials?: Credentials;
  /** Prepended to every topic and channel name before it reaches the wire. Default `""`. */
  namePrefix?: string;
  /** How often sockets send `ping`, in ms (the server allows 5,000..120,000). Default 30,000. */
  heartbeatInterval?: number;
  /** First handler backoff after a handler throws, in ms; doubles up to 60 s, reset on success. Default 5,000. */
  backoff?: number;
  /** Failures after which the server dead-letters a message (0 = unlimited). Default 0. */
  maxAttempts?: number;
  /** Reconnect backoff (full jitter): floor and cap in ms. Default `{ min: 500, max: 30_000 }`. */
  reconnect?: { min?: number; max?: number };
  /** Longest wait for a socket to open and be welcomed before retrying, in ms. Default 10,000. */
  connectTimeout?: number;
  /** `source` of events the client builds. Default `/clients/{login}`, or `/ismld-js` with a token. */
  source?: string;
  /** How publishes travel: HTTP or the topic's publisher socket. */
  publishing?: PublishingOptions;
  /** Ask for batched deliveries and coalesce acknowledgements when the bus offers them. Default true. */
  batch?: boolean;
  /** Aborting closes the connection (like {@link Connection.close}). */
  signal?: AbortSignal;
  /** Where the client says what it does. Silent by default. */
  logger?: Logger;
  /** WebSocket constructor. Default `globalThis.WebSocket`, or the `ws` package on Node 20. */
  WebSocket?: WebSocketConstructor;
  /** fetch implementation. Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
}

/** Options of {@link Connection.publish}. */
export interface PublishOptions {
  /** Events with the same key are delivered in order, one at a time per channel. */
  orderingKey?: string;
  /** Deliver no earlier than this many ms from now (at most 7 days). */
  delayMs?: number;
  /** Not delivered (again) after this many ms from now. */
  ttlMs?: number;
  /**
   * CloudEvent `id`. With an id the publish is idempotent (the bus deduplicates by source
   * and id for 10 minutes) and it is retried on network errors. Without one the bus (HTTP)
   * or the client (socket) makes one.
   */
  id?: string;
  /** CloudEvent `type`. Default: the topic's wire name. */
  type?: string;
  /** CloudEvent `subject`. */
  subject?: string;
  /**
   * The partition of a partitioned topic to publish to (0-based), instead of the bus's
   * routing (ordering key, else source and id): over HTTP `?partition=P`, over the socket
   * path that partition's publisher socket; a partition the topic does not have is
   * refused (`invalid_request`).
   */
  partition?: number;
  /** Content type of `data` when it is a string or bytes. Default `application/json` for values, `text/plain` for strings, `application/octet-stream` for bytes. */
  contentType?: string;
  /** Aborting rejects the publish (an event already sent may still be published). */
  signal?: AbortSignal;
}

/** One item of {@link Connection.publishBatch}. */
export interface BatchItem<T = unknown> {
  data: T;
  id?: string;
  type?: string;
  subject?: string;
  orderingKey?: string;
  delayMs?: number;
}

/** What a publish answers. */
export interface PublishResult {
  /** Wire name of the topic. */
  topic: string;
  /** Message id (what fin and redrive take). */
  id: string;
  /** Sequence number (per partition). */
  seq: number;
  /** Partition the event went to (0 on a topic with one). */
  partition: number;
  /** Whether the (source, id) pair had been accepted before. */
  duplicate: boolean;
}

/** Options of {@link Connection.request}. */
export interface RequestOptions {
  /** How long to wait for a response, in ms (max 300,000). Default 30,000. */
  timeoutMs?: number;
  /** Ordering key of the request event. */
  orderingKey?: string;
  /** Aborting rejects the request (the request event stays published). */
  signal?: AbortSignal;
}

/** The answer to a request. */
export interface Reply<T = unknown> {
  /** The responder's data. */
  data: T;
  /** The response CloudEvent (`type` = request type + `.response`). */
  event: CloudEvent<T>;
}

/** What a subscriber consumes. */
export interface SubscribeOptions {
  /** Topic name (without the prefix). */
  topic: string;
  /** Channel name (without the prefix); may end in `#ephemeral`. */
  channel: string;
  /** In-flight deadline of each message, in ms (1,000..3,600,000). Default 60,000. */
  handlerTimeout?: number;
  /** Messages handled at once (1..2,500). Default 1. */
  maxInFlight?: number;
  /** Overrides the connection's `maxAttempts` for this subscriber. */
  maxAttempts?: number;
  /**
   * A filter for the channel: `start()` makes the channel with it first (a CloudEvents
   * Subscriptions API filter, CESQL included). A filter is fixed when the channel is made:
   * another one on an existing channel rejects `start()` with a `conflict` error.
   */
  filter?: import("./admin-types.js").Filter | import("./admin-types.js").Filter[];
}

/** Options of {@link Connection.consume}: a subscription, and a signal that ends the loop. */
export interface ConsumeOptions extends SubscribeOptions {
  /** Aborting ends the loop (like `break`). */
  signal?: AbortSignal;
}

/**
 * Connection state events and what they carry. `subscription` is `{channel}@{topic}`, or
 * `@{topic}` for a publisher socket; on a partitioned topic each partition has its own
 * socket, and its events say which in `partition` (absent on a topic of one partition).
 */
export interface ConnectionEvents {
  /** A socket is opening. */
  connecting: { subscription: string; partition?: number; attempt: number };
  /** A socket's `hello` was accepted. */
  connected: { subscription: string; partition?: number; session: string };
  /** A socket closed; it reconnects after `reconnectInMs` unless that is undefined. */
  disconnected: { subscription: string; partition?: number; code: number; reason: string; reconnectInMs?: number };
  /** Something failed: a fatal close, a handler error, a refused frame. */
  error: { subscription?: string; partition?: number; error: Error };
}

/** The connection's overall state. */
export const State = {
  Idle: "idle",
  Connecting: "connecting",
  Connected: "connected",
  Disconnected: "disconnected",
  Closed: "closed",
} as const;
/** The connection's overall state. */
export type State = (typeof State)[keyof typeof State];
