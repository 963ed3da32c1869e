/**
 * `for await (const msg of bus.consume({ topic, channel }))`: a subscriber whose handler
 * hands each message to the loop and waits until the loop asks for the next one. The
 * message is then finished unless the body settled it (as a handler that returns). A
 * `break`, a `return`, a throw in the body or the signal stops the subscriber: the message
 * the body held (unless it settled it) and those the loop had not taken go back to the bus
 * when the socket closes, without counting a failure.
 */

import type { IsmldError } from "./errors.js";
import type { Message } from "./message.js";
import type { Handler, Subscriber } from "./subscriber.js";

type Waiting<T, S> = { msg: Message<T, S>; done: () => void };

/** @internal */
export function consume<T, S>(
  make: (handler: Handler<T, S>) => Subscriber<T, S>,
  signal: AbortSignal | undefined,
): AsyncIterableIterator<Message<T, S>> {
  const queue: Waiting<T, S>[] = [];
  let wake: (() => void) | undefined;
  let current: Waiting<T, S> | undefined;
  let failure: IsmldError | undefined;
  let ended = false;
  let starting: Promise<void> | undefined;

  const sub = make(
    (msg) =>
      new Promise<void>((done) => {
        queue.push({ msg, done });
        wake?.();
      }),
  );

  const end = async (): Promise<IteratorResult<Message<T, S>>> => {
    if (!ended) {
      ended = true;
      // `break` on a message the body did not settle gives it back (it did not move on).
      current?.msg.abandon();
      current?.done();
      current = undefined;
      // Messages the loop never took go back to the bus with the socket (not a failure).
      for (const w of queue.splice(0)) {
        w.msg.abandon();
        w.done();
      }
      wake?.();
      await sub.stop();
    }
    return { done: true, value: undefined };
  };

  const onAbort = () => void end();
  signal?.addEventListener("abort", onAbort, { once: true });

  const it: AsyncIterableIterator<Message<T, S>> = {
    async next(): Promise<IteratorResult<Message<T, S>>> {
      // The body moved on: the last message is finished unless it was settled.
      current?.done();
      current = undefined;
      if (ended || signal?.aborted) return end();
      if (!starting) {
        starting = sub.start();
        // A final error later (credentials revoked, channel deleted) ends the loop with it.
        sub.whenStopped((e) => {
          if (e) failure = e;
          wake?.();
        });
      }
      await starting;
      while (queue.length === 0) {
        if (failure) throw failure;
        if (ended) return { done: true, value: undefined };
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      current = queue.shift()!;
      return { done: false, value: current.msg };
    },
    async return(): Promise<IteratorResult<Message<T, S>>> {
      signal?.removeEventListener("abort", onAbort);
      return end();
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}
