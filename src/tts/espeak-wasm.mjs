/**
 * espeak-ng compiled to WebAssembly (espeak-ng-wasm.cjs/.wasm, built by native/espeak-ng/build.sh
 * from espeak-ng 1.52.0 with briefcast's binding, native/espeak-ng/glue.c).
 *
 * Why not the JavaScript build in @echogarden/espeak-ng-emscripten: that one is wasm2js output, so V8
 * has to compile and warm up ~800 KB of JavaScript before it runs fast. A cold process spent ~0.5 s
 * on its first 13-second sentence and ~0.2 s instantiating it; this build spends ~0.1 s and ~0.08 s,
 * and warm sentences run ~4x faster. The audio and the word events are bit-identical (tests/tts
 * compares the two builds), so clips cached by either are the same.
 *
 * The voice data (~24 MB: dictionaries, phoneme tables, voices) is not compiled in: it is that
 * package's espeak-ng.data, whose file index sits in its espeak-ng.js. The build (bin/build.js)
 * writes it out as files once, beside the compiled tree (dist/espeak-ng-data-<version>/), and the
 * engine reads them through Node's file system (NODEFS): nothing to load at start-up, and no 24 MB
 * copy per worker. Run from the sources (tests, tsx), it serves the package's blob from an in-memory
 * file system instead (MEMFS, without copying it).
 *
 * Plain JavaScript: it runs inside espeak-worker.mjs, which loads no TypeScript (see there why).
 */
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const DATA_ROOT = '/usr/share/espeak-ng-data'
// speak_lib.h: espeakCHARS_UTF8 | espeakSSML. Text is always parsed as SSML (plain text arrives escaped).
const SYNTH_FLAGS = 0x01 | 0x10
// speak_lib.h: espeak_PARAMETER
const RATE = 1
const PITCH = 3

const dataPackageDir = () => path.dirname(require.resolve('@echogarden/espeak-ng-emscripten/package.json'))
const dataPackageVersion = () => JSON.parse(fs.readFileSync(path.join(dataPackageDir(), 'package.json'), 'utf8')).version

/** The data package's files: [{ filename, start, end }] into espeak-ng.data. */
function dataIndex(packageDir) {
  const js = fs.readFileSync(`${packageDir}/espeak-ng.js`, 'utf8')
  const at = js.indexOf('loadPackage({files:')
  const end = at < 0 ? -1 : js.indexOf('remote_package_size:', at)
  if (at < 0 || end < 0) throw new Error(`espeak-ng data: no file index in ${packageDir}/espeak-ng.js (unexpected package version)`)
  // A JavaScript object literal with bare keys and plain values: quote the keys and it is JSON.
  const literal = js.slice(at + 'loadPackage('.length, js.indexOf('})', end) + 1)
  return JSON.parse(literal.replace(/([{,])([A-Za-z_]\w*):/g, '$1"$2":')).files
}

/** Where the build writes the voice data out for a compiled tree in `distDir` (see extractVoiceData). */
export function voiceDataDir(distDir) {
  return path.join(distDir, `espeak-ng-data-${dataPackageVersion()}`)
}

/**
 * Writes the data package's files under dir (dir/<the files of espeak-ng-data>), through a temp
 * directory renamed into place, so a reader never sees half of it. Does nothing if dir exists.
 */
export function extractVoiceData(dir) {
  if (fs.existsSync(dir)) return
  const packageDir = dataPackageDir()
  const blob = fs.readFileSync(path.join(packageDir, 'espeak-ng.data'))
  const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(16).slice(2)}`
  try {
    for (const f of dataIndex(packageDir)) {
      if (!f.filename.startsWith(DATA_ROOT + '/')) continue
      const file = path.join(tmp, f.filename.slice(DATA_ROOT.length + 1))
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, blob.subarray(f.start, f.end))
    }
    try {
      fs.renameSync(tmp, dir)
    } catch (err) {
      // Another process wrote the same files first.
      if (!fs.existsSync(dir)) throw err
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

/**
 * Loads the engine: compiles the module, mounts the voice data and initializes espeak-ng.
 * The returned object speaks one text at a time (synchronously, on the calling thread).
 * `dataDir`: the voice data as files (extractVoiceData); by default the build's, when this module
 * runs from a compiled tree that has it, else the package's blob in memory.
 */
export async function loadEspeak({ dataDir } = {}) {
  if (dataDir === undefined) {
    const built = voiceDataDir(path.dirname(path.dirname(fileURLToPath(import.meta.url))))
    if (fs.existsSync(path.join(built, 'phontab'))) dataDir = built
  }
  const packageDir = dataPackageDir()
  const [wasmBytes, blob] = await Promise.all([
    fs.promises.readFile(new URL('./espeak-ng-wasm.wasm', import.meta.url)),
    dataDir ? undefined : fs.promises.readFile(path.join(packageDir, 'espeak-ng.data')),
  ])
  const wasmModule = await WebAssembly.compile(wasmBytes)
  let onAudio = () => 0
  const createEspeak = require('./espeak-ng-wasm.cjs')
  const mod = await createEspeak({
    onAudio: (wav, samples, events, eventCount) => onAudio(wav, samples, events, eventCount),
    instantiateWasm(imports, receive) {
      receive(new WebAssembly.Instance(wasmModule, imports))
      return {}
    },
    print: () => {},
    printErr: () => {},
  })

  if (dataDir) {
    mod.FS.mkdirTree(DATA_ROOT)
    mod.FS.mount(mod.FS.filesystems.NODEFS, { root: dataDir }, DATA_ROOT)
  } else {
    const made = new Set()
    for (const f of dataIndex(packageDir)) {
      if (!f.filename.startsWith(DATA_ROOT + '/')) continue
      const dir = f.filename.slice(0, f.filename.lastIndexOf('/'))
      if (!made.has(dir)) {
        mod.FS.mkdirTree(dir)
        made.add(dir)
      }
      // canOwn: the file system keeps this view of the blob instead of copying it.
      mod.FS.writeFile(f.filename, blob.subarray(f.start, f.end), { canOwn: true })
    }
  }

  /** Runs fn with s as a NUL-terminated UTF-8 string in the engine's memory. */
  const withString = (s, fn) => {
    const n = mod.lengthBytesUTF8(s) + 1
    const p = mod._malloc(n)
    try {
      mod.stringToUTF8(s, p, n)
      return fn(p)
    } finally {
      mod._free(p)
    }
  }
  const sampleRate = withString(DATA_ROOT.slice(0, -'/espeak-ng-data'.length), (p) => mod._bc_init(p))
  if (sampleRate <= 0) throw new Error(`espeak-ng failed to initialize (error ${sampleRate})`)

  return {
    sampleRate,
    /** 0 when the voice (a voice file name such as "gmw/en-US" or "en-gb+m3") was set. */
    setVoice: (name) => withString(name, (p) => mod._bc_set_voice(p)),
    setRate: (wpm) => mod._bc_set_parameter(RATE, wpm),
    setPitch: (pitch) => mod._bc_set_parameter(PITCH, pitch),
    /**
     * Speaks ssml. onChunk(samples: Int16Array view into the engine's memory (copy it to keep it),
     * events: Int32Array view of (type, text position, length, audio ms) quadruples, 1 = word,
     * 2 = sentence) returns true to stop.
     */
    synthesize(ssml, onChunk) {
      onAudio = (wav, samples, events, eventCount) => {
        const heap = mod.HEAP16.buffer
        return onChunk(new Int16Array(heap, wav, samples), new Int32Array(heap, events, eventCount * 4)) ? 1 : 0
      }
      try {
        return withString(ssml, (p) => mod._bc_synth(p, SYNTH_FLAGS))
      } finally {
        onAudio = () => 0
      }
    },
    /** [{ name, identifier, languages: [{ priority, name }] }], as espeak_ListVoices gives them. */
    listVoices() {
      const voices = []
      const heap8 = () => mod.HEAPU8
      for (let list = mod._bc_list_voices(), i = 0; ; i++) {
        const v = mod.HEAPU32[(list >> 2) + i]
        if (!v) break
        const languages = []
        // espeak_VOICE.languages: (priority byte, NUL-terminated name) pairs, ending with a 0 byte.
        let at = mod._bc_voice_languages(v)
        while (heap8()[at] !== 0) {
          const priority = heap8()[at]
          const name = mod.UTF8ToString(at + 1)
          languages.push({ priority, name })
          at += 1 + name.length + 1
        }
        voices.push({ name: mod.UTF8ToString(mod._bc_voice_name(v)), identifier: mod.UTF8ToString(mod._bc_voice_identifier(v)), languages })
      }
      return voices
    },
    /** The variant files (voices/!v), for validating "+variant" names. */
    listVariants() {
      return mod.FS.readdir(`${DATA_ROOT}/voices/!v`).filter((f) => !f.startsWith('.'))
    },
  }
}
