/**
 * The WebAssembly room every part of a `Room` shares, and the one gate every call goes
 * through: after `destroy()` it throws a `DestroyedError`; whatever the module throws
 * becomes a `ConfabError`.
 *
 * @internal
 * @module
 */
import type { Room as WasmRoom } from "../wasm/confab_wasm.js";
import { DestroyedError, guard } from "./errors.js";

export class Handle {
  #wasm: WasmRoom | undefined;

  constructor(wasm: WasmRoom) {
    this.#wasm = wasm;
  }

  /** True until {@link release}. */
  get alive(): boolean {
    return this.#wasm !== undefined;
  }

  /** Call into the module: throws `DestroyedError` once released, `ConfabError` on failure. */
  call<T>(f: (wasm: WasmRoom) => T): T {
    const wasm = this.#wasm;
    if (!wasm) throw new DestroyedError("the room was destroyed: it takes no more calls");
    return guard(() => f(wasm));
  }

  /** Stop taking calls; returns the module's room for its last rites (once). */
  release(): WasmRoom | undefined {
    const wasm = this.#wasm;
    this.#wasm = undefined;
    return wasm;
  }
}
