/**
 * A tiny model with the inputs, outputs and metadata of a Piper (VITS) model as sherpa-onnx
 * publishes them, so the real sherpa-onnx runtime can load and run it in tests: inputs `input`
 * (int64 [1, N] token ids), `input_lengths` (int64 [1]), `scales` (float [3]: noise, length,
 * noise_w) and, with several speakers, `sid` (int64 [1]); output `output` (float [1, 1, T]).
 *
 * The output is a known signal: a sine of FREQUENCY_HZ, SAMPLES_PER_TOKEN * length_scale samples
 * per token (sherpa-onnx sends length_scale = 1 / speed), with amplitude 0.3 + 0.1 * sid. So a test
 * can tell from a clip how many tokens the model got, at what speed, and for which speaker.
 *
 * The directory also gets tokens.txt (IPA symbols, as espeak-ng phonemizes) and the espeak-ng voice
 * data for English, copied from the espeak-ng package the project already uses.
 */
import { createHash } from 'node:crypto'
import { promises as fsp } from 'node:fs'
import os from 'node:os'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import onnxProto from 'onnx-proto'

const require = createRequire(import.meta.url)

// CommonJS: node's ESM loader sees no named exports in it.
const { onnx } = onnxProto

export const SAMPLES_PER_TOKEN = 256
export const FREQUENCY_HZ = 440

export interface TinyPiperOptions {
  sampleRate?: number
  speakers?: number
  /** espeak-ng voice the model is phonemized with (metadata `voice`). */
  voice?: string
  language?: string
}

const FLOAT = onnx.TensorProto.DataType.FLOAT
const INT64 = onnx.TensorProto.DataType.INT64

function scalarFloat(name: string, value: number) {
  return { name, dataType: FLOAT, dims: [], floatData: [value] }
}

function node(opType: string, input: string[], output: string[], attribute: object[] = []) {
  return { opType, input, output, name: output[0], attribute }
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  }
}

/** The ONNX model bytes. */
export function tinyPiperOnnx(options: TinyPiperOptions = {}): Uint8Array {
  const sampleRate = options.sampleRate ?? 16000
  const speakers = options.speakers ?? 1
  const nodes = [
    node('Shape', ['input'], ['in_shape']),
    node('Gather', ['in_shape', 'one_i'], ['n_tokens'], [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }]),
    node('Cast', ['n_tokens'], ['n_tokens_f'], [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }]),
    node('Gather', ['scales', 'one_i'], ['length_scale'], [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }]),
    node('Mul', ['n_tokens_f', 'hop'], ['samples_1x']),
    node('Mul', ['samples_1x', 'length_scale'], ['samples_f']),
    node('Floor', ['samples_f'], ['samples']),
    node('Range', ['zero_f', 'samples', 'one_f'], ['t']),
    node('Mul', ['t', 'omega'], ['phase']),
    node('Sin', ['phase'], ['sine']),
  ]
  const inputs = [valueInfo('input', INT64, [1, 'N']), valueInfo('input_lengths', INT64, [1]), valueInfo('scales', FLOAT, [3])]
  if (speakers > 1) {
    inputs.push(valueInfo('sid', INT64, [1]))
    nodes.push(
      node('Cast', ['sid'], ['sid_f'], [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }]),
      node('Mul', ['sid_f', 'amp_step'], ['amp_extra']),
      node('Add', ['amp_extra', 'amp_base'], ['amp']),
    )
  } else {
    nodes.push(node('Identity', ['amp_base'], ['amp']))
  }
  nodes.push(node('Mul', ['sine', 'amp'], ['wave']), node('Reshape', ['wave', 'out_shape'], ['output']))
  const model = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'briefcast tests',
    graph: {
      name: 'tiny-piper',
      node: nodes,
      initializer: [
        { name: 'one_i', dataType: INT64, dims: [], int64Data: [1] },
        scalarFloat('hop', SAMPLES_PER_TOKEN),
        scalarFloat('zero_f', 0),
        scalarFloat('one_f', 1),
        scalarFloat('omega', (2 * Math.PI * FREQUENCY_HZ) / sampleRate),
        scalarFloat('amp_base', 0.3),
        scalarFloat('amp_step', 0.1),
        { name: 'out_shape', dataType: INT64, dims: [3], int64Data: [1, 1, -1] },
      ],
      input: inputs,
      output: [valueInfo('output', FLOAT, [1, 1, 'T'])],
    },
    metadataProps: Object.entries({
      model_type: 'vits',
      comment: 'piper',
      language: options.language ?? 'English',
      voice: options.voice ?? 'en-us',
      has_espeak: '1',
      n_speakers: String(speakers),
      sample_rate: String(sampleRate),
    }).map(([key, value]) => ({ key, value })),
  }
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish()
}

/** Piper's symbol table order: pad, bos, eos, space, punctuation, then IPA letters and marks. */
const SYMBOLS = [
  '_', '^', '$', ' ', '!', "'", '(', ')', ',', '-', '.', ':', ';', '?',
  ...'abcdefghijklmnopqrstuvwxyz',
  ...'æçðøħŋœǀǁǂǃɐɑɒɓɔɕɖɗɘəɚɛɜɞɟɠɡɢɣɤɥɦɧɨɪɫɬɭɮɯɰɱɲɳɴɵɶɸɹɺɻɽɾʀʁʂʃʄʈʉʊʋʌʍʎʏʐʑʒʔʕʘʙʛʜʝʟʡʢʲˈˌːˑ˞βθχᵻⱱ',
  '\u0303', '\u0329', '\u032a', '\u032f', '\u0306', '\u0361',
]

export function tinyPiperTokens(): string {
  return `${SYMBOLS.map((s, i) => `${s} ${i}`).join('\n')}\n`
}

/** The espeak-ng voice data files the model needs for English (a subset of the project's package). */
async function copyEnglishEspeakData(dest: string): Promise<void> {
  const { voiceDataDir, extractVoiceData } = (await import('../../src/tts/espeak-wasm.mjs')) as {
    voiceDataDir(dist: string): string
    extractVoiceData(dir: string): void
  }
  const source = voiceDataDir(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist'))
  extractVoiceData(source)
  const files = ['phontab', 'phonindex', 'phondata', 'intonations', 'en_dict', 'lang/gmw/en', 'lang/gmw/en-US', 'voices/!v']
  await fsp.mkdir(dest, { recursive: true })
  for (const f of files) {
    const from = path.join(source, f)
    const to = path.join(dest, f)
    await fsp.mkdir(path.dirname(to), { recursive: true })
    await fsp.cp(from, to, { recursive: true })
  }
}

/**
 * Writes a model directory as sherpa-onnx's Piper archives lay it out:
 * <dir>/<name>.onnx, <dir>/tokens.txt, <dir>/espeak-ng-data/.
 */
export async function writeTinyPiperModel(dir: string, name: string, options: TinyPiperOptions = {}): Promise<void> {
  await fsp.mkdir(dir, { recursive: true })
  await fsp.writeFile(path.join(dir, `${name}.onnx`), tinyPiperOnnx(options))
  await fsp.writeFile(path.join(dir, 'tokens.txt'), tinyPiperTokens())
  await copyEnglishEspeakData(path.join(dir, 'espeak-ng-data'))
}

/**
 * Packs a model directory as sherpa-onnx publishes it: <name>.tar.bz2 holding <name>/...
 * (tar from the tar package, bzip2 from compressjs, both pure JavaScript).
 */
export async function packModelArchive(parentDir: string, name: string, out: string): Promise<void> {
  const tar = await import('tar')
  const chunks: Buffer[] = []
  const stream = tar.c({ cwd: parentDir, portable: true }, [name])
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk))
  const { Bzip2 } = require('compressjs') as { Bzip2: { compressFile(input: Uint8Array): Uint8Array | number[] } }
  await fsp.writeFile(out, Buffer.from(Bzip2.compressFile(Buffer.concat(chunks))))
}

/**
 * A tiny Piper model archive, <name>.tar.bz2. compressjs needs ~20 s of CPU for the ~1 MB of
 * espeak-ng data in it, so the archive is made once and kept in the temp directory under a key of
 * this file and the options; tests copy it.
 */
export async function tinyPiperArchive(dir: string, name = 'vits-piper-en_US-tiny-low', options: TinyPiperOptions = {}): Promise<string> {
  const source = await fsp.readFile(fileURLToPath(import.meta.url))
  const key = createHash('sha256').update(source).update(JSON.stringify({ name, options })).digest('hex').slice(0, 16)
  const cached = path.join(os.tmpdir(), 'briefcast-tiny-models', `${key}.tar.bz2`)
  const out = path.join(dir, `${name}.tar.bz2`)
  await fsp.mkdir(dir, { recursive: true })
  try {
    await fsp.copyFile(cached, out)
    return out
  } catch {}
  const srcDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'briefcast-tiny-model-'))
  try {
    await writeTinyPiperModel(path.join(srcDir, name), name.replace(/^vits-piper-/, ''), options)
    await packModelArchive(srcDir, name, out)
  } finally {
    await fsp.rm(srcDir, { recursive: true, force: true })
  }
  await fsp.mkdir(path.dirname(cached), { recursive: true })
  const tmp = `${cached}.${process.pid}.tmp`
  await fsp.copyFile(out, tmp)
  await fsp.rename(tmp, cached)
  return out
}
