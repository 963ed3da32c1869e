/** The client's logger: any object with these four methods (`console` works). */

/** Where the client says what it does; `fields` carry names, codes and counts, never credentials or data. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const nothing = () => {};

/** The default: says nothing. */
export const silent: Logger = { debug: nothing, info: nothing, warn: nothing, error: nothing };

/** A logger whose own failures never reach the client. */
export function safe(l: Logger | undefined): Logger {
  if (!l) return silent;
  const wrap = (f: Logger["info"] | undefined): Logger["info"] => (m, fields) => {
    try {
      f?.call(l, m, fields);
    } catch {
      /* a logger's failure is its own */
    }
  };
  return { debug: wrap(l.debug), info: wrap(l.info), warn: wrap(l.warn), error: wrap(l.error) };
}
