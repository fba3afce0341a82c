// The package ships no types. Its JavaScript engine is used only by tests, as the reference that the
// WebAssembly build (espeak-wasm.mjs) must match sample for sample; its voice data is used by both.
declare module '@echogarden/espeak-ng-emscripten' {
  const createModule: () => Promise<unknown>
  export default createModule
}
