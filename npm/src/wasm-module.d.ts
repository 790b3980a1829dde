/** A `.wasm` file imported as a module: what Workers bundlers give (a compiled module). */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
