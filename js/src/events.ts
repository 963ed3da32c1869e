/** The connection's typed event map and its listeners. */

import type { ConnectionEvents } from "./types.js";

/** A listener of one event type. */
export type Listener<K extends keyof ConnectionEvents> = (event: ConnectionEvents[K]) => void;

/** Listeners by event type; a listener's failure is its own. */
export class Emitter {
  private readonly listeners: { [K in keyof ConnectionEvents]: Set<Listener<K>> } = {
    connecting: new Set(),
    connected: new Set(),
    disconnected: new Set(),
    error: new Set(),
  };

  on<K extends keyof ConnectionEvents>(type: K, listener: Listener<K>): () => void {
    (this.listeners[type] as Set<Listener<K>>).add(listener);
    return () => this.off(type, listener);
  }

  off<K extends keyof ConnectionEvents>(type: K, listener: Listener<K>): void {
    (this.listeners[type] as Set<Listener<K>>).delete(listener);
  }

  emit<K extends keyof ConnectionEvents>(type: K, event: ConnectionEvents[K]): void {
    for (const l of this.listeners[type] as Set<Listener<K>>) {
      try {
        l(event);
      } catch {
        /* a listener's failure is its own */
      }
    }
  }
}
