/**
 * How the WebAssembly module loads in Cloudflare Workers (workerd): imported as a module,
 * which the Workers runtime compiles when the Worker is deployed (Workers may not compile
 * WebAssembly from bytes at run time). The package's `#load` import picks this file under
 * the `workerd` condition, which wrangler sets. The runtime has its own WebSocket.
 *
 * @module
 */
import wasmModule from "../wasm/confab_wasm_bg.wasm";
import { initSync } from "../wasm/confab_wasm.js";

/** Load the module; the runtime's own WebSocket serves (`undefined`). */
export async function loadWasm(): Promise<unknown> {
  initSync({ module: wasmModule });
  return undefined;
}
