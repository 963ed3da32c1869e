/**
 * Cloudflare Workers entry (export condition `workerd`, as wrangler bundles): the wasm
 * core is imported as a module (Workers cannot fetch or compile wasm at run time).
 */

import wasm from "../wasm/ismld_bg.wasm";
import { initSync } from "../wasm/ismld.js";
import { markLoaded } from "./wasm.js";

initSync({ module: wasm });
markLoaded();

export * from "./index.js";
