/**
 * Errors of the ismld client. Every error the bus reports carries one of the wire
 * contract's codes (PROTOCOL.md section 3); the client adds `disconnected` for calls that
 * lost their connection before an answer.
 */

/** The contract's error codes, plus the client's own `disconnected`. */
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
  | "disconnected";

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
};

/** Base class of every error the client throws. */
export class IsmldError extends Error {
  /** Machine-readable code. */
  readonly code: ErrorCode;
  /** HTTP status the contract pairs with the code (0 when not an HTTP answer). */
  readonly status: number;

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
/** The connection was lost before an answer (`disconnected`); the server redelivers. */
export class DisconnectedError extends IsmldError {
  override name = "DisconnectedError";
}

const CODES = new Set<string>(Object.keys(STATUS));

/** Makes the right error class for a code from the wire. */
export function errorFor(code: string, message: string, status?: number): IsmldError {
  const c: ErrorCode = CODES.has(code) ? (code as ErrorCode) : "internal";
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
