/** `ismld/memory` for Node, Deno and Bun: the main entry, plus `memory://` (the bus in-process). */

import { readFileSync } from "node:fs";
import { initSync } from "../wasm/ismld_memory.js";
import { installMemory } from "./memory.js";

initSync({ module: readFileSync(new URL("../wasm/ismld_memory_bg.wasm", import.meta.url)) });
installMemory();

export * from "./node.js";
