/**
 * Loading the wasm core once. The Node entry instantiates it synchronously from the
 * package's own file; the browser entry registers an async loader (the wasm is fetched
 * next to the module, which bundlers understand).
 */

let loader: (() => Promise<unknown>) | undefined;
let loading: Promise<void> | undefined;
let loaded = false;

/** Called by an entry point: how to load the wasm. */
export function setLoader(load: () => Promise<unknown>): void {
  loader = load;
}

/** Called by an entry point that loaded the wasm synchronously. */
export function markLoaded(): void {
  loaded = true;
}

/** Resolves once the wasm core can be called. */
export function ready(): Promise<void> {
  if (loaded) return Promise.resolve();
  if (!loading) {
    const load = loader;
    if (!load) return Promise.reject(new Error("ismld: import the package entry (\"ismld\"), not its internals"));
    loading = load().then(() => {
      loaded = true;
    });
  }
  return loading;
}
