/** Node entry: the wasm core is read from the package and instantiated at import. */

import { readFileSync } from "node:fs";
import { initSync } from "../wasm/ismld.js";
import { markLoaded } from "./wasm.js";

initSync({ module: readFileSync(new URL("../wasm/ismld_bg.wasm", import.meta.url)) });
markLoaded();

export * from "./index.js";
