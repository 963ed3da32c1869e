/** Public types of the ismld client. */

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
  /** Extensions: `orderingkey`, `deliverafter`, and any other. */
  [extension: string]: unknown;
}

/** Credentials: a client's login and secret, or a token from `POST /v1/tokens`. */
export type Credentials =
  | { login: string; secret: string; clientId?: string }
  | { token: string; clientId?: string };

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

/** Options of a {@link Connection}. */
export interface ConnectionOptions {
  /** Base URL of the bus (`http://127.0.0.1:8787`), or `memory://` (optionally `memory://name`) for the in-process bus. */
  url: string;
  /** Who the client is. Optional for `memory://` and for a bus that allows anonymous access. */
  credentials?: Credentials;
  /** Prepended to every topic and channel name before it reaches the wire. Default `""`. */
  namePrefix?: string;
  /** How often subscribers send `ping`, in ms (the server allows 5,000..120,000). Default 30,000. */
  heartbeatInterval?: number;
  /** First handler backoff after a handler throws, in ms; doubles up to 60 s, reset on success. Default 5,000. */
  backoff?: number;
  /** Failures after which the server dead-letters a message (0 = unlimited). Default 0. */
  maxAttempts?: number;
  /** Reconnect backoff (full jitter): floor and cap in ms. Default `{ min: 500, max: 30_000 }`. */
  reconnect?: { min?: number; max?: number };
  /** Longest wait for a subscriber's socket to open and be welcomed before retrying, in ms. Default 10,000. */
  connectTimeout?: number;
  /** `source` of events the client builds (publish with `id`, batches). Default `/clients/{login}`, or `/ismld-js` with a token. */
  source?: string;
  /** WebSocket constructor. Default `globalThis.WebSocket` (browsers, Node >= 22). */
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
  /**
   * CloudEvent `id`. With an id the client sends a structured CloudEvent, the publish is
   * idempotent (the bus deduplicates by source and id for 10 minutes) and it is retried
   * on network errors. Without one the bus makes the event.
   */
  id?: string;
  /** CloudEvent `type` (with `id`). Default: the topic's wire name. */
  type?: string;
  /** CloudEvent `subject` (with `id`). */
  subject?: string;
  /** Content type of `data` when it is a string or bytes. Default `application/json` for values, `text/plain` for strings, `application/octet-stream` for bytes. */
  contentType?: string;
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
  /** Per-topic sequence number. */
  seq: number;
  /** Whether the (source, id) pair had been accepted before. */
  duplicate: boolean;
}

/** Options of {@link Connection.request}. */
export interface RequestOptions {
  /** How long to wait for a response, in ms (max 300,000). Default 30,000. */
  timeoutMs?: number;
  /** Ordering key of the request event. */
  orderingKey?: string;
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
}

/** Connection state events and what they carry. */
export interface ConnectionEvents {
  /** A subscriber is opening its socket. */
  connecting: { subscription: string; attempt: number };
  /** A subscriber's `hello` was accepted. */
  connected: { subscription: string; session: string };
  /** A subscriber's socket closed; it reconnects after `reconnectInMs` unless that is undefined. */
  disconnected: { subscription: string; code: number; reason: string; reconnectInMs?: number };
  /** Something failed: a fatal close, a handler error, a refused frame. */
  error: { subscription?: string; error: Error };
}

/** The connection's overall state. */
export type State = "idle" | "connecting" | "connected" | "disconnected" | "closed";
