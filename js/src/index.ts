/**
 * ismld: the JS/TypeScript client of the ismld event bus. The protocol logic (sessions,
 * frames, credit, backoff, publisher batching) is the Rust crate compiled to wasm; this
 * package adds the sockets, timers and promises. `memory://` (the bus in-process) is the
 * `ismld/memory` entry.
 *
 * @packageDocumentation
 */

export { Connection } from "./connection.js";
export { Subscriber, type Handler, type SubscriberState } from "./subscriber.js";
export { Message, type Delivery } from "./message.js";
export { Admin } from "./admin.js";
export type * from "./admin-types.js";
export type { Logger } from "./logger.js";
export {
  IsmldError,
  InvalidRequestError,
  UnauthorizedError,
  ForbiddenError,
  NotFoundError,
  LimitError,
  TimeoutError,
  DisconnectedError,
  CloseCode,
  CLIENT_CODES,
  STATUS,
  type AbortReason,
  type BatchOutcome,
  type ErrorCode,
} from "./errors.js";
export { State } from "./types.js";
export type {
  BatchItem,
  CloudEvent,
  CloudEventLike,
  ConnectionEvents,
  ConnectionOptions,
  ConsumeOptions,
  Credentials,
  PublishingOptions,
  PublishOptions,
  PublishResult,
  Reply,
  RequestOptions,
  SubscribeOptions,
  TokenSource,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.js";
export { ready } from "./wasm.js";
export { uuid } from "./uuid.js";
