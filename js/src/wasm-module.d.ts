/** A `.wasm` import, as Workers bundlers (wrangler, esbuild) provide it. */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
