/** `ismld/memory` for browsers and bundlers: the main entry, plus `memory://` (the bus in-process). */

import init from "../wasm/ismld_memory.js";
import { installMemory } from "./memory.js";

await init({ module_or_path: new URL("../wasm/ismld_memory_bg.wasm", import.meta.url) });
installMemory();

export * from "./browser.js";
