/**
 * How the WebAssembly module loads in a browser (and any runtime but Node): fetched from
 * beside the package's files. Node loads it with `load.node.ts` instead; the package's
 * `#load` import (package.json `imports`) picks one by runtime, so a bundler building for
 * the browser never sees Node's modules or an optional import of `ws`.
 *
 * @module
 */
import initWasm from "../wasm/confab_wasm.js";

/**
 * Load the module; resolves with the WebSocket a room uses when its options give none
 * (`undefined`: the runtime's own).
 */
export async function loadWasm(): Promise<unknown> {
  // A literal `new URL(…, import.meta.url)`: bundlers (Vite, webpack, Rollup) see the
  // file here and serve or copy it with the app.
  await initWasm({ module_or_path: new URL("../wasm/confab_wasm_bg.wasm", import.meta.url) });
  return undefined;
}
