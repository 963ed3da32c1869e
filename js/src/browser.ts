/** Browser and bundler entry: the wasm core is fetched next to the module on first use. */

import init from "../wasm/ismld.js";
import { setLoader } from "./wasm.js";

setLoader(() => init({ module_or_path: new URL("../wasm/ismld_bg.wasm", import.meta.url) }));

export * from "./index.js";
