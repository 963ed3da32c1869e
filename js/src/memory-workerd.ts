/** `ismld/memory` for Cloudflare Workers: the main entry, plus `memory://` (the bus in-process). */

import wasm from "../wasm/ismld_memory_bg.wasm";
import { initSync } from "../wasm/ismld_memory.js";
import { installMemory } from "./memory.js";

initSync({ module: wasm });
installMemory();

export * from "./workerd.js";
