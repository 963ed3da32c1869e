/**
 * ismld: the JS/TypeScript client of the ismld event bus. The protocol logic (sessions,
 * frames, credit, backoff, and the in-process `memory://` bus) is the Rust crate compiled
 * to wasm; this package adds the sockets, timers and promises.
 *
 * @packageDocumentation
 */

export { Connection } from "./connection.js";
export { Subscriber, type Handler, type SubscriberState } from "./subscriber.js";
export { Message } from "./message.js";
export {
  IsmldError,
  InvalidRequestError,
  UnauthorizedError,
  ForbiddenError,
  NotFoundError,
  LimitError,
  TimeoutError,
  DisconnectedError,
  type ErrorCode,
} from "./errors.js";
export type * from "./types.js";
export { ready } from "./wasm.js";
