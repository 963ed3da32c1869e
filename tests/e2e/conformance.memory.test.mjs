// The conformance rules (conformance/rules.mjs) against the in-process memory:// bus.
import { rules } from "./conformance/rules.mjs";
import { memoryDriver } from "./conformance/drivers.mjs";
import "../../js/dist/memory-node.js"; // loads the memory wasm (memory:// is its own entry)
import { memoryHub } from "../../js/dist/memory.js";

rules(memoryDriver(memoryHub(`memory://conformance-${process.pid}`)));
