// Emscripten JS library (emcc --js-library): the one import of glue.c, bc_on_audio, calls the
// onAudio function that espeak-wasm.mjs passes to the module factory.
/* global mergeInto, LibraryManager, Module */
mergeInto(LibraryManager.library, {
  bc_on_audio: function (wav, samples, events, eventCount) {
    return Module.onAudio(wav, samples, events, eventCount)
  },
})
