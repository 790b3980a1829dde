/**
 * How the WebAssembly module loads in Node: read from disk beside the package's files.
 * The `ws` package serves as the WebSocket when the runtime has none of its own (Node 20)
 * and it is installed. Browsers load the module with `load.ts`; the package's `#load`
 * import (package.json `imports`) picks one by runtime.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { initSync } from "../wasm/confab_wasm.js";

/**
 * Load the module; resolves with the WebSocket a room uses when its options give none
 * (`undefined`: the runtime's own).
 */
export async function loadWasm(): Promise<unknown> {
  initSync({ module: await readFile(new URL("../wasm/confab_wasm_bg.wasm", import.meta.url)) });
  if (typeof (globalThis as { WebSocket?: unknown }).WebSocket === "function") return undefined;
  // `ws` is an optional peer dependency: its absence is not an error here (Room.open
  // says what to do), and a name in a variable keeps TypeScript from requiring its types.
  const wsModule = "ws";
  return import(/* @vite-ignore */ wsModule).then(
    (m: { default?: unknown; WebSocket?: unknown }) => m.WebSocket ?? m.default,
    () => undefined,
  );
}
