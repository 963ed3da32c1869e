/**
 * Which handler run the current code belongs to, where the runtime can tell: Node's
 * `AsyncLocalStorage` (set by the Node entry; Deno and Bun have it too). So a handler may
 * await its own subscriber's `stop()`, which then waits for the other handlers only.
 * Elsewhere (browsers, Workers without `nodejs_compat`) nothing is known and `stop()`
 * waits for every running handler.
 */

/** The part of `AsyncLocalStorage` used here. */
export interface HandlerContext {
  run<R>(store: object, fn: () => R): R;
  getStore(): object | undefined;
}

let context: HandlerContext | undefined;

/** @internal Set by an entry whose runtime has `AsyncLocalStorage`. */
export function setHandlerContext(c: HandlerContext | undefined): void {
  context = c;
}

/** Runs `fn` (a handler run) marked as `run`. */
export function runAs<R>(run: object, fn: () => R): R {
  return context ? context.run(run, fn) : fn();
}

/** The run the calling code belongs to, if the runtime can tell. */
export function currentRun(): object | undefined {
  return context?.getStore();
}
