/**
 * Node entry (also Deno and Bun): the wasm core is read from the package and instantiated
 * at import. Node 20 has no WebSocket of its own: the `ws` package is used when installed
 * (an optional dependency of this package), unless `WebSocket` is passed in the options.
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { readFileSync } from "node:fs";
import { initSync } from "../wasm/ismld.js";
import { setHandlerContext } from "./context.js";
import { setFallbackWebSocket } from "./transport.js";
import type { WebSocketConstructor } from "./types.js";
import { markLoaded } from "./wasm.js";

initSync({ module: readFileSync(new URL("../wasm/ismld_bg.wasm", import.meta.url)) });
markLoaded();
// A handler may await its own subscriber's stop() (context.ts).
setHandlerContext(new AsyncLocalStorage<object>());

if (typeof globalThis.WebSocket !== "function") {
  const name = "ws"; // not a static import: the package is optional
  try {
    const ws = (await import(name)) as { WebSocket?: WebSocketConstructor; default?: WebSocketConstructor };
    setFallbackWebSocket(ws.WebSocket ?? ws.default);
  } catch {
    /* no ws: sockets need the WebSocket option; HTTP works without */
  }
}

export * from "./index.js";
