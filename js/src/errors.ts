/**
 * Errors of the ismld client. Every error the bus reports carries one of the wire
 * contract's codes (`docs/PROTOCOL.md`, "Error codes"); the client adds `disconnected`
 * for calls that lost their connection before an answer.
 */

import type { PublishResult } from "./types.js";

/** The contract's error codes (as the bus sends them), plus the client's own `disconnected` and `closed`. */
export type ErrorCode =
  | "invalid_request"
  | "invalid_name"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  | "storage_full"
  | "timeout"
  | "internal"
  | "unavailable"
  | "disconnected"
  | "closed";

/** HTTP status of each contract code (0 for the client's own). */
export const STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  invalid_name: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  storage_full: 507,
  timeout: 504,
  internal: 500,
  unavailable: 503,
  disconnected: 0,
  closed: 0,
};

/** The codes only the client makes: `disconnected` (a call lost its connection), `closed` (the connection or subscriber was closed). */
export const CLIENT_CODES: ReadonlyArray<ErrorCode> = ["disconnected", "closed"];

/** WebSocket close codes of the contract, by name (the same table as the Rust `proto::close::ALL`). */
export const CloseCode = {
  /** Invalid frame sequence (e.g. a second `hello`). */
  sequence: 4000,
  /** Missing or wrong credentials (or no `hello` within 10 s, or credentials revoked or expired). */
  unauthorized: 4001,
  /** No permission for this topic. */
  forbidden: 4003,
  /** The channel or topic was deleted. */
  deleted: 4004,
  /** The consumer was silent for twice its heartbeat interval. */
  heartbeat: 4008,
  /** A frame over the size limit. */
  too_large: 4013,
} as const;
/** A contract close code. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Base class of every error the client throws. */
export class IsmldError extends Error {
  /** Machine-readable code. */
  readonly code: ErrorCode;
  /** HTTP status the contract pairs with the code (0 when not an HTTP answer). */
  readonly status: number;
  /**
   * `publishBatch` on a partitioned topic, whose batches are atomic per partition: when the
   * bus refused only a part, each event's outcome in input order (its `PublishResult`,
   * or the `error` of its refused part). Absent when the whole batch was refused.
   */
  results?: ReadonlyArray<BatchOutcome>;

  constructor(code: ErrorCode, message: string, status?: number) {
    super(message);
    this.name = "IsmldError";
    this.code = code;
    this.status = status ?? STATUS[code] ?? 0;
  }
}

/** Bad input: a bad field, a bad CloudEvent, a bad name (`invalid_request`, `invalid_name`). */
export class InvalidRequestError extends IsmldError {
  override name = "InvalidRequestError";
}
/** Missing or wrong credentials (`unauthorized`). */
export class UnauthorizedError extends IsmldError {
  override name = "UnauthorizedError";
}
/** No permission for this topic or operation (`forbidden`). */
export class ForbiddenError extends IsmldError {
  override name = "ForbiddenError";
}
/** No such topic, channel or in-flight message (`not_found`). */
export class NotFoundError extends IsmldError {
  override name = "NotFoundError";
}
/** An event, batch or checkpoint over its limit (`payload_too_large`), or a full topic (`storage_full`). */
export class LimitError extends IsmldError {
  override name = "LimitError";
}
/** A request got no response in time (`timeout`). */
export class TimeoutError extends IsmldError {
  override name = "TimeoutError";
}
/** The connection was lost before an answer (`disconnected`), or closed (`closed`); the server redelivers. */
export class DisconnectedError extends IsmldError {
  override name = "DisconnectedError";
}

/** Why a message's `signal` aborted: its deadline passed, its connection was lost, or its subscriber or connection was closed. */
/** One event's outcome in a batch of which only a part was refused. */
export type BatchOutcome = PublishResult | { error: IsmldError };

export type AbortReason = "timeout" | "disconnected" | "closed";

const CODES = new Set<string>(Object.keys(STATUS));

/**
 * The contract code an HTTP status stands for: for answers without a contract error body
 * (a proxy, a runtime error page) or with a code this client does not know.
 */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 408:
    case 504:
      return "timeout";
    case 429:
    case 502:
    case 503:
      return "unavailable";
    case 507:
      return "storage_full";
    default:
      return status >= 400 && status < 500 ? "invalid_request" : "internal";
  }
}

/** Makes the right error class for a code from the wire (an unknown code: by `status` when given, else `internal`). */
export function errorFor(code: string, message: string, status?: number): IsmldError {
  const c: ErrorCode = CODES.has(code) ? (code as ErrorCode) : status ? codeForStatus(status) : "internal";
  switch (c) {
    case "invalid_request":
    case "invalid_name":
    case "unsupported_media_type":
    case "conflict":
      return new InvalidRequestError(c, message, status);
    case "unauthorized":
      return new UnauthorizedError(c, message, status);
    case "forbidden":
      return new ForbiddenError(c, message, status);
    case "not_found":
      return new NotFoundError(c, message, status);
    case "payload_too_large":
    case "storage_full":
      return new LimitError(c, message, status);
    case "timeout":
      return new TimeoutError(c, message, status);
    case "disconnected":
    case "closed":
      return new DisconnectedError(c, message, status);
    default:
      return new IsmldError(c, message, status);
  }
}

/** Turns an error thrown by the wasm core (`{"code","message"}` JSON text) into an error. */
export function fromWasm(e: unknown): IsmldError {
  if (typeof e === "string") {
    try {
      const { code, message } = JSON.parse(e) as { code: string; message: string };
      return errorFor(code, message);
    } catch {
      return new IsmldError("internal", e);
    }
  }
  return e instanceof IsmldError ? e : new IsmldError("internal", String(e));
}
