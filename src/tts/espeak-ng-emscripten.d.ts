// The package ships no types; the worker describes the part it uses (see espeak-worker.mjs).
declare module '@echogarden/espeak-ng-emscripten' {
  const createModule: () => Promise<unknown>
  export default createModule
}
